//! Issue 16: results stored packed (compact against their model version's dictionary, then zstd
//! with the profile) read back byte-identical to the forms stored before; response shaping with
//! `Prefer`, `detail` and `evidence`.

use serde_json::{Value, json};
use uuid::Uuid;

use msc_readiness::persistence::packing::Packing;

use crate::helpers::{TestApp, assert_problem, reference_profile, spawn_app};

/// The bytes of the `result` member of a record: the last member, so everything after its name
/// up to the closing brace of the record.
fn result_bytes(body: &str) -> &str {
    let (_, result) = body.split_once("\"result\":").expect("the record has a result");
    result.strip_suffix('}').expect("the result closes the record")
}

async fn get_body(app: &TestApp, id: &str) -> String {
    let response = app.get(&format!("/v1/assessments/{id}")).await;
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

/// How rows were stored before the packed form: the result whole (before issue 16), or compact
/// against the model version's dictionary (between migrations 0006 and 0009); the profile as jsonb.
enum EarlierForm<'a> {
    Whole(&'a Value),
    Compact(&'a Value),
}

/// Copies a stored assessment under a new id, stored in an earlier form.
async fn store_copy(
    app: &TestApp,
    id: &str,
    model_version: &str,
    profile: &Value,
    form: EarlierForm<'_>,
) -> Uuid {
    let copy = Uuid::now_v7();
    let (whole, compact) = match form {
        EarlierForm::Whole(result) => (Some(result), None),
        EarlierForm::Compact(compact) => (None, Some(compact)),
    };
    sqlx::query(
        "INSERT INTO assessments (id, organisation_id, model_version, profile, result, result_compact, indication,
           stage, tissue_source, route, overall_index, readiness_level, limiting_barrier, survival, retention,
           variability, scalability, safety, outcomes, regulatory)
         SELECT $1, organisation_id, $3, $4, $5, $6, indication, stage, tissue_source, route, overall_index,
           readiness_level, limiting_barrier, survival, retention, variability, scalability, safety, outcomes,
           regulatory
         FROM assessments WHERE id = $2",
    )
    .bind(copy)
    .bind(Uuid::parse_str(id).unwrap())
    .bind(model_version)
    .bind(profile)
    .bind(whole)
    .bind(compact)
    .execute(&mut app.database().await)
    .await
    .expect("copy stored");
    copy
}

#[tokio::test]
async fn packed_results_read_back_byte_identical_to_the_forms_stored_before() {
    let app = spawn_app().await;
    for program in
        ["disc_early_academic", "disc_mature_allogeneic", "gvhd_approved_pediatric", "als_failed_pivotal"]
    {
        let response =
            app.post_json("/v1/assessments", &json!({"profile": reference_profile(program)})).await;
        assert_eq!(response.status(), 201);
        let created = response.text().await.unwrap();
        let record: Value = serde_json::from_str(&created).unwrap();
        let id = record["id"].as_str().unwrap();

        let (unpacked_columns, packed, dictionary): (bool, Vec<u8>, Vec<u8>) = sqlx::query_as(
            "SELECT profile IS NOT NULL OR result IS NOT NULL OR result_compact IS NOT NULL, packed,
               (SELECT dictionary FROM packing_dictionaries WHERE model_version = assessments.model_version)
             FROM assessments WHERE id = $1",
        )
        .bind(Uuid::parse_str(id).unwrap())
        .fetch_one(&mut app.database().await)
        .await
        .unwrap();
        assert!(!unpacked_columns, "{program}: stored packed only");
        let full_size = result_bytes(&created).len() + record["profile"].to_string().len();
        assert!(packed.len() * 10 < full_size, "{program}: packed {} B of {full_size} B", packed.len());
        let document =
            Packing::new(&dictionary).unpack(&packed).expect("unpacks with its version's dictionary");
        assert_eq!(document.profile, record["profile"], "{program}: the profile as received");
        let compact = document.compact.expect("the result packed compact");

        // The same assessment stored in each earlier form reads back the same bytes: whole under
        // the same version and under a version this database has no dictionary for, and compact.
        let version = record["model_version"].as_str().unwrap();
        for (stored_as, form) in [
            (version, EarlierForm::Whole(&record["result"])),
            ("0.9.0", EarlierForm::Whole(&record["result"])),
            (version, EarlierForm::Compact(&compact)),
        ] {
            let copy = store_copy(&app, id, stored_as, &record["profile"], form).await;
            let earlier_body = get_body(&app, &copy.to_string()).await;
            let packed_body = get_body(&app, id).await;
            assert_eq!(
                result_bytes(&packed_body),
                result_bytes(&earlier_body),
                "{program} under {stored_as}"
            );
            assert_eq!(packed_body, created, "{program}: GET reads back the 201's bytes");
        }
    }
}

#[tokio::test]
async fn the_list_hydrates_compact_results_in_the_full_view() {
    let app = spawn_app().await;
    let created = app.submit(&reference_profile("disc_early_academic")).await;

    let page: Value = app.get("/v1/assessments?view=full").await.json().await.unwrap();

    assert_eq!(page["items"][0]["result"], created["result"]);
    assert_eq!(page["items"][0]["profile"], created["profile"]);
}

#[tokio::test]
async fn the_model_version_is_stored_once_and_cannot_be_changed() {
    let app = spawn_app().await;
    let mut model: Value = app.get("/v1/model").await.json().await.unwrap();
    // The served labels are presentation and are not part of the stored model.
    assert!(model.as_object_mut().unwrap().remove("labels").is_some());
    let mut database = app.database().await;

    let (count, document): (i64, Value) =
        sqlx::query_as("SELECT count(*), min(document::text)::jsonb FROM model_versions WHERE version = $1")
            .bind(model["version"].as_str().unwrap())
            .fetch_one(&mut database)
            .await
            .unwrap();
    assert_eq!(count, 1);
    assert_eq!(document, model);

    for change in [
        "UPDATE model_versions SET dictionary = '{}'",
        "DELETE FROM model_versions",
        "UPDATE packing_dictionaries SET dictionary = ''",
        "DELETE FROM packing_dictionaries",
    ] {
        let refused = sqlx::query(change).execute(&mut database).await;
        assert!(refused.is_err(), "{change} must be refused");
    }
}

#[tokio::test]
async fn prefer_return_minimal_answers_the_summary_with_preference_applied() {
    let app = spawn_app().await;
    let body = json!({"profile": reference_profile("disc_early_academic")});

    let response = app
        .client
        .post(app.url("/v1/assessments"))
        .header("Prefer", "respond-async, RETURN=minimal; x=1")
        .json(&body)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["preference-applied"], "return=minimal");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let summary: Value = response.json().await.unwrap();
    assert_eq!(location, format!("/v1/assessments/{}", summary["id"].as_str().unwrap()));
    assert!(summary.get("result").is_none() && summary.get("profile").is_none(), "{summary}");
    assert!(summary["scores"]["survival"].is_number(), "{summary}");

    let read: Value = app.get(&format!("{location}?detail=summary")).await.json().await.unwrap();
    assert_eq!(read, summary, "detail=summary is the row the minimal response returned");
    let full: Value = app.get(&location).await.json().await.unwrap();
    assert_eq!(full["result"]["overall"]["readiness_index"], summary["overall_index"]);

    let rescored = app
        .client
        .post(app.url(&format!("{location}/rescore")))
        .header("Prefer", "return=minimal")
        .send()
        .await
        .unwrap();
    assert_eq!(rescored.status(), 201);
    assert_eq!(rescored.headers()["preference-applied"], "return=minimal");
    let rescored: Value = rescored.json().await.unwrap();
    assert_eq!(rescored["rescored_from"], summary["id"]);
    assert!(rescored.get("result").is_none());
}

#[tokio::test]
async fn without_return_minimal_the_full_record_comes_back_and_no_preference_is_applied() {
    let app = spawn_app().await;
    let body = json!({"profile": reference_profile("disc_early_academic")});

    let response = app
        .client
        .post(app.url("/v1/assessments"))
        .header("Prefer", "return=representation")
        .json(&body)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 201);
    assert!(response.headers().get("preference-applied").is_none());
    let record: Value = response.json().await.unwrap();
    assert!(record["result"]["barriers"].is_array());
    let id = record["id"].as_str().unwrap();
    assert_problem(app.get(&format!("/v1/assessments/{id}?detail=everything")).await, 400).await;
    assert_problem(app.get(&format!("/v1/assessments/{id}?details=full")).await, 400).await;
}

#[tokio::test]
async fn a_cited_claim_resolves_through_the_evidence_endpoint() {
    let app = spawn_app().await;
    let result: Value = app
        .post_json("/v1/score", &json!({"profile": reference_profile("disc_early_academic")}))
        .await
        .json()
        .await
        .unwrap();
    let claim = result["barriers"][0]["factors"][0]["evidence"][0]["claim_id"].as_str().unwrap();

    let response = app.get(&format!("/v1/model/evidence/{claim}")).await;

    assert_eq!(response.status(), 200);
    let entry: Value = response.json().await.unwrap();
    assert_eq!(entry["id"], claim);
    assert_eq!(
        entry["verification_status"],
        result["barriers"][0]["factors"][0]["evidence"][0]["verification_status"]
    );
    let missing = assert_problem(app.get("/v1/model/evidence/NO-SUCH-CLAIM").await, 404).await;
    assert!(missing["detail"].as_str().unwrap().contains("NO-SUCH-CLAIM"), "{missing}");
}

#[tokio::test]
async fn a_full_view_page_holds_at_most_50_rows_and_its_cursor_continues() {
    let app = spawn_app().await;
    let times: Vec<String> =
        (0..60).map(|minute| format!("2026-01-01T{:02}:{:02}:00Z", minute / 60, minute % 60)).collect();
    let rows: Vec<crate::helpers::StoredRow> = times
        .iter()
        .map(|created_at| crate::helpers::StoredRow {
            organisation: app.organisation,
            program: None,
            overall: 50.0,
            survival: 50.0,
            limiting_barrier: "survival",
            indication: None,
            created_at,
            latest: false,
        })
        .collect();
    app.insert_rows(&rows).await;

    let first: Value = app.get("/v1/assessments?view=full&limit=500").await.json().await.unwrap();
    assert_eq!(first["items"].as_array().unwrap().len(), 50);
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest: Value =
        app.get(&format!("/v1/assessments?view=full&limit=500&cursor={cursor}")).await.json().await.unwrap();
    assert_eq!(rest["items"].as_array().unwrap().len(), 10);
    assert!(rest["next_cursor"].is_null());
    let summary: Value = app.get("/v1/assessments?limit=500").await.json().await.unwrap();
    assert_eq!(summary["items"].as_array().unwrap().len(), 60, "the summary view is not capped");
}

/// Every `evidence` list of a result, in document order.
fn evidence_lists(value: &Value, lists: &mut Vec<Vec<Value>>) {
    match value {
        Value::Object(fields) => {
            for (field, member) in fields {
                match (field.as_str(), member) {
                    ("evidence", Value::Array(items)) => lists.push(items.clone()),
                    _ => evidence_lists(member, lists),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| evidence_lists(item, lists)),
        _ => {}
    }
}

/// The claim ids of every evidence list of a result written with full citations.
fn cited_claim_ids(result: &Value) -> Vec<Vec<Value>> {
    let mut lists = Vec::new();
    evidence_lists(result, &mut lists);
    lists.into_iter().map(|list| list.iter().map(|citation| citation["claim_id"].clone()).collect()).collect()
}

fn without_evidence(result: &Value) -> Value {
    let mut copy = result.clone();
    fn strip(value: &mut Value) {
        match value {
            Value::Object(fields) => {
                fields.remove("evidence");
                fields.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut copy);
    copy
}

#[tokio::test]
async fn evidence_as_ids_names_the_same_claims_in_a_fraction_of_the_bytes() {
    let app = spawn_app().await;
    let body = json!({"profile": reference_profile("disc_early_academic")});
    let full_text = app.post_json("/v1/score", &body).await.text().await.unwrap();
    let ids_response = app.post_json("/v1/score?evidence=ids", &body).await;
    assert_eq!(ids_response.status(), 200);
    let ids_text = ids_response.text().await.unwrap();
    let (full, ids): (Value, Value) =
        (serde_json::from_str(&full_text).unwrap(), serde_json::from_str(&ids_text).unwrap());

    let mut id_lists = Vec::new();
    evidence_lists(&ids, &mut id_lists);
    assert_eq!(id_lists, cited_claim_ids(&full), "the same claims, in the same places");
    assert!(id_lists.iter().flatten().all(Value::is_string));
    assert_eq!(without_evidence(&ids), without_evidence(&full), "nothing else changes");
    assert!(
        ids_text.len() * 10 < full_text.len() * 8,
        "{} bytes against {}",
        ids_text.len(),
        full_text.len()
    );

    // Stored, read and listed: the same form on request, the full form by default.
    let created: Value = app.post_json("/v1/assessments?evidence=ids", &body).await.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    assert_eq!(without_evidence(&created["result"]), without_evidence(&full));
    let mut created_lists = Vec::new();
    evidence_lists(&created["result"], &mut created_lists);
    assert_eq!(created_lists, id_lists);
    let read: Value = app.get(&format!("/v1/assessments/{id}?evidence=ids")).await.json().await.unwrap();
    assert_eq!(read["result"], created["result"]);
    let listed: Value = app.get("/v1/assessments?view=full&evidence=ids").await.json().await.unwrap();
    assert_eq!(listed["items"][0]["result"], created["result"]);
    let default: Value = app.get(&format!("/v1/assessments/{id}")).await.json().await.unwrap();
    assert_eq!(cited_claim_ids(&default["result"]), id_lists);

    assert_problem(app.post_json("/v1/score?evidence=titles", &body).await, 400).await;
}

#[tokio::test]
async fn a_claim_resolves_in_the_registry_of_the_model_version_named() {
    let app = spawn_app().await;
    let model: Value = app.get("/v1/model").await.json().await.unwrap();
    let version = model["version"].as_str().unwrap();
    let claim = model["evidence"][0]["id"].as_str().unwrap();

    let stored: Value =
        app.get(&format!("/v1/model/evidence/{claim}?model_version={version}")).await.json().await.unwrap();
    let current: Value = app.get(&format!("/v1/model/evidence/{claim}")).await.json().await.unwrap();
    assert_eq!(stored, current);
    assert_eq!(stored, model["evidence"][0]);

    // An older version's registry is read from its stored document.
    sqlx::query(
        "INSERT INTO model_versions (version, document, dictionary)
         VALUES ('0.9.0', jsonb_build_object('evidence', jsonb_build_array(jsonb_build_object('id', 'OLD-1', 'claim', 'then'))), '{}')",
    )
    .execute(&mut app.database().await)
    .await
    .unwrap();
    let old: Value = app.get("/v1/model/evidence/OLD-1?model_version=0.9.0").await.json().await.unwrap();
    assert_eq!(old, json!({"id": "OLD-1", "claim": "then"}));
    let missing =
        assert_problem(app.get(&format!("/v1/model/evidence/{claim}?model_version=0.9.0")).await, 404).await;
    assert!(missing["detail"].as_str().unwrap().contains("0.9.0"), "{missing}");
    let unknown = assert_problem(app.get("/v1/model/evidence/OLD-1?model_version=0.0.1").await, 404).await;
    assert!(unknown["detail"].as_str().unwrap().contains("no model version 0.0.1"), "{unknown}");
    assert_problem(app.get("/v1/model/evidence/OLD-1?model_version=%00").await, 400).await;
}
