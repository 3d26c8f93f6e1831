//! Issue 19: several instances of the service on one database. A client alternates between two
//! instances; what holds state across requests must hold across instances too.

use std::num::NonZeroU32;
use std::time::Duration;

use msc_readiness::configuration::{RateLimit, RateLimitStore, Settings};
use serde_json::{Value, json};

use crate::helpers::{TestApp, reference_profile, spawn_app_with, test_settings};

/// Two instances on one database, the first with `settings`, the second with the same.
async fn two_instances(settings: Settings) -> (TestApp, [String; 2]) {
    let app = spawn_app_with(settings.clone()).await;
    let second = app.spawn_instance(settings).await;
    let first = app.address.clone();
    (app, [first, second])
}

async fn stored_rows(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM assessments").fetch_one(&mut app.database().await).await.unwrap()
}

#[tokio::test]
async fn concurrent_idempotent_submissions_to_two_instances_store_one_row() {
    let (app, instances) = two_instances(test_settings()).await;
    let body = json!({"profile": reference_profile("disc_early_academic")});
    let mut requests = tokio::task::JoinSet::new();
    for round in 0..16 {
        let request = app
            .client
            .post(format!("{}/v1/assessments", instances[round % 2]))
            .header("idempotency-key", "two-instances")
            .json(&body);
        requests.spawn(async move { request.send().await.unwrap().status().as_u16() });
    }

    let statuses = requests.join_all().await;

    // Each either stored the row, replayed it, or was told the first is still in flight.
    assert!(statuses.iter().all(|status| [201, 409].contains(status)), "{statuses:?}");
    assert_eq!(stored_rows(&app).await, 1);
    let mut replayed = Vec::new();
    for instance in &instances {
        let response = app
            .client
            .post(format!("{instance}/v1/assessments"))
            .header("idempotency-key", "two-instances")
            .json(&body)
            .send()
            .await
            .unwrap();
        let (status, replayed_header) =
            (response.status(), response.headers().get("idempotent-replayed").cloned());
        let record: Value = response.json().await.unwrap();
        assert_eq!(status, 201, "{record}");
        assert_eq!(replayed_header.as_ref().map(|value| value.to_str().unwrap()), Some("true"));
        replayed.push(record["id"].clone());
    }
    assert_eq!(replayed[0], replayed[1], "both instances replay the one stored assessment");
}

#[tokio::test]
async fn a_key_limited_in_postgres_is_limited_across_both_instances() {
    let mut settings = test_settings();
    // A burst of 5, then one request a second: the 12 requests below take well under a second.
    settings.rate_limit =
        Some(RateLimit { per_second: NonZeroU32::new(1).unwrap(), burst: NonZeroU32::new(5).unwrap() });
    settings.organisation_rate_limit = None;
    settings.rate_limit_store = RateLimitStore::Postgres;
    let (app, instances) = two_instances(settings).await;

    let mut served = [0; 2];
    let mut limited = [0; 2];
    for round in 0..12 {
        let response = app.client.get(format!("{}/v1/programs", instances[round % 2])).send().await.unwrap();
        match response.status().as_u16() {
            200 => served[round % 2] += 1,
            429 => {
                assert!(response.headers().contains_key("retry-after"));
                limited[round % 2] += 1;
            }
            other => panic!("unexpected status {other}"),
        }
    }

    // Kept per instance, the limit would have served 10 (5 on each).
    let total: i32 = served.iter().sum();
    assert!((5..=6).contains(&total), "one burst of 5 (6 if a second passed) across both: {served:?}");
    assert!(
        limited.iter().all(|&count| count > 0),
        "each instance refuses once the shared bucket is empty: {limited:?}"
    );
}

#[tokio::test]
async fn two_instances_folding_the_rollup_at_once_never_count_a_change_twice() {
    let mut settings = test_settings();
    settings.stats_fold_interval = Some(Duration::from_millis(5));
    let (app, instances) = two_instances(settings).await;
    let profiles = ["disc_early_academic", "disc_mature_allogeneic"];
    let mut requests = tokio::task::JoinSet::new();
    for round in 0..20 {
        let request = app
            .client
            .post(format!("{}/v1/assessments", instances[round % 2]))
            .json(&json!({"profile": reference_profile(profiles[round % 2])}));
        requests.spawn(async move { request.send().await.unwrap().status().as_u16() });
    }
    assert!(requests.join_all().await.iter().all(|&status| status == 201));

    // Until both folders have emptied the queue (each folds every 5 ms).
    let mut database = app.database().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM score_count_changes")
            .fetch_one(&mut database)
            .await
            .unwrap();
        if queued == 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{queued} changes still queued after 10 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for instance in &instances {
        let response =
            app.client.get(format!("{instance}/v1/stats/summary?assessments=all")).send().await.unwrap();
        let summary: Value = response.json().await.unwrap();
        let overall = summary["statistics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["metric"] == "overall_index")
            .unwrap();
        assert_eq!(overall["count"], 20, "the rollup holds each assessment once: {overall}");
    }
}

const METRICS_TOKEN: &str = "operators-only-metrics-token";

/// The value of the one sample of `name` in the Prometheus text `metrics`.
fn sample(metrics: &str, name: &str) -> String {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name} in {metrics}"))
        .to_owned()
}

/// An instance reading through `read_url`, on the database of `app`; returns its address.
async fn instance_reading_from(app: &TestApp, read_url: String) -> String {
    let mut settings = test_settings();
    settings.database_read_url = Some(read_url);
    settings.metrics_token = Some(METRICS_TOKEN.to_owned());
    app.spawn_instance(settings).await
}

/// Every read that may go to a replica, answered 200 by `instance`.
async fn reads_answer(app: &TestApp, instance: &str, program: &str) {
    for path in [
        "/v1/assessments".to_owned(),
        "/v1/programs".to_owned(),
        "/v1/stats/summary".to_owned(),
        "/v1/stats/grouped?by=indication".to_owned(),
        "/v1/stats/limiting-barriers".to_owned(),
        "/v1/stats/timeseries".to_owned(),
        "/v1/exports/assessments.csv".to_owned(),
        "/v1/exports/assessments.ndjson".to_owned(),
        format!("/v1/programs/{program}/assessments"),
        format!("/v1/programs/{program}/trend.svg"),
    ] {
        let response = app.client.get(format!("{instance}{path}")).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
}

async fn metrics(app: &TestApp, instance: &str) -> String {
    let response =
        app.anonymous.get(format!("{instance}/metrics")).bearer_auth(METRICS_TOKEN).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

async fn program_with_an_assessment(app: &TestApp) -> String {
    let program: Value = app
        .post_json("/v1/programs", &json!({"key": "replica-demo", "name": "Replica demo"}))
        .await
        .json()
        .await
        .unwrap();
    let program = program["id"].as_str().unwrap().to_owned();
    let profile = reference_profile("disc_early_academic");
    let response =
        app.post_json("/v1/assessments", &json!({"profile": profile, "program_id": program})).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    program
}

#[tokio::test]
async fn with_the_replica_down_every_read_is_answered_from_the_primary() {
    let app = crate::helpers::spawn_app().await;
    let program = program_with_an_assessment(&app).await;
    // Nothing listens on port 1: the replica refuses every connection.
    let instance = instance_reading_from(&app, "postgres://postgres@127.0.0.1:1/replica".to_owned()).await;

    reads_answer(&app, &instance, &program).await;

    let metrics = metrics(&app, &instance).await;
    assert_eq!(sample(&metrics, "db_replica_in_use"), "0");
    assert_eq!(sample(&metrics, "db_replica_lag_seconds"), "NaN");
}

#[tokio::test]
async fn a_replica_within_its_lag_bound_serves_the_reads() {
    let app = crate::helpers::spawn_app().await;
    let program = program_with_an_assessment(&app).await;
    // The primary itself stands in for a caught-up replica (a real one: tests/replica.sh).
    let options = &app.database_options;
    let host: String = form_urlencoded::byte_serialize(options.get_host().as_bytes()).collect();
    let url = format!(
        "postgres://{}@{host}:{}/{}",
        options.get_username(),
        options.get_port(),
        options.get_database().unwrap_or_default()
    );
    let instance = instance_reading_from(&app, url).await;

    let before = metrics(&app, &instance).await;
    assert_eq!(sample(&before, "db_replica_in_use"), "1");
    assert_eq!(sample(&before, "db_replica_lag_seconds"), "0");
    reads_answer(&app, &instance, &program).await;
}
