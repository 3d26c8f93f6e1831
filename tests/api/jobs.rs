//! Bulk work (issue 17): imports and portfolio re-scores as jobs, over HTTP against PostgreSQL.
//!
//! The applications here run no job worker of their own (`JOB_POLL_INTERVAL_MS=0`): each test
//! drives workers itself, batch by batch or until idle, so what a worker does is exact and
//! nothing waits on time.

use std::time::Duration;

use msc_readiness::configuration::Settings;
use msc_readiness::jobs::Worker;
use msc_readiness::persistence::{self, PoolSettings};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::{TestApp, assert_problem, reference_profile, spawn_app_with};

/// Lines per batch: small, so a few lines make several batches.
const BATCH: u32 = 2;

fn settings() -> Settings {
    Settings::from_lookup(|name| match name {
        "PORT" => Some("0".to_owned()),
        "JOB_POLL_INTERVAL_MS" => Some("0".to_owned()),
        "STATS_FOLD_INTERVAL_MS" => Some("0".to_owned()),
        // Staging groups a program's lines by the batch size the workers use.
        "JOB_BATCH_SIZE" => Some(BATCH.to_string()),
        _ => None,
    })
    .expect("settings are valid")
}

async fn spawn() -> TestApp {
    spawn_app_with(settings()).await
}

/// A pool of its own, as another instance of the service would have.
fn instance_pool(app: &TestApp) -> PgPool {
    persistence::pool(
        app.database_options.clone(),
        PoolSettings { max_connections: 2, acquire_timeout: Duration::from_secs(10) },
    )
}

fn worker(pool: &PgPool) -> Worker {
    Worker::new(pool.clone(), BATCH)
}

async fn import(app: &TestApp, content_type: &str, query: &str, body: String) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/v1/imports{query}")))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("request sent")
}

async fn accepted_job(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), 202, "{:?}", response.text().await);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let job: Value = response.json().await.unwrap();
    assert_eq!(location, format!("/v1/jobs/{}", job["id"].as_str().unwrap()));
    job
}

async fn job(app: &TestApp, id: &Value) -> Value {
    let response = app.get(&format!("/v1/jobs/{}", id.as_str().unwrap())).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn counts(job: &Value) -> [i64; 5] {
    ["total", "processed", "created", "skipped", "failed"].map(|name| job[name].as_i64().unwrap())
}

async fn assessment_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM assessments").fetch_one(&mut app.database().await).await.unwrap()
}

fn line(value: Value) -> String {
    format!("{value}\n")
}

/// Three good lines (two programs by key, one historical), two bad ones, a blank line.
fn mixed_file() -> String {
    let good = reference_profile("disc_mature_allogeneic");
    [
        line(json!({"program": "DISC-1", "program_name": "Disc one", "assessed_at": "2024-03-31T00:00:00Z", "profile": good})),
        line(json!({"program": "DISC-1", "profile": {"program": {"indication": "intervertebral_disc_degeneration"}}})),
        "\n".to_owned(),
        line(json!({"program": "DISC-2", "profile": {"delivery": {"route": "teleport"}, "quality": {"viability_at_release_pct": 130}}})),
        "{not json\n".to_owned(),
        line(json!({"program": "DISC-2", "profile": {"program": {"stage": "phase2"}}})),
    ]
    .concat()
}

#[tokio::test]
async fn an_import_stores_the_good_lines_reports_each_bad_one_by_line_and_a_second_send_stores_nothing() {
    let app = spawn().await;
    let pool = instance_pool(&app);
    let created = accepted_job(import(&app, "application/x-ndjson", "", mixed_file()).await).await;
    assert_eq!(created["state"], "queued");
    assert_eq!(counts(&created), [5, 0, 0, 0, 0]);

    assert_eq!(worker(&pool).run_until_idle().await.unwrap(), 3);

    let done = job(&app, &created["id"]).await;
    assert_eq!(done["state"], "succeeded");
    assert_eq!(counts(&done), [5, 5, 3, 0, 2]);
    assert!(done["rate_per_second"].as_f64().unwrap() > 0.0);
    let errors: Value =
        app.get(&format!("/v1/jobs/{}/errors", created["id"].as_str().unwrap())).await.json().await.unwrap();
    let found: Vec<(i64, &str)> = errors["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| (error["line"].as_i64().unwrap(), error["field"].as_str().unwrap()))
        .collect();
    assert_eq!(
        found,
        [(4, "profile.delivery.route"), (4, "profile.quality.viability_at_release_pct"), (5, "")],
        "{errors}"
    );
    assert_eq!(errors["next_cursor"], Value::Null);

    // Programs by key, created on first use with the line's name; the historical time kept, and
    // the newer assessment the program's latest.
    let programs: Value = app.get("/v1/programs").await.json().await.unwrap();
    let names: Vec<&str> = programs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|program| program["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{programs}");
    assert!(names.contains(&"Disc one") && names.contains(&"DISC-2"), "{names:?}");
    let history: Vec<(String, bool)> = sqlx::query_as(
        "SELECT to_char(a.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), a.latest FROM assessments a
         JOIN programs p ON p.id = a.program_id WHERE p.key = 'DISC-1' ORDER BY a.created_at",
    )
    .fetch_all(&mut app.database().await)
    .await
    .unwrap();
    assert_eq!(history[0], ("2024-03-31".to_owned(), false));
    assert!(history[1].1);

    // The same file again: every good line is known, nothing is stored twice.
    let again = accepted_job(import(&app, "application/x-ndjson", "", mixed_file()).await).await;
    worker(&pool).run_until_idle().await.unwrap();
    assert_eq!(counts(&job(&app, &again["id"]).await), [5, 5, 0, 3, 2]);
    assert_eq!(assessment_count(&app).await, 3);
    let latest: i64 = sqlx::query_scalar("SELECT count(*) FROM assessments WHERE latest")
        .fetch_one(&mut app.database().await)
        .await
        .unwrap();
    assert_eq!(latest, 2, "one latest assessment per program");
}

#[tokio::test]
async fn a_csv_import_maps_its_columns_and_an_unknown_column_fails_the_job_before_anything_is_stored() {
    let app = spawn().await;
    let pool = instance_pool(&app);
    let csv = "program,assessed_at,profile.program.indication,profile.program.stage,profile.manufacturing.cells_per_lot\n\
               CSV-1,2023-01-01T00:00:00Z,intervertebral_disc_degeneration,phase2,1e9\n\
               CSV-2,,intervertebral_disc_degeneration,phase9,\n\
               CSV-3,,,,\"20 million\"\n";
    let created = accepted_job(import(&app, "text/csv", "", csv.to_owned()).await).await;
    worker(&pool).run_until_idle().await.unwrap();
    let done = job(&app, &created["id"]).await;
    assert_eq!(counts(&done), [3, 3, 1, 0, 2]);
    let errors: Value =
        app.get(&format!("/v1/jobs/{}/errors", created["id"].as_str().unwrap())).await.json().await.unwrap();
    let fields: Vec<(i64, &str)> = errors["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| (error["line"].as_i64().unwrap(), error["field"].as_str().unwrap()))
        .collect();
    assert_eq!(fields, [(3, "profile.program.stage"), (4, "profile.manufacturing.cells_per_lot")]);

    let unknown_column = "program,colour,profile.program.stage\nX,red,phase2\n".to_owned();
    let refused = accepted_job(import(&app, "text/csv", "", unknown_column).await).await;
    assert_eq!(refused["state"], "failed");
    assert!(refused["failure"].as_str().unwrap().contains("unknown column"), "{refused}");
    let path = format!("/v1/jobs/{}/errors", refused["id"].as_str().unwrap());
    let errors: Value = app.get(&path).await.json().await.unwrap();
    let first = &errors["items"][0];
    assert_eq!((first["line"].as_i64(), first["field"].as_str()), (Some(1), Some("colour")));
    assert_problem(import(&app, "text/plain", "", "x".into()).await, 415).await;
    assert_problem(import(&app, "text/csv", "?mode=sometimes", "x".into()).await, 400).await;
    let jobs: Value = app.get("/v1/jobs").await.json().await.unwrap();
    assert_eq!(jobs["items"].as_array().unwrap().len(), 2, "a refused request leaves no job: {jobs}");
    assert_eq!(assessment_count(&app).await, 1);
}

/// Lines with distinct content, one program each.
fn numbered_file(lines: usize) -> String {
    (1..=lines)
        .map(|number| {
            line(json!({"program": format!("P-{number}"), "profile": {"program": {"stage": "phase2"}}}))
        })
        .collect()
}

#[tokio::test]
async fn a_worker_killed_mid_job_loses_its_batch_to_the_next_and_nothing_is_lost_or_done_twice() {
    let app = spawn().await;
    let created = accepted_job(import(&app, "application/x-ndjson", "", numbered_file(7)).await).await;

    let first_instance = instance_pool(&app);
    let first = worker(&first_instance);
    first.run_batch().await.unwrap().expect("a batch of work");
    let in_flight = first.claim().await.unwrap().expect("a batch of work");
    assert_eq!(in_flight.items.iter().map(|item| item.position).collect::<Vec<_>>(), [3, 4]);
    // The instance dies with the batch: its transaction is rolled back and its connections close.
    drop(in_flight);
    first_instance.close().await;
    assert_eq!(counts(&job(&app, &created["id"]).await), [7, 2, 2, 0, 0]);

    let second_instance = instance_pool(&app);
    assert_eq!(worker(&second_instance).run_until_idle().await.unwrap(), 3);
    let done = job(&app, &created["id"]).await;
    assert_eq!(done["state"], "succeeded");
    assert_eq!(counts(&done), [7, 7, 7, 0, 0]);
    assert_eq!(assessment_count(&app).await, 7);
}

#[tokio::test]
async fn two_instances_share_one_job_batch_by_batch_without_waiting_for_each_other() {
    let app = spawn().await;
    // A second instance of the service on the same database.
    let other_address = app.spawn_instance(settings()).await;
    let created = accepted_job(import(&app, "application/x-ndjson", "", numbered_file(6)).await).await;

    let (pool_a, pool_b) = (instance_pool(&app), instance_pool(&app));
    let held_by_a = worker(&pool_a).claim().await.unwrap().expect("work");
    // While A holds its batch, B takes the next one instead of waiting, and completes it.
    let progress = worker(&pool_b).run_batch().await.unwrap().expect("work");
    assert_eq!(progress.processed, 2);
    msc_readiness::jobs::process(held_by_a).await.unwrap();
    worker(&pool_b).run_until_idle().await.unwrap();

    let seen_by_other: Value = app
        .client
        .get(format!("{other_address}/v1/jobs/{}", created["id"].as_str().unwrap()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(seen_by_other["state"], "succeeded");
    assert_eq!(counts(&seen_by_other), [6, 6, 6, 0, 0]);
    let distinct: i64 = sqlx::query_scalar("SELECT count(DISTINCT program_id) FROM assessments")
        .fetch_one(&mut app.database().await)
        .await
        .unwrap();
    assert_eq!((assessment_count(&app).await, distinct), (6, 6));
}

/// Makes a stored assessment look scored by an older model: version `0.9.0` (stored whole, as a
/// version without dictionaries is), and the given changes to its stored result and columns
/// (applied to the full result as JSON).
async fn age(app: &TestApp, id: &str, edit: impl FnOnce(&mut Value)) {
    let record: Value = app.get(&format!("/v1/assessments/{id}")).await.json().await.unwrap();
    let mut result = record["result"].clone();
    result["model_version"] = json!("0.9.0");
    edit(&mut result);
    let score = |barrier: &str| {
        result["barriers"].as_array().unwrap().iter().find(|line| line["barrier"] == barrier).unwrap()["score"].as_f64()
    };
    let level = result["readiness"]["msc_trl"].as_i64().unwrap();
    sqlx::query(
        "UPDATE assessments SET model_version = '0.9.0', profile = $6, result = $2, result_compact = NULL,
           packed = NULL, survival = $3, limiting_barrier = $4, readiness_level = $5 WHERE id = $1::uuid",
    )
    .bind(id)
    .bind(&result)
    .bind(score("survival"))
    .bind(result["overall"]["limiting_barrier"].as_str().unwrap())
    .bind((level > 0).then_some(level as i16))
    .bind(&record["profile"])
    .execute(&mut app.database().await)
    .await
    .unwrap();
}

#[tokio::test]
async fn a_rescore_job_rescores_the_portfolio_and_its_report_names_the_movers_and_what_moved_them() {
    let app = spawn().await;
    let pool = instance_pool(&app);
    let mover = app.submit(&reference_profile("disc_mature_allogeneic")).await;
    let relabelled = app.submit(&reference_profile("disc_early_academic")).await;
    let current = app.submit(&reference_profile("disc_early_academic")).await;
    let mover_id = mover["id"].as_str().unwrap();
    let relabelled_id = relabelled["id"].as_str().unwrap();
    // Under "0.9.0", the mover's survival was 12.5 points lower, all of it in its first factor;
    // the other one's limiting barrier and level were different.
    let mut survival_factor = String::new();
    age(&app, mover_id, |result| {
        let survival = result["barriers"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|line| line["barrier"] == "survival")
            .unwrap();
        survival["score"] = json!(survival["score"].as_f64().unwrap() - 12.5);
        let factor = &mut survival["factors"][0];
        survival_factor = factor["factor"].as_str().unwrap().to_owned();
        factor["points"] = json!(factor["points"].as_f64().unwrap() - 12.5);
    })
    .await;
    let mut old_barrier = String::new();
    age(&app, relabelled_id, |result| {
        let limiting = result["overall"]["limiting_barrier"].as_str().unwrap();
        old_barrier = if limiting == "regulatory" { "safety" } else { "regulatory" }.to_owned();
        result["overall"]["limiting_barrier"] = json!(old_barrier);
        result["readiness"]["msc_trl"] = json!(result["readiness"]["msc_trl"].as_i64().unwrap() + 1);
    })
    .await;

    let response = app.client.post(app.url("/v1/rescore-jobs?selection=all")).send().await.unwrap();
    let created = accepted_job(response).await;
    assert_eq!(created["total"], 2, "the assessment already under the current model is left out");
    let early = assert_problem(
        app.get(&format!("/v1/rescore-jobs/{}/report", created["id"].as_str().unwrap())).await,
        409,
    )
    .await;
    assert!(early["detail"].as_str().unwrap().contains("still running"));
    worker(&pool).run_until_idle().await.unwrap();
    assert_eq!(counts(&job(&app, &created["id"]).await), [2, 2, 2, 0, 0]);

    let report: Value = app
        .get(&format!("/v1/rescore-jobs/{}/report", created["id"].as_str().unwrap()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["rescored"], 2);
    assert_eq!(report["from_model_versions"], json!(["0.9.0"]));
    let survival =
        report["movers"].as_array().unwrap().iter().find(|movers| movers["barrier"] == "survival").unwrap();
    let movers = survival["movers"].as_array().unwrap();
    assert_eq!(movers.len(), 1, "{report}");
    assert_eq!(movers[0]["original_id"], mover_id);
    assert_eq!(movers[0]["change"], 12.5);
    assert_eq!(movers[0]["factors"][0]["factor"], survival_factor.as_str());
    assert_eq!(movers[0]["factors"][0]["points"]["change"], 12.5);
    let changed = report["changed"].as_array().unwrap();
    assert_eq!(changed.len(), 1, "{report}");
    assert_eq!(changed[0]["original_id"], relabelled_id);
    assert_eq!(changed[0]["from_limiting_barrier"], old_barrier.as_str());
    assert_eq!(changed[0]["from_level"].as_i64().unwrap(), changed[0]["to_level"].as_i64().unwrap() + 1);
    let distribution =
        report["distribution"].as_array().unwrap().iter().find(|score| score["score"] == "survival").unwrap();
    assert_eq!((distribution["increased"].as_i64(), distribution["unchanged"].as_i64()), (Some(1), Some(1)));

    // The originals stay as they were; each copy names its original.
    let original: Value =
        app.get(&format!("/v1/assessments/{mover_id}?detail=summary")).await.json().await.unwrap();
    assert_eq!(original["model_version"], "0.9.0");
    let copy: Value = app
        .get(&format!("/v1/assessments/{}", movers[0]["rescored_id"].as_str().unwrap()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(copy["rescored_from"], mover_id);
    assert_ne!(current["id"], copy["id"]);

    let csv = app
        .client
        .get(app.url(&format!("/v1/rescore-jobs/{}/report", created["id"].as_str().unwrap())))
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = csv.text().await.unwrap();
    assert!(csv.starts_with("section,score,program_id"), "{csv}");
    assert!(csv.lines().any(|row| row.starts_with("mover,survival,") && row.contains(mover_id)), "{csv}");
}

#[tokio::test]
async fn a_job_is_its_organisations_alone_and_a_cancelled_one_takes_no_more_batches() {
    let app = spawn().await;
    let pool = instance_pool(&app);
    let created = accepted_job(import(&app, "application/x-ndjson", "", numbered_file(3)).await).await;
    let id = created["id"].as_str().unwrap();

    let other = app.client_with(&app.new_key("Organisation B", "read,write").await);
    for path in
        [format!("/v1/jobs/{id}"), format!("/v1/jobs/{id}/errors"), format!("/v1/rescore-jobs/{id}/report")]
    {
        assert_problem(other.get(app.url(&path)).send().await.unwrap(), 404).await;
    }
    assert_problem(other.post(app.url(&format!("/v1/jobs/{id}/cancel"))).send().await.unwrap(), 404).await;
    let listed: Value = other.get(app.url("/v1/jobs")).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["items"], json!([]));

    let cancelled: Value = app
        .client
        .post(app.url(&format!("/v1/jobs/{id}/cancel")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cancelled["state"], "cancelled");
    assert_eq!(worker(&pool).run_until_idle().await.unwrap(), 0);
    assert_eq!(assessment_count(&app).await, 0);
    assert_problem(app.client.post(app.url(&format!("/v1/jobs/{id}/cancel"))).send().await.unwrap(), 409)
        .await;
    let active: Value = app.get("/v1/jobs?active=true").await.json().await.unwrap();
    assert_eq!(active["items"], json!([]));

    let audit: Value = app.get("/v1/audit").await.json().await.unwrap();
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["resource_id"] == id)
        .map(|event| event["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["job.cancelled", "job.started"]);
}

#[tokio::test]
async fn an_all_or_nothing_import_stores_nothing_when_a_line_is_bad_and_everything_when_none_is() {
    let app = spawn().await;
    let pool = instance_pool(&app);
    let mut file = numbered_file(4);
    file.push_str(&line(json!({"program": "P-5", "profile": {"program": {"stage": "phase9"}}})));
    let refused =
        accepted_job(import(&app, "application/x-ndjson", "?mode=all_or_nothing", file).await).await;
    worker(&pool).run_until_idle().await.unwrap();
    let refused = job(&app, &refused["id"]).await;
    assert_eq!(refused["state"], "failed");
    assert_eq!(counts(&refused), [5, 5, 0, 0, 1]);
    assert!(refused["failure"].as_str().unwrap().contains("nothing was stored"), "{refused}");
    assert_eq!(assessment_count(&app).await, 0);
    let programs: i64 = sqlx::query_scalar("SELECT count(*) FROM programs")
        .fetch_one(&mut app.database().await)
        .await
        .unwrap();
    assert_eq!(programs, 0, "programs named by the file are not created either");

    let stored =
        accepted_job(import(&app, "application/x-ndjson", "?mode=all_or_nothing", numbered_file(5)).await)
            .await;
    worker(&pool).run_until_idle().await.unwrap();
    let stored = job(&app, &stored["id"]).await;
    assert_eq!((stored["state"].as_str(), counts(&stored)), (Some("succeeded"), [5, 5, 5, 0, 0]));
    assert_eq!(assessment_count(&app).await, 5);
}

#[tokio::test]
async fn an_all_or_nothing_import_that_fails_every_run_ends_failed_after_three_with_nothing_stored() {
    let app = spawn().await;
    let pool = instance_pool(&app);
    // A defect every run meets the same way (not a lost connection): the database refuses the
    // import's assessments.
    sqlx::raw_sql(
        "CREATE FUNCTION refuse_assessments() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN RAISE EXCEPTION 'assessments refused'; END $$;
         CREATE TRIGGER refuse_assessments BEFORE INSERT ON assessments
           FOR EACH ROW EXECUTE FUNCTION refuse_assessments();",
    )
    .execute(&mut app.database().await)
    .await
    .unwrap();
    let created =
        accepted_job(import(&app, "application/x-ndjson", "?mode=all_or_nothing", numbered_file(3)).await)
            .await;
    let worker = worker(&pool);
    for attempt in 1..=3 {
        let error = worker.run_batch().await.expect_err("the run fails");
        assert!(!error.is_transient(), "{error}");
        let attempts: i32 = sqlx::query_scalar("SELECT failed_attempts FROM jobs")
            .fetch_one(&mut app.database().await)
            .await
            .unwrap();
        assert_eq!(attempts, attempt);
        assert_eq!(job(&app, &created["id"]).await["state"], "queued");
    }
    let ended = worker.run_batch().await.unwrap().expect("the job is ended");
    assert_eq!(ended.state, msc_readiness::jobs::JobState::Failed);
    assert_eq!(worker.run_batch().await.unwrap(), None, "and never run again");
    let failed = job(&app, &created["id"]).await;
    assert_eq!(failed["state"], "failed");
    let failure = failed["failure"].as_str().unwrap();
    assert!(failure.contains("internal error") && failure.contains("nothing was stored"), "{failure}");
    assert_eq!(assessment_count(&app).await, 0);
}

#[tokio::test]
async fn the_import_command_stages_a_file_and_works_its_job_to_the_end() {
    let app = spawn().await;
    let path = std::env::temp_dir().join(format!("import-{}.csv", uuid::Uuid::now_v7()));
    std::fs::write(&path, "program,profile.program.stage\nCLI-1,phase2\nCLI-2,phase9\nCLI-3,phase3\n")
        .unwrap();
    let args = msc_readiness::cli::ImportArgs {
        file: path.clone(),
        organisation: crate::helpers::ORGANISATION_A.to_owned(),
        format: None,
        mode: msc_readiness::cli::ModeArg::BestEffort,
        batch_size: BATCH,
    };
    let outcome = msc_readiness::cli::import(app.database_options.clone(), &args, 65_536).await.unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(outcome.job.state, msc_readiness::jobs::JobState::Succeeded);
    assert_eq!((outcome.job.total, outcome.job.created, outcome.job.failed), (3, 2, 1));
    assert_eq!(outcome.first_errors[0].error.position, 3);
    assert_eq!(outcome.first_errors[0].error.field, "profile.program.stage");
    // The job is the organisation's like any other.
    assert_eq!(job(&app, &json!(outcome.job.id.to_string())).await["created"], 2);

    let unknown = msc_readiness::cli::ImportArgs { organisation: "Nobody".into(), ..args };
    let refused = msc_readiness::cli::import(app.database_options.clone(), &unknown, 65_536).await;
    assert!(matches!(refused, Err(msc_readiness::cli::ImportError::UnknownOrganisation(_))));
}

async fn failed_attempts(app: &TestApp) -> Vec<i32> {
    sqlx::query_scalar("SELECT failed_attempts FROM job_items ORDER BY position")
        .fetch_all(&mut app.database().await)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_item_that_fails_its_batch_every_time_is_reported_as_failed_after_three_attempts_and_its_batch_stored()
 {
    let app = spawn().await;
    let pool = instance_pool(&app);
    let mut ids = Vec::new();
    for _ in 0..5 {
        let stored = app.submit(&reference_profile("disc_early_academic")).await;
        let id = stored["id"].as_str().unwrap().to_owned();
        age(&app, &id, |_| {}).await;
        ids.push(id);
    }
    // The third one's stored form is damaged (packed, but its model version has no packing
    // dictionary): reading it fails, and with it every batch it is in.
    sqlx::query(
        "UPDATE assessments SET profile = NULL, result = NULL, packed = '\\x28b52ffd'::bytea WHERE id = $1::uuid",
    )
    .bind(&ids[2])
    .execute(&mut app.database().await)
    .await
    .unwrap();
    let response = app.client.post(app.url("/v1/rescore-jobs?selection=all")).send().await.unwrap();
    let created = accepted_job(response).await;
    assert_eq!(created["total"], 5);

    let worker = worker(&pool);
    worker.run_batch().await.unwrap().expect("the first batch");
    for attempt in 1..=3 {
        let error = worker.run_batch().await.expect_err("the damaged assessment's batch fails");
        assert!(!error.is_transient(), "{error}");
        assert_eq!(failed_attempts(&app).await, [0, 0, attempt, attempt, 0]);
        assert_eq!(counts(&job(&app, &created["id"]).await), [5, 2, 2, 0, 0]);
    }
    // Then item by item: the good one of that batch is stored, the damaged one reported.
    assert_eq!(worker.run_until_idle().await.unwrap(), 2);
    let done = job(&app, &created["id"]).await;
    assert_eq!(done["state"], "succeeded");
    assert_eq!(counts(&done), [5, 5, 4, 0, 1]);
    let errors: Value =
        app.get(&format!("/v1/jobs/{}/errors", created["id"].as_str().unwrap())).await.json().await.unwrap();
    let errors = errors["items"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!((errors[0]["line"].as_i64(), errors[0]["field"].as_str()), (Some(3), Some("")));
    assert_eq!(errors[0]["assessment_id"], ids[2].as_str());
    let message = errors[0]["message"].as_str().unwrap();
    assert!(message.contains("internal error") && message.contains("not stored"), "{message}");
    let mut rescored: Vec<String> =
        sqlx::query_scalar("SELECT rescored_from::text FROM assessments WHERE rescored_from IS NOT NULL")
            .fetch_all(&mut app.database().await)
            .await
            .unwrap();
    rescored.sort();
    let mut expected = [&ids[0], &ids[1], &ids[3], &ids[4]].map(String::clone).to_vec();
    expected.sort();
    assert_eq!(rescored, expected);
}

#[tokio::test]
async fn a_batch_that_loses_its_connection_is_given_back_uncounted_however_often_and_no_item_fails() {
    let app = spawn().await;
    let pool = instance_pool(&app);
    let created = accepted_job(import(&app, "application/x-ndjson", "", numbered_file(3)).await).await;
    for _ in 0..4 {
        let mut held = worker(&pool).claim().await.unwrap().expect("work");
        let backend: i32 =
            sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(held.connection()).await.unwrap();
        // As when the database restarts: the batch's server process ends (waited for, up to 10 s).
        let ended: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1, 10000)")
            .bind(backend)
            .fetch_one(&mut app.database().await)
            .await
            .unwrap();
        assert!(ended);
        let error = msc_readiness::jobs::process(held).await.expect_err("the connection is gone");
        assert!(error.is_transient(), "{error}");
    }
    assert_eq!(failed_attempts(&app).await, [0, 0, 0]);
    assert_eq!(counts(&job(&app, &created["id"]).await), [3, 0, 0, 0, 0]);

    worker(&pool).run_until_idle().await.unwrap();
    let done = job(&app, &created["id"]).await;
    assert_eq!((done["state"].as_str(), counts(&done)), (Some("succeeded"), [3, 3, 3, 0, 0]));
}

#[tokio::test]
async fn a_rescore_leaves_the_latest_flag_on_a_latest_assessment_the_job_does_not_rescore() {
    let app = spawn().await;
    let program: Value =
        app.post_json("/v1/programs", &json!({"key": "P", "name": "P"})).await.json().await.unwrap();
    let submit = async || -> String {
        let body = json!({"program_id": program["id"], "profile": reference_profile("disc_early_academic")});
        let response = app.post_json("/v1/assessments", &body).await;
        assert_eq!(response.status(), 201);
        let record: Value = response.json().await.unwrap();
        record["id"].as_str().unwrap().to_owned()
    };
    let latest_of_program = async || -> String {
        sqlx::query_scalar("SELECT id::text FROM assessments WHERE program_id = $1::uuid AND latest")
            .bind(program["id"].as_str().unwrap())
            .fetch_one(&mut app.database().await)
            .await
            .unwrap()
    };
    // The older assessment is on an old model; the newest is on the current one, so not re-scored.
    let older = submit().await;
    let current = submit().await;
    age(&app, &older, |_| {}).await;
    let created =
        accepted_job(app.client.post(app.url("/v1/rescore-jobs?selection=all")).send().await.unwrap()).await;
    assert_eq!(created["total"], 1);
    worker(&instance_pool(&app)).run_until_idle().await.unwrap();
    assert_eq!(counts(&job(&app, &created["id"]).await), [1, 1, 1, 0, 0]);
    assert_eq!(latest_of_program().await, current, "the re-score of an older assessment is not the latest");

    // The latest is re-scored by a job, but a newer assessment is submitted before the job runs.
    age(&app, &current, |_| {}).await;
    let created =
        accepted_job(app.client.post(app.url("/v1/rescore-jobs?selection=latest")).send().await.unwrap())
            .await;
    assert_eq!(created["total"], 1);
    let submitted_meanwhile = submit().await;
    worker(&instance_pool(&app)).run_until_idle().await.unwrap();
    assert_eq!(counts(&job(&app, &created["id"]).await), [1, 1, 1, 0, 0]);
    assert_eq!(latest_of_program().await, submitted_meanwhile);

    // A re-score of the latest itself becomes the latest.
    age(&app, &submitted_meanwhile, |_| {}).await;
    let created =
        accepted_job(app.client.post(app.url("/v1/rescore-jobs?selection=latest")).send().await.unwrap())
            .await;
    worker(&instance_pool(&app)).run_until_idle().await.unwrap();
    assert_eq!(counts(&job(&app, &created["id"]).await), [1, 1, 1, 0, 0]);
    let rescored_from: Option<String> =
        sqlx::query_scalar("SELECT rescored_from::text FROM assessments WHERE id = $1::uuid")
            .bind(latest_of_program().await)
            .fetch_one(&mut app.database().await)
            .await
            .unwrap();
    assert_eq!(rescored_from, Some(submitted_meanwhile));
}

#[tokio::test]
async fn a_rescore_of_all_stores_each_programs_rescores_in_history_order_whichever_worker_commits_first() {
    let app = spawn().await;
    let program = async |key: &str| -> Value {
        app.post_json("/v1/programs", &json!({"key": key, "name": key})).await.json().await.unwrap()
    };
    let submit_to = async |program: &Value| -> String {
        let body = json!({"program_id": program["id"], "profile": reference_profile("disc_early_academic")});
        let response = app.post_json("/v1/assessments", &body).await;
        assert_eq!(response.status(), 201);
        let record: Value = response.json().await.unwrap();
        record["id"].as_str().unwrap().to_owned()
    };
    let (p, q) = (program("P").await, program("Q").await);
    // In creation order P's history spans two batches, Q's assessment between its first two.
    let p1 = submit_to(&p).await;
    let q1 = submit_to(&q).await;
    let p2 = submit_to(&p).await;
    let p3 = submit_to(&p).await;
    for id in [&p1, &q1, &p2, &p3] {
        age(&app, id, |_| {}).await;
    }
    let response = app.client.post(app.url("/v1/rescore-jobs?selection=all")).send().await.unwrap();
    let created = accepted_job(response).await;
    assert_eq!(created["total"], 4);

    let (pool_a, pool_b) = (instance_pool(&app), instance_pool(&app));
    let held_by_a = worker(&pool_a).claim().await.unwrap().expect("work");
    let held: Vec<String> = held_by_a.items.iter().map(|item| item.source_id.unwrap().to_string()).collect();
    // B does the rest and commits while A still holds its batch; A commits last.
    assert_eq!(worker(&pool_b).run_until_idle().await.unwrap(), 1);
    msc_readiness::jobs::process(held_by_a).await.unwrap();
    let done = job(&app, &created["id"]).await;
    assert_eq!((done["state"].as_str(), counts(&done)), (Some("succeeded"), [4, 4, 4, 0, 0]));

    // Each program's history: its originals, then their re-scores in the same order, the newest
    // (the re-score of its latest original) alone flagged latest.
    for (program, originals) in [(&p, vec![&p1, &p2, &p3]), (&q, vec![&q1])] {
        let history: Vec<(Option<String>, bool)> = sqlx::query_as(
            "SELECT rescored_from::text, latest FROM assessments WHERE program_id = $1::uuid
             ORDER BY created_at, id",
        )
        .bind(program["id"].as_str().unwrap())
        .fetch_all(&mut app.database().await)
        .await
        .unwrap();
        let rescored_from: Vec<&String> = history.iter().filter_map(|(from, _)| from.as_ref()).collect();
        assert_eq!(rescored_from, originals, "{history:?}");
        let flagged: Vec<bool> = history.iter().map(|(_, latest)| *latest).collect();
        let mut newest_only = vec![false; history.len()];
        newest_only[history.len() - 1] = true;
        assert_eq!(flagged, newest_only, "{history:?}");
    }
    // A held the whole of P's history (positions in the program's order), so B could not split it.
    assert_eq!(held, [p1, p2, p3]);
}

#[tokio::test]
async fn an_imports_lines_are_claimed_by_program_and_each_program_keeps_its_file_order() {
    let app = spawn().await;
    let by_id: Value =
        app.post_json("/v1/programs", &json!({"key": "C", "name": "C"})).await.json().await.unwrap();
    // A portfolio sorted by date: A and B interleaved, a line of no program, C named by its id.
    let file = [
        line(json!({"program": "A", "profile": named_profile("A-1")})),
        line(json!({"program": "B", "profile": named_profile("B-1")})),
        line(json!({"program": "A", "profile": named_profile("A-2")})),
        line(json!({"profile": named_profile("none")})),
        line(json!({"program": "B", "profile": named_profile("B-2")})),
        line(json!({"program": "A", "profile": named_profile("A-3")})),
        line(json!({"program_id": by_id["id"], "profile": named_profile("C-1")})),
        line(json!({"program_id": by_id["id"], "profile": named_profile("C-2")})),
    ]
    .concat();
    let created = accepted_job(import(&app, "application/x-ndjson", "", file).await).await;

    // Each batch takes whole groups of at most BATCH lines of one program, in the order of their
    // first lines: A's first two, B's two, then the line of no program with A's third.
    let pool = instance_pool(&app);
    let mut claimed = Vec::new();
    while let Some(batch) = worker(&pool).claim().await.unwrap() {
        claimed.push(batch.items.iter().map(|item| item.position).collect::<Vec<_>>());
        msc_readiness::jobs::process(batch).await.unwrap();
    }
    assert_eq!(claimed, [vec![1, 3], vec![2, 5], vec![4, 6], vec![7, 8]]);
    let done = job(&app, &created["id"]).await;
    assert_eq!((done["state"].as_str(), counts(&done)), (Some("succeeded"), [8, 8, 8, 0, 0]));

    // Each program's history is its lines in file order.
    for (program, lines) in [("A", [1, 3, 6].as_slice()), ("B", &[2, 5]), ("C", &[7, 8])] {
        assert_history_in_file_order(&app, program, lines).await;
    }
}

/// The program's history (by key) is the import lines `lines`, in that order, the last alone
/// flagged latest.
async fn assert_history_in_file_order(app: &TestApp, program: &str, lines: &[i64]) {
    let history: Vec<(i64, bool)> = sqlx::query_as(
        "SELECT item.position, assessment.latest FROM assessments assessment
         JOIN programs program ON program.id = assessment.program_id
         JOIN job_items item ON item.result_id = assessment.id
         WHERE program.key = $1 ORDER BY assessment.created_at, assessment.id",
    )
    .bind(program)
    .fetch_all(&mut app.database().await)
    .await
    .unwrap();
    let positions: Vec<i64> = history.iter().map(|(position, _)| *position).collect();
    assert_eq!(positions, lines, "{program}: {history:?}");
    let flagged: Vec<bool> = history.iter().map(|(_, latest)| *latest).collect();
    let mut newest_only = vec![false; lines.len()];
    newest_only[lines.len() - 1] = true;
    assert_eq!(flagged, newest_only, "{program}: {history:?}");
}

fn named_profile(name: &str) -> Value {
    json!({"program": {"stage": "phase2", "name": name}})
}

#[tokio::test]
async fn a_programs_later_group_waits_for_its_earlier_one_so_two_workers_keep_its_file_order() {
    let app = spawn().await;
    // A has more lines than a batch holds: two groups, lines 1-2 and line 3.
    let file = [
        line(json!({"program": "A", "profile": named_profile("A-1")})),
        line(json!({"program": "A", "profile": named_profile("A-2")})),
        line(json!({"program": "A", "profile": named_profile("A-3")})),
        line(json!({"program": "B", "profile": named_profile("B-1")})),
    ]
    .concat();
    let created = accepted_job(import(&app, "application/x-ndjson", "", file).await).await;
    let positions = |batch: &msc_readiness::persistence::jobs::Batch| -> Vec<i64> {
        batch.items.iter().map(|item| item.position).collect()
    };

    let (pool_a, pool_b) = (instance_pool(&app), instance_pool(&app));
    let held_by_a = worker(&pool_a).claim().await.unwrap().expect("work");
    assert_eq!(positions(&held_by_a), [1, 2]);
    // While A holds A's first group, B passes over its second (it would be stored first).
    let held_by_b = worker(&pool_b).claim().await.unwrap().expect("work");
    assert_eq!(positions(&held_by_b), [4]);
    msc_readiness::jobs::process(held_by_b).await.unwrap();
    assert!(worker(&pool_b).claim().await.unwrap().is_none(), "A's second group waits for its first");
    msc_readiness::jobs::process(held_by_a).await.unwrap();
    let last = worker(&pool_b).claim().await.unwrap().expect("A's second group, its first done");
    assert_eq!(positions(&last), [3]);
    msc_readiness::jobs::process(last).await.unwrap();

    let done = job(&app, &created["id"]).await;
    assert_eq!((done["state"].as_str(), counts(&done)), (Some("succeeded"), [4, 4, 4, 0, 0]));
    assert_history_in_file_order(&app, "A", &[1, 2, 3]).await;
}
