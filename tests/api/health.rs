use sqlx::Connection;

use crate::helpers::{assert_problem, spawn_app, spawn_app_with};

#[tokio::test]
async fn healthz_answers_without_the_database_and_returns_a_request_id() {
    let app = spawn_app().await;

    let response = app.get("/healthz").await;

    assert_eq!(response.status(), 200);
    let request_id = response.headers().get("x-request-id").expect("x-request-id header");
    assert!(!request_id.is_empty());
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "alive");
}

#[tokio::test]
async fn a_caller_supplied_request_id_is_echoed() {
    let app = spawn_app().await;

    let response =
        app.client.get(app.url("/healthz")).header("x-request-id", "trace-42").send().await.unwrap();

    assert_eq!(response.headers()["x-request-id"], "trace-42");
}

#[tokio::test]
async fn readyz_is_200_while_the_database_answers_and_503_when_it_is_gone() {
    let app = spawn_app().await;
    assert_eq!(app.get("/readyz").await.status(), 200);

    // Take the service's database away underneath it.
    let mut admin = sqlx::PgConnection::connect_with(&crate::helpers::admin_options()).await.unwrap();
    let drop = format!("DROP DATABASE \"{}\" WITH (FORCE)", app.database_name);
    sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&mut admin).await.unwrap();

    let response = app.get("/readyz").await;
    assert_eq!(response.headers().get("retry-after").map(|v| v.to_str().unwrap()), Some("1"));
    let problem = assert_problem(response, 503).await;
    assert!(!problem["detail"].as_str().unwrap().contains("does not exist"), "no driver text: {problem}");
}

const METRICS_TOKEN: &str = "operators-only-metrics-token";

#[tokio::test]
async fn metrics_report_requests_by_route_and_the_database_pool() {
    let settings = msc_readiness::configuration::Settings::from_lookup(|name| match name {
        "PORT" => Some("0".to_owned()),
        "METRICS_TOKEN" => Some(METRICS_TOKEN.to_owned()),
        _ => None,
    })
    .unwrap();
    let app = spawn_app_with(settings).await;
    app.get("/healthz").await;
    app.get("/no-such-page").await;
    let without_token = app.anonymous.get(app.url("/metrics")).send().await.unwrap();
    assert_problem(without_token, 401).await;
    let with_an_api_key = app.get("/metrics").await;
    assert_problem(with_an_api_key, 401).await;

    let response = app.anonymous.get(app.url("/metrics")).bearer_auth(METRICS_TOKEN).send().await.unwrap();

    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();

    assert!(body.contains(r#"endpoint="/healthz",method="GET",status="200""#), "{body}");
    assert!(body.contains(r#"endpoint="(unmatched)",method="GET",status="404""#), "{body}");
    assert!(body.contains("msc_readiness_http_requests_duration_seconds_bucket"), "{body}");
    assert!(body.contains("db_pool_connections_idle"), "{body}");
    assert!(body.contains("db_pool_connections_in_use"), "{body}");
}

#[tokio::test]
async fn metrics_are_off_without_a_metrics_token() {
    let app = spawn_app().await;

    let problem = assert_problem(app.get("/metrics").await, 401).await;
    assert!(problem["detail"].as_str().unwrap().contains("METRICS_TOKEN"), "{problem}");
}
