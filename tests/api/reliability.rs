//! What a client sees when the database fails underneath the running service.

use std::time::Duration;

use serde_json::{Value, json};
use sqlx::Connection;

use crate::helpers::{
    TestApp, admin_options, assert_problem, reference_profile, spawn_app, spawn_app_with, test_settings,
};

/// Words that would betray SQL or driver text in a response.
const DRIVER_WORDS: [&str; 8] =
    ["relation", "sqlx", "SQLSTATE", "syntax", "column", "postgres", "database error", "pool"];

fn assert_no_driver_text(problem: &Value) {
    let text = problem.to_string();
    for word in DRIVER_WORDS {
        assert!(!text.to_lowercase().contains(&word.to_lowercase()), "{word:?} in {problem}");
    }
}

async fn connect(app: &TestApp) -> sqlx::PgConnection {
    sqlx::PgConnection::connect_with(&admin_options().database(&app.database_name)).await.unwrap()
}

#[tokio::test]
async fn a_broken_schema_is_a_500_problem_without_sql_or_driver_text() {
    let app = spawn_app().await;
    let stored = app.submit(&reference_profile("disc_early_academic")).await;
    let mut connection = connect(&app).await;
    sqlx::query("DROP TABLE assessments CASCADE").execute(&mut connection).await.unwrap();
    sqlx::query("DROP TABLE programs CASCADE").execute(&mut connection).await.unwrap();

    let body = json!({"profile": reference_profile("disc_early_academic")});
    let responses = [
        app.post_json("/v1/assessments", &body).await,
        app.get("/v1/assessments").await,
        app.get(&format!("/v1/assessments/{}", stored["id"].as_str().unwrap())).await,
        app.get("/v1/programs").await,
        app.post_json("/v1/programs", &json!({"key": "K", "name": "N"})).await,
    ];

    for response in responses {
        let problem = assert_problem(response, 500).await;
        assert_eq!(problem["detail"], "internal error");
        assert_no_driver_text(&problem);
    }
}

#[tokio::test]
async fn a_vanished_database_is_a_503_problem_with_retry_after_and_no_driver_text() {
    let app = spawn_app().await;
    app.submit(&reference_profile("disc_early_academic")).await;
    let mut admin = sqlx::PgConnection::connect_with(&admin_options()).await.unwrap();
    let drop = format!("DROP DATABASE \"{}\" WITH (FORCE)", app.database_name);
    sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&mut admin).await.unwrap();

    let body = json!({"profile": reference_profile("disc_early_academic")});
    for response in [app.post_json("/v1/assessments", &body).await, app.get("/v1/assessments").await] {
        assert_eq!(response.headers().get("retry-after").map(|v| v.to_str().unwrap()), Some("1"));
        let problem = assert_problem(response, 503).await;
        assert_no_driver_text(&problem);
    }
}

#[tokio::test]
async fn a_request_past_its_deadline_is_a_504_and_its_work_is_abandoned() {
    let mut settings = test_settings();
    settings.request_timeout = Duration::from_millis(300);
    let app = spawn_app_with(settings).await;
    // Stand-in for a hung database: the statements of the request wait on a lock held here.
    let mut locker = connect(&app).await;
    let mut transaction = locker.begin().await.unwrap();
    sqlx::query("LOCK TABLE assessments IN ACCESS EXCLUSIVE MODE").execute(&mut *transaction).await.unwrap();

    let body = json!({"profile": reference_profile("disc_early_academic")});
    let response = app.post_json("/v1/assessments", &body).await;
    assert_eq!(response.headers().get("retry-after").map(|v| v.to_str().unwrap()), Some("1"));
    let problem = assert_problem(response, 504).await;
    assert_eq!(problem["type"], "/problems/deadline-exceeded");
    assert_problem(app.get("/v1/assessments").await, 504).await;

    transaction.rollback().await.unwrap();
    // The abandoned connection was closed, not returned to the pool: its half-done transaction
    // never commits, and the service goes on answering.
    assert_eq!(app.post_json("/v1/assessments", &body).await.status(), 201);
    let page: Value = app.get("/v1/assessments").await.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "only the retry was stored");
}

#[tokio::test]
async fn the_service_connections_carry_server_side_statement_and_idle_transaction_timeouts() {
    let (_, database) = crate::helpers::fresh_database().await;
    let settings = test_settings();
    let pool = msc_readiness::persistence::pool(
        database,
        msc_readiness::persistence::PoolSettings {
            max_connections: 1,
            acquire_timeout: settings.database_acquire_timeout,
        },
    );

    let statement: String = sqlx::query_scalar("SHOW statement_timeout").fetch_one(&pool).await.unwrap();
    let idle: String =
        sqlx::query_scalar("SHOW idle_in_transaction_session_timeout").fetch_one(&pool).await.unwrap();

    assert_eq!((statement.as_str(), idle.as_str()), ("5s", "10s"));
}
