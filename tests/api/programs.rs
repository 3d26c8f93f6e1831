use serde_json::{Value, json};

use crate::helpers::{assert_problem, reference_profile, spawn_app};

#[tokio::test]
async fn a_program_collects_its_assessments_with_the_change_of_each_score() {
    let app = spawn_app().await;
    let response = app.post_json("/v1/programs", &json!({"key": "DISC-101", "name": "Disc program"})).await;
    assert_eq!(response.status(), 201);
    let program: Value = response.json().await.unwrap();
    let program_id = program["id"].as_str().unwrap();

    for name in ["disc_early_academic", "disc_mature_allogeneic"] {
        let body = json!({"program_id": program_id, "profile": reference_profile(name)});
        assert_eq!(app.post_json("/v1/assessments", &body).await.status(), 201);
    }
    app.submit(&reference_profile("gvhd_approved_pediatric")).await;

    let history: Value =
        app.get(&format!("/v1/programs/{program_id}/assessments")).await.json().await.unwrap();
    let items = history["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "only this program's assessments");
    assert!(items[0]["change"].is_null(), "the first has nothing to change from");
    let change = items[1]["change"]["overall_index"].as_f64().unwrap();
    let expected = items[1]["overall_index"].as_f64().unwrap() - items[0]["overall_index"].as_f64().unwrap();
    assert!((change - expected).abs() < 1e-9);
    assert!(change > 0.0, "the mature program is more ready");

    let read: Value = app.get(&format!("/v1/programs/{program_id}")).await.json().await.unwrap();
    assert_eq!(read["assessment_count"], 2);
    let list: Value = app.get("/v1/programs").await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn program_errors_are_problem_documents() {
    let app = spawn_app().await;
    let body = json!({"key": "P-1", "name": "One"});
    assert_eq!(app.post_json("/v1/programs", &body).await.status(), 201);

    assert_problem(app.post_json("/v1/programs", &body).await, 409).await;
    let problem =
        assert_problem(app.post_json("/v1/programs", &json!({"key": "has space", "name": "x"})).await, 422)
            .await;
    assert_eq!(problem["errors"][0]["field"], "key");
    assert_problem(app.get("/v1/programs/01890000-0000-7000-8000-000000000000").await, 404).await;
    let unknown_program = json!({"program_id": "01890000-0000-7000-8000-000000000000", "profile": {}});
    let problem = assert_problem(app.post_json("/v1/assessments", &unknown_program).await, 404).await;
    assert!(problem["detail"].as_str().unwrap().starts_with("program_id: no program"), "{problem}");
}
