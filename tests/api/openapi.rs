//! The committed `openapi/openapi.json` is what the code generates.
//! Regenerate with: `UPDATE_OPENAPI=1 cargo test --test api openapi`

use crate::helpers::spawn_app;

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");

#[test]
fn the_committed_spec_matches_the_code() {
    let generated = msc_readiness::api::openapi::spec().to_pretty_json().expect("spec serialises") + "\n";
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(COMMITTED, &generated).expect("openapi/openapi.json written");
        return;
    }
    let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/openapi.json is out of date; regenerate it with: UPDATE_OPENAPI=1 cargo test --test api openapi"
    );
}

#[tokio::test]
async fn the_served_spec_is_the_generated_one_and_the_docs_are_served() {
    let app = spawn_app().await;

    let served: serde_json::Value = app.get("/openapi.json").await.json().await.unwrap();
    let generated = serde_json::to_value(msc_readiness::api::openapi::spec()).unwrap();
    assert_eq!(served, generated);
    assert_eq!(served["openapi"], "3.1.0");

    let docs = app.get("/docs/").await;
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger-ui"));
    assert_eq!(app.get("/docs").await.status(), 200, "/docs redirects to the UI");
}

#[tokio::test]
async fn the_documented_examples_work_when_sent_and_every_documented_enum_value_is_accepted() {
    let app = spawn_app().await;
    let spec: serde_json::Value = serde_json::to_value(msc_readiness::api::openapi::spec()).unwrap();
    let schemas = &spec["components"]["schemas"];

    let score = app.post_json("/v1/score", &schemas["ScoreRequest"]["example"]).await;
    assert_eq!(score.status(), 200, "Try it out on /v1/score");
    let submit = app.post_json("/v1/assessments", &schemas["AssessmentSubmission"]["example"]).await;
    assert_eq!(submit.status(), 201, "Try it out on /v1/assessments");
    // Every named worked example of both scoring endpoints scores as sent, in both versions.
    for path in ["/v1/score", "/v1/assessments"] {
        let examples = spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]["examples"]
            .as_object()
            .expect("named examples");
        assert!(examples.len() >= 4, "{path}: the worked examples");
        for (name, example) in examples {
            let response = app.post_json(path, &example["value"]).await;
            assert!(response.status().is_success(), "{path} example {name}: {}", response.status());
            let body: serde_json::Value = response.json().await.unwrap();
            let assessment = if path == "/v1/score" { &body } else { &body["result"] };
            assert!(assessment["readiness"]["msc_trl"].is_u64(), "{path} example {name} is scored");
        }
    }
    let import = app
        .post_json("/v1/profiles/trial-from-registry", &schemas["ClinicalTrialsGovStudy"]["example"])
        .await;
    assert_eq!(import.status(), 200, "Try it out on /v1/profiles/trial-from-registry");
    let import: serde_json::Value = import.json().await.unwrap();
    assert_eq!(import, schemas["TrialImport"]["example"], "the documented answer is the one sent");

    // The wire names in the spec are the ones the service accepts.
    for (schema, section, field) in [
        ("Route", "delivery", "route"),
        ("Indication", "program", "indication"),
        ("TissueSource", "cell_source", "tissue_source"),
    ] {
        for value in schemas[schema]["enum"].as_array().unwrap() {
            let body = serde_json::json!({"profile": {section: {field: value}}});
            assert_eq!(app.post_json("/v1/score", &body).await.status(), 200, "{schema} value {value}");
        }
    }
}
