use serde_json::{Value, json};

use crate::helpers::{assert_problem, reference_profile, spawn_app};

const BARRIERS: [&str; 7] =
    ["Survival", "Retention", "Variability", "Scalability", "Safety", "Outcomes", "Regulatory"];
const UNKNOWN_ID: &str = "01890000-0000-7000-8000-000000000000";

/// Asserts a 200 SVG response that parses as XML, has a title and a description, and names
/// every barrier in its text; returns the document text.
async fn assert_svg(response: reqwest::Response) -> String {
    assert_eq!(response.status(), 200, "status of {}", response.url());
    let content_type = response.headers().get("content-type").and_then(|value| value.to_str().ok());
    assert_eq!(content_type, Some("image/svg+xml"));
    let svg = response.text().await.expect("body");
    let document = roxmltree::Document::parse(&svg).unwrap_or_else(|error| panic!("{error} in {svg}"));
    let root = document.root_element();
    assert_eq!((root.tag_name().name(), root.attribute("role")), ("svg", Some("img")));
    for element in ["title", "desc"] {
        assert!(
            root.children()
                .any(|node| node.has_tag_name(element) && node.text().is_some_and(|t| !t.is_empty()))
        );
    }
    let texts: Vec<&str> =
        document.descendants().filter_map(|node| node.is_text().then(|| node.text()).flatten()).collect();
    for barrier in BARRIERS {
        assert!(texts.contains(&barrier), "no label {barrier}");
    }
    svg
}

#[tokio::test]
async fn an_assessment_radar_is_an_svg_with_the_seven_barriers() {
    let app = spawn_app().await;
    let record = app.submit(&reference_profile("disc_mature_allogeneic")).await;
    let id = record["id"].as_str().unwrap();

    let svg = assert_svg(app.get(&format!("/v1/assessments/{id}/chart.svg")).await).await;

    let survival = &record["result"]["barriers"][0];
    assert_eq!(survival["barrier"], "survival");
    let expected = format!("Survival {:.1}", survival["score"].as_f64().unwrap());
    assert!(svg.contains(&expected), "the description gives the scores in words: {expected}");
}

#[tokio::test]
async fn a_program_trend_is_an_svg_with_the_seven_barriers_and_the_overall_index() {
    let app = spawn_app().await;
    let program: Value = app
        .post_json("/v1/programs", &json!({"key": "DISC-7", "name": "Disc <program> & co"}))
        .await
        .json()
        .await
        .unwrap();
    let program_id = program["id"].as_str().unwrap();

    let empty = assert_svg(app.get(&format!("/v1/programs/{program_id}/trend.svg")).await).await;
    assert!(empty.contains("No assessments yet"));

    for name in ["disc_early_academic", "disc_mature_allogeneic"] {
        let body = json!({"program_id": program_id, "profile": reference_profile(name)});
        assert_eq!(app.post_json("/v1/assessments", &body).await.status(), 201);
    }
    let svg = assert_svg(app.get(&format!("/v1/programs/{program_id}/trend.svg")).await).await;
    assert!(svg.contains("Overall readiness index"));
    assert!(svg.contains("Disc &lt;program&gt; &amp; co"), "the program name is escaped");
    assert!(svg.contains("2 assessments from"));
}

#[tokio::test]
async fn charts_of_unknown_ids_are_404_problems() {
    let app = spawn_app().await;
    assert_problem(app.get(&format!("/v1/assessments/{UNKNOWN_ID}/chart.svg")).await, 404).await;
    assert_problem(app.get(&format!("/v1/programs/{UNKNOWN_ID}/trend.svg")).await, 404).await;
    assert_problem(app.get("/v1/assessments/not-a-uuid/chart.svg").await, 404).await;
}
