use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn an_unknown_route_is_a_404_problem_document() {
    let app = spawn_app().await;

    let problem = assert_problem(app.get("/v1/no-such-thing").await, 404).await;

    assert!(problem["detail"].as_str().unwrap().contains("/v1/no-such-thing"));
}
