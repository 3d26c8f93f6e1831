use std::collections::HashSet;

use serde_json::{Value, json};
use sqlx::Connection;

use crate::helpers::{assert_problem, reference_profile, spawn_app, spawn_app_with, test_settings};

async fn assessment_rows(app: &crate::helpers::TestApp) -> i64 {
    let options = crate::helpers::admin_options().database(&app.database_name);
    let mut connection = sqlx::PgConnection::connect_with(&options).await.unwrap();
    sqlx::query_scalar("SELECT count(*) FROM assessments").fetch_one(&mut connection).await.unwrap()
}

#[tokio::test]
async fn score_returns_the_explained_result_and_stores_nothing() {
    let app = spawn_app().await;

    let response =
        app.post_json("/v1/score", &json!({"profile": reference_profile("disc_early_academic")})).await;

    assert_eq!(response.status(), 200);
    let result: Value = response.json().await.unwrap();
    let barriers: Vec<&str> =
        result["barriers"].as_array().unwrap().iter().map(|b| b["barrier"].as_str().unwrap()).collect();
    assert_eq!(
        barriers,
        ["survival", "retention", "variability", "scalability", "safety", "outcomes", "regulatory"]
    );
    assert_eq!(assessment_rows(&app).await, 0);
}

#[tokio::test]
async fn a_stored_assessment_is_returned_with_location_and_read_back_unchanged() {
    let app = spawn_app().await;
    let profile = reference_profile("disc_mature_allogeneic");

    let response = app.post_json("/v1/assessments", &json!({"profile": profile})).await;

    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    assert_eq!(location, format!("/v1/assessments/{}", created["id"].as_str().unwrap()));
    assert_eq!(created["profile"], profile, "the profile is stored exactly as received");
    let read: Value = app.get(&location).await.json().await.unwrap();
    assert_eq!(read, created);
    assert_eq!(assessment_rows(&app).await, 1);
}

#[tokio::test]
async fn invalid_profiles_are_422_with_the_field_path() {
    let app = spawn_app().await;
    let mut misspelt = reference_profile("disc_early_academic");
    misspelt["delivery"]["rout"] = json!("intradiscal");
    let mut out_of_range = reference_profile("disc_early_academic");
    out_of_range["quality"]["viability_at_release_pct"] = json!(130);
    let mut unknown_value = reference_profile("disc_early_academic");
    unknown_value["delivery"]["route"] = json!("intravenus");

    for (body, field) in [
        (json!({"profile": misspelt}), "profile.delivery.rout"),
        (json!({"profile": out_of_range}), "profile.quality.viability_at_release_pct"),
        (json!({"profile": unknown_value}), "profile.delivery.route"),
        (json!({"profile": {}, "programme_id": null}), "programme_id"),
        (json!({"profile": {"program": {"name": "nul \u{0}"}}}), "profile.program.name"),
        (
            json!({"profile": {"manufacturing": {"lot_consistency": [null, null]}}}),
            "profile.manufacturing.lot_consistency",
        ),
        (json!({"profile": {"program": ["Disc"]}}), "profile.program"),
    ] {
        let problem = assert_problem(app.post_json("/v1/assessments", &body).await, 422).await;
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
        assert_eq!(problem["errors"].as_array().unwrap().len(), 1, "one mistake, one error: {problem}");
    }
    assert_eq!(assessment_rows(&app).await, 0, "nothing stored for invalid input");
}

#[tokio::test]
async fn body_errors_are_400_413_and_415_problem_documents() {
    let app = spawn_app().await;
    let post = |body: Vec<u8>, content_type: &'static str| {
        app.client.post(app.url("/v1/score")).header("content-type", content_type).body(body).send()
    };

    assert_problem(post(b"{\"profile\": ".to_vec(), "application/json").await.unwrap(), 400).await;
    assert_problem(post(b"{\"profile\": \"\\udc00\"}".to_vec(), "application/json").await.unwrap(), 400)
        .await;
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    assert_problem(post(deep.into_bytes(), "application/json").await.unwrap(), 400).await;
    assert_problem(post(b"{}".to_vec(), "text/plain").await.unwrap(), 415).await;
    let huge = format!("{{\"profile\": {{\"program\": {{\"name\": \"{}\"}}}}}}", "x".repeat(70_000));
    assert_problem(post(huge.into_bytes(), "application/json").await.unwrap(), 413).await;
}

#[tokio::test]
async fn an_idempotent_retry_returns_the_original_without_a_second_row() {
    let app = spawn_app().await;
    let body = json!({"profile": reference_profile("disc_early_academic")});
    let send = || {
        app.client.post(app.url("/v1/assessments")).header("idempotency-key", "retry-1").json(&body).send()
    };

    let first = send().await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let retry = send().await.unwrap();

    assert_eq!(retry.status(), 201);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    let retry: Value = retry.json().await.unwrap();
    assert_eq!(retry, first);
    assert_eq!(assessment_rows(&app).await, 1);
}

#[tokio::test]
async fn an_idempotency_key_reused_with_another_body_is_422() {
    let app = spawn_app().await;
    let send = |name: &str| {
        app.client
            .post(app.url("/v1/assessments"))
            .header("idempotency-key", "reused")
            .json(&json!({"profile": reference_profile(name)}))
            .send()
    };
    assert_eq!(send("disc_early_academic").await.unwrap().status(), 201);

    let problem = assert_problem(send("disc_mature_allogeneic").await.unwrap(), 422).await;

    assert_eq!(problem["type"], "/problems/idempotency-key-reused");
    assert_eq!(assessment_rows(&app).await, 1);
}

#[tokio::test]
async fn concurrent_requests_with_one_idempotency_key_store_exactly_one_row() {
    let app = spawn_app().await;
    let body = json!({"profile": reference_profile("disc_early_academic")});
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let request =
            app.client.post(app.url("/v1/assessments")).header("idempotency-key", "race").json(&body);
        requests.spawn(async move { request.send().await.unwrap().status().as_u16() });
    }

    let statuses = requests.join_all().await;

    // Each request either stored the row, replayed it, or was told the first is still in flight.
    assert!(statuses.iter().all(|status| [201, 409].contains(status)), "{statuses:?}");
    assert!(statuses.contains(&201));
    assert_eq!(assessment_rows(&app).await, 1);
}

#[tokio::test]
async fn concurrent_identical_requests_get_one_stored_assessment_or_a_409_then_the_replay() {
    let app = spawn_app().await;
    let body = json!({"profile": reference_profile("disc_mature_allogeneic")});
    let send = || app.client.post(app.url("/v1/assessments")).header("idempotency-key", "burst").json(&body);
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let request = send();
        requests.spawn(async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
            let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
            (status, retry_after, content_type, response.json::<Value>().await.unwrap())
        });
    }

    let outcomes = requests.join_all().await;

    let mut stored_ids = HashSet::new();
    for (status, retry_after, content_type, body) in &outcomes {
        match status {
            201 => {
                stored_ids.insert(body["id"].as_str().unwrap().to_owned());
            }
            409 => {
                assert_eq!(body["type"], "/problems/idempotency-key-in-flight");
                assert_eq!(content_type, "application/problem+json");
                assert_eq!(retry_after.as_deref(), Some("1"), "a 409 says when to retry");
            }
            other => panic!("unexpected status {other}: {body}"),
        }
    }
    assert_eq!(stored_ids.len(), 1, "every 201 carries the same assessment");
    let replay = send().send().await.unwrap();
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    let replay: Value = replay.json().await.unwrap();
    assert!(stored_ids.contains(replay["id"].as_str().unwrap()));
    assert_eq!(assessment_rows(&app).await, 1);
}

#[tokio::test]
async fn concurrent_requests_with_one_key_and_different_bodies_store_one_row() {
    let app = spawn_app().await;
    let names = [
        "disc_early_academic",
        "disc_mature_allogeneic",
        "gvhd_approved_pediatric",
        "stroke_mapc_intravenous",
    ];
    let mut requests = tokio::task::JoinSet::new();
    for round in 0..4 {
        for name in names {
            let mut profile = reference_profile(name);
            profile["program"]["name"] = json!(format!("{name} {round}"));
            let request = app
                .client
                .post(app.url("/v1/assessments"))
                .header("idempotency-key", "contested")
                .json(&json!({"profile": profile}));
            requests.spawn(async move { request.send().await.unwrap().status().as_u16() });
        }
    }

    let statuses = requests.join_all().await;

    // One body wins; every other one is in flight beside it (409) or reuses its key (422).
    assert_eq!(statuses.iter().filter(|status| **status == 201).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|status| [201, 409, 422].contains(status)), "{statuses:?}");
    assert_eq!(assessment_rows(&app).await, 1);
}

#[tokio::test]
async fn unknown_and_malformed_ids_are_404_and_delete_removes_for_good() {
    let app = spawn_app().await;
    let created = app.submit(&reference_profile("disc_early_academic")).await;
    let path = format!("/v1/assessments/{}", created["id"].as_str().unwrap());

    assert_problem(app.get("/v1/assessments/not-a-uuid").await, 404).await;
    assert_problem(app.get("/v1/assessments/01890000-0000-7000-8000-000000000000").await, 404).await;
    assert_eq!(app.client.delete(app.url(&path)).send().await.unwrap().status(), 204);
    assert_problem(app.get(&path).await, 404).await;
    assert_problem(app.client.delete(app.url(&path)).send().await.unwrap(), 404).await;
}

#[tokio::test]
async fn rescoring_stores_a_linked_new_assessment_and_leaves_the_original_untouched() {
    let app = spawn_app().await;
    let original = app.submit(&reference_profile("disc_early_academic")).await;
    let id = original["id"].as_str().unwrap();

    let response = app.client.post(app.url(&format!("/v1/assessments/{id}/rescore"))).send().await.unwrap();

    assert_eq!(response.status(), 201);
    let rescored: Value = response.json().await.unwrap();
    assert_ne!(rescored["id"], original["id"]);
    assert_eq!(rescored["rescored_from"], original["id"]);
    assert_eq!(rescored["profile"], original["profile"]);
    let reread: Value = app.get(&format!("/v1/assessments/{id}")).await.json().await.unwrap();
    assert_eq!(reread, original);
}

#[tokio::test]
async fn compare_names_the_changed_inputs_behind_each_factor_change() {
    let app = spawn_app().await;
    let before = reference_profile("disc_early_academic");
    let mut after = before.clone();
    after["delivery"]["carrier"] = json!("hyaluronic_acid");
    let a = app.submit(&before).await;
    let b = app.submit(&after).await;

    let comparison: Value = app
        .get(&format!("/v1/assessments/{}/compare/{}", a["id"].as_str().unwrap(), b["id"].as_str().unwrap()))
        .await
        .json()
        .await
        .unwrap();

    let changed: Vec<&str> =
        comparison["input_changes"].as_array().unwrap().iter().map(|c| c["path"].as_str().unwrap()).collect();
    assert_eq!(changed, ["delivery.carrier"]);
    let survival =
        comparison["barriers"].as_array().unwrap().iter().find(|b| b["barrier"] == "survival").unwrap();
    assert!(survival["score"]["change"].as_f64().unwrap() > 0.0, "{survival}");
    let carrier_factor = survival["factors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| !f["caused_by"].as_array().unwrap().is_empty());
    assert_eq!(carrier_factor.unwrap()["caused_by"], json!(["delivery.carrier"]));
}

#[tokio::test]
async fn the_list_filters_sorts_and_pages_through_every_row_once_while_rows_are_added() {
    let app = spawn_app().await;
    let names = [
        "disc_early_academic",
        "disc_mature_allogeneic",
        "gvhd_approved_pediatric",
        "knee_oa_allogeneic_phase2",
    ];
    for round in 0..3 {
        for name in names {
            let mut profile = reference_profile(name);
            profile["program"]["name"] = json!(format!("{name} {round}"));
            app.submit(&profile).await;
        }
    }

    let mut seen = HashSet::new();
    let mut cursor: Option<String> = None;
    let mut previous_overall = f64::INFINITY;
    loop {
        let mut path = "/v1/assessments?sort=overall_index&order=desc&limit=5".to_owned();
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let page: Value = app.get(&path).await.json().await.unwrap();
        for item in page["items"].as_array().unwrap() {
            assert!(seen.insert(item["id"].as_str().unwrap().to_owned()), "row visited twice");
            let overall = item["overall_index"].as_f64().unwrap();
            assert!(overall <= previous_overall, "sorted descending");
            previous_overall = overall;
            assert!(item.get("result").is_none(), "summary rows by default");
        }
        // A row added mid-pagination must not make any row appear twice.
        app.submit(&reference_profile("disc_preclinical_startup")).await;
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert!(seen.len() >= 12, "every row present before paging was visited: {}", seen.len());

    let disc: Value = app
        .get("/v1/assessments?indication=intervertebral_disc_degeneration&limit=500")
        .await
        .json()
        .await
        .unwrap();
    assert!(
        disc["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|item| item["indication"] == "intervertebral_disc_degeneration")
    );
    let strong: Value =
        app.get("/v1/assessments?min_survival=60&max_outcomes=90&view=full").await.json().await.unwrap();
    for item in strong["items"].as_array().unwrap() {
        assert!(item["scores"]["survival"].as_f64().unwrap() >= 60.0);
        assert!(item["scores"]["outcomes"].as_f64().unwrap() <= 90.0);
        assert!(item["result"].is_object(), "view=full carries the result");
    }
}

#[tokio::test]
async fn bad_list_parameters_are_400() {
    let app = spawn_app().await;
    for query in [
        "limit=0",
        "limit=501",
        "sort=colour",
        "unknown_parameter=1",
        "cursor=not-a-cursor",
        "min_overall=120",
        "min_survival=101",
        "barrier=survival",
        "indication=gout",
    ] {
        assert_problem(app.get(&format!("/v1/assessments?{query}")).await, 400).await;
    }
    let page: Value = app.get("/v1/assessments?limit=1").await.json().await.unwrap();
    assert!(page["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_hand_written_cursor_is_a_position_beyond_the_end_an_empty_page_before_the_start_the_first() {
    let app = spawn_app().await;
    app.submit(&reference_profile("disc_early_academic")).await;
    app.submit(&reference_profile("disc_mature_allogeneic")).await;
    let program: Value =
        app.post_json("/v1/programs", &json!({"key": "P-1", "name": "P"})).await.json().await.unwrap();
    let body = json!({"program_id": program["id"], "profile": reference_profile("disc_early_academic")});
    assert_eq!(app.post_json("/v1/assessments", &body).await.status(), 201);
    let id = "ffffffff-ffff-ffff-ffff-ffffffffffff";
    let page = async |path: String| -> Value {
        let response = app.get(&path).await;
        assert_eq!(response.status(), 200, "{path}");
        response.json().await.unwrap()
    };
    let history = format!("/v1/programs/{}/assessments?limit=1", program["id"].as_str().unwrap());

    // The year 33658, and before 1970: beyond the end and before the start of every list in
    // creation order; a score above 100 and below 0 likewise for the score orders.
    for (list, after_end, before_start) in [
        ("/v1/assessments?limit=1&sort=created_at&order=asc", "999999999999.5~", "-1~"),
        ("/v1/assessments?limit=1&sort=created_at&order=desc", "-1~", "999999999999.5~"),
        ("/v1/assessments?limit=1&sort=overall_index&order=desc", "-0.5~", "100.25~"),
        ("/v1/assessments?limit=1&sort=survival&order=asc", "100.25~", "-0.5~"),
        ("/v1/programs?limit=1", "999999999999999.999999~", "-999999999999999~"),
        (history.as_str(), "999999999999999~", "0~"),
    ] {
        let empty = page(format!("{list}&cursor={after_end}{id}")).await;
        assert_eq!(empty["items"], json!([]), "{list}");
        assert!(empty["next_cursor"].is_null(), "{list}");
        let first = page(list.to_owned()).await;
        assert_eq!(first["items"].as_array().unwrap().len(), 1, "{list}");
        assert_eq!(page(format!("{list}&cursor={before_start}{id}")).await, first, "{list}");
    }
}

#[tokio::test]
async fn the_model_document_and_evidence_registry_are_served() {
    let app = spawn_app().await;

    let model: Value = app.get("/v1/model").await.json().await.unwrap();
    let evidence: Value = app.get("/v1/model/evidence").await.json().await.unwrap();

    assert_eq!(model["version"], msc_readiness::scoring::Model::current().version());
    assert!(evidence.as_array().unwrap().len() > 10);
}

#[tokio::test]
async fn the_stored_readiness_level_is_the_assessed_msc_trl_and_filters_the_list() {
    let app = spawn_app().await;
    let approved = app.submit(&reference_profile("gvhd_approved_pediatric")).await;
    let early = app.submit(&reference_profile("disc_early_academic")).await;
    // MSC-TRL 0 (level 1 not met) is stored as no level.
    let unmet = app.submit(&reference_profile("disc_preclinical_startup")).await;
    assert_eq!(approved["result"]["readiness"]["msc_trl"], 9);
    assert_eq!(early["result"]["readiness"]["msc_trl"], 3);
    assert_eq!(unmet["result"]["readiness"]["msc_trl"], 0);

    for (level, expected) in [(9, &approved), (3, &early)] {
        let page: Value =
            app.get(&format!("/v1/assessments?readiness_level={level}")).await.json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        let ids: Vec<&Value> = items.iter().map(|item| &item["id"]).collect();
        assert_eq!(ids, [&expected["id"]], "readiness_level={level}");
        assert_eq!(items[0]["readiness_level"], level);
    }
    let none: Value = app.get("/v1/assessments?readiness_level=5").await.json().await.unwrap();
    assert!(none["items"].as_array().unwrap().is_empty());
}

/// Issue 13: a stored profile of version 1 stays as submitted, re-scores under the current model,
/// and scores as its version 2 conversion does.
#[tokio::test]
async fn a_stored_version_1_profile_is_kept_as_sent_and_rescores_like_its_version_2_conversion() {
    let app = spawn_app().await;
    let (_, v1) = msc_readiness::scoring::REFERENCE_PROGRAMS_V1
        .iter()
        .find(|(name, _)| *name == "disc_early_academic")
        .expect("version 1 reference");
    let v1: Value = serde_json::from_str(v1).unwrap();
    let original = app.submit(&v1).await;
    assert_eq!(original["profile"], v1, "stored exactly as submitted");
    assert_eq!(original["profile"]["profile_version"], "1");

    let id = original["id"].as_str().unwrap();
    let response = app.client.post(app.url(&format!("/v1/assessments/{id}/rescore"))).send().await.unwrap();
    assert_eq!(response.status(), 201);
    let rescored: Value = response.json().await.unwrap();
    assert_eq!(rescored["profile"], v1, "re-scoring converts, it does not rewrite the stored profile");
    assert_eq!(rescored["model_version"], msc_readiness::scoring::Model::current().version());

    let v2 = app.submit(&reference_profile("disc_early_academic")).await;
    assert_eq!(v2["profile"]["profile_version"], "2");
    assert_eq!(rescored["result"], v2["result"], "version 1 scores as its version 2 conversion");
}

/// Submissions arriving together are stored as groups (`persistence::group_commit`): each must
/// still be stored once, audited once, refused alone when its program is not the caller's, and a
/// program's newest assessment must be its latest, whichever group stored it.
#[tokio::test]
async fn concurrent_submissions_are_each_stored_and_audited_once_and_each_program_keeps_one_latest() {
    let app = spawn_app().await;
    let first = app.insert_program(app.organisation, "P1").await;
    let second = app.insert_program(app.organisation, "P2").await;
    let stranger = app.insert_organisation("Another organisation").await;
    let foreign = app.insert_program(stranger, "P3").await;
    let profile = reference_profile("disc_early_academic");
    let mut requests = tokio::task::JoinSet::new();
    for round in 0..32 {
        let program = [None, Some(first), Some(second), Some(foreign)][round % 4];
        let request = app
            .client
            .post(app.url("/v1/assessments"))
            .header("prefer", "return=minimal")
            .json(&json!({"profile": profile, "program_id": program}));
        requests.spawn(async move {
            let response = request.send().await.unwrap();
            (program, response.status().as_u16(), response.json::<Value>().await.unwrap())
        });
    }
    let answers = requests.join_all().await;

    let mut created = Vec::new();
    for (program, status, body) in &answers {
        if *program == Some(foreign) {
            assert_eq!(*status, 404, "{body}");
            continue;
        }
        assert_eq!(*status, 201, "{body}");
        let expected_key = match program {
            Some(program) if *program == first => json!("P1"),
            Some(_) => json!("P2"),
            None => Value::Null,
        };
        assert_eq!(body["program_key"], expected_key, "{body}");
        created.push(uuid::Uuid::parse_str(body["id"].as_str().unwrap()).unwrap());
    }
    created.sort_unstable();
    assert_eq!(created.len(), 24);

    let mut database = app.database().await;
    let mut stored: Vec<uuid::Uuid> =
        sqlx::query_scalar("SELECT id FROM assessments ORDER BY id").fetch_all(&mut database).await.unwrap();
    stored.dedup();
    assert_eq!(stored, created, "every 201 is a stored row, and nothing else was stored");
    let audited: Vec<uuid::Uuid> = sqlx::query_scalar(
        "SELECT resource_id FROM audit_events WHERE action = 'assessment.created' ORDER BY resource_id",
    )
    .fetch_all(&mut database)
    .await
    .unwrap();
    assert_eq!(audited, created, "one audit event for each stored assessment");
    for program in [first, second] {
        let latest: Vec<uuid::Uuid> =
            sqlx::query_scalar("SELECT id FROM assessments WHERE program_id = $1 AND latest")
                .bind(program)
                .fetch_all(&mut database)
                .await
                .unwrap();
        let newest: uuid::Uuid = sqlx::query_scalar(
            "SELECT id FROM assessments WHERE program_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1",
        )
        .bind(program)
        .fetch_one(&mut database)
        .await
        .unwrap();
        assert_eq!(latest, vec![newest], "a program's one latest assessment is its newest");
        let distinct_times: i64 =
            sqlx::query_scalar("SELECT count(DISTINCT created_at) FROM assessments WHERE program_id = $1")
                .bind(program)
                .fetch_one(&mut database)
                .await
                .unwrap();
        assert_eq!(distinct_times, 8, "a program's history has one creation time per assessment");
    }
}

#[tokio::test]
async fn concurrent_submissions_of_two_organisations_are_each_stored_in_their_own_with_their_score_counts() {
    // Groups of two organisations interleaved on the same writers, several rows a statement: each
    // row is stored in its own organisation and queues its own score-count changes. (That a kept
    // connection changes scope is checked directly in the row-security test of `access.rs`: here a
    // wrong scope would be healed by the retry of each submission alone.) Nothing folds the queued
    // changes while the test counts them.
    let mut settings = test_settings();
    settings.stats_fold_interval = None;
    let app = spawn_app_with(settings).await;
    let other = app.client_with(&app.new_key("Interleaved organisation", "read,write").await);
    let profile = reference_profile("disc_early_academic");
    let mut requests = tokio::task::JoinSet::new();
    for round in 0..32 {
        let client = if round % 2 == 0 { app.client.clone() } else { other.clone() };
        let request = client
            .post(app.url("/v1/assessments"))
            .header("prefer", "return=minimal")
            .json(&json!({"profile": profile}));
        requests.spawn(async move {
            let response = request.send().await.unwrap();
            (round % 2, response.status().as_u16(), response.json::<Value>().await.unwrap())
        });
    }
    let mut created: [Vec<String>; 2] = Default::default();
    for (side, status, body) in requests.join_all().await {
        assert_eq!(status, 201, "{body}");
        created[side].push(body["id"].as_str().unwrap().to_owned());
    }
    for (side, client) in [&app.client, &other].into_iter().enumerate() {
        let listed: Value =
            client.get(app.url("/v1/assessments?limit=100")).send().await.unwrap().json().await.unwrap();
        let mut ids: Vec<String> = listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row["id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort_unstable();
        created[side].sort_unstable();
        assert_eq!(ids, created[side], "each organisation sees exactly the assessments it submitted");
    }
    // Every row, however many shared its statement, queued one change into each selection (all
    // of them are their own latest: no program), under its own organisation.
    let queued: Vec<(uuid::Uuid, String, i64, i64)> = sqlx::query_as(
        "SELECT organisation_id, selection, count(*), sum(delta) FROM score_count_changes
         GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .fetch_all(&mut app.database().await)
    .await
    .unwrap();
    assert_eq!(queued.len(), 4, "{queued:?}");
    for (organisation, selection, count, delta) in &queued {
        let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM assessments WHERE organisation_id = $1")
            .bind(organisation)
            .fetch_one(&mut app.database().await)
            .await
            .unwrap();
        assert_eq!((stored, *count, *delta), (16, 16, 16), "{selection} of {organisation}");
    }
}
