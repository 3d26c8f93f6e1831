//! What a portfolio review meeting relies on (issue 18): programs as the unit of the list and the
//! exports, readable labels, and the printable report.

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, reference_profile, spawn_app};

/// Submits `profile` under a new program and returns (program id, assessment record).
async fn submit_under_program(
    app: &TestApp,
    key: &str,
    name: &str,
    profiles: &[Value],
) -> (String, Vec<Value>) {
    let program: Value =
        app.post_json("/v1/programs", &json!({"key": key, "name": name})).await.json().await.unwrap();
    let id = program["id"].as_str().unwrap().to_owned();
    let mut records = Vec::new();
    for profile in profiles {
        let response = app.post_json("/v1/assessments", &json!({"program_id": id, "profile": profile})).await;
        assert_eq!(response.status(), 201);
        records.push(response.json().await.unwrap());
    }
    (id, records)
}

#[tokio::test]
async fn the_list_and_exports_name_the_program_and_show_its_latest_assessment_on_request() {
    let app = spawn_app().await;
    let disc = [reference_profile("disc_early_academic"), reference_profile("disc_mature_allogeneic")];
    let (program_id, records) = submit_under_program(&app, "DISC-101", "Disc program", &disc).await;
    app.submit(&reference_profile("ms_bm_iv_phase2")).await;

    let every: Value = app.get("/v1/assessments").await.json().await.unwrap();
    let latest: Value = app.get("/v1/assessments?latest=true").await.json().await.unwrap();

    assert_eq!(every["items"].as_array().unwrap().len(), 3);
    let latest = latest["items"].as_array().unwrap();
    assert_eq!(latest.len(), 2, "one row per program, and the assessment filed under none");
    let disc_row = latest.iter().find(|row| row["program_id"] == program_id.as_str()).unwrap();
    assert_eq!(disc_row["id"], records[1]["id"], "the program's newest assessment");
    assert_eq!(
        (disc_row["program_key"].as_str(), disc_row["program_name"].as_str()),
        (Some("DISC-101"), Some("Disc program"))
    );

    let csv = app.get("/v1/exports/assessments.csv?latest=true").await.text().await.unwrap();
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().starts_with("id,program_id,program_key,program_name,"));
    assert_eq!(csv.lines().filter(|line| line.contains(",DISC-101,Disc program,")).count(), 1, "{csv}");
    let ndjson = app.get("/v1/exports/assessments.ndjson").await.text().await.unwrap();
    let keyed = ndjson
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|row| row["program_key"] == "DISC-101")
        .count();
    assert_eq!(keyed, 2);
}

#[tokio::test]
async fn the_model_document_labels_every_enum_value_a_person_sees() {
    let app = spawn_app().await;

    let model: Value = app.get("/v1/model").await.json().await.unwrap();

    let label = |field: &str, value: &str| {
        model["labels"][field]
            .as_array()
            .and_then(|values| values.iter().find(|entry| entry["value"] == value))
            .map(|entry| entry["label"].as_str().unwrap().to_owned())
    };
    assert_eq!(label("stage", "phase1_2").as_deref(), Some("Phase 1/2 trial"));
    assert_eq!(label("indication", "als").as_deref(), Some("Amyotrophic lateral sclerosis"));
    assert_eq!(label("verification_status", "seed_asserted").as_deref(), Some("Seed asserted"));
    let stages = model["labels"]["stage"].as_array().unwrap().len();
    let schema = serde_json::to_value(msc_readiness::api::openapi::spec()).unwrap();
    assert_eq!(stages, schema["components"]["schemas"]["DevelopmentStage"]["enum"].as_array().unwrap().len());
}

#[tokio::test]
async fn the_report_shows_what_a_steering_committee_reads() {
    let app = spawn_app().await;
    let (_, records) = submit_under_program(
        &app,
        "STROKE-3",
        "Stroke program",
        &[reference_profile("stroke_mapc_intravenous")],
    )
    .await;
    let id = records[0]["id"].as_str().unwrap();

    let response = app.get(&format!("/v1/assessments/{id}/report")).await;

    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = response.text().await.unwrap();
    for part in [
        "STROKE-3 · Stroke program",
        "Readiness index",
        "Limiting barrier",
        "MSC-TRL",
        "Top mitigations",
        "Warnings",
        "Inputs",
        "report.css",
    ] {
        assert!(html.contains(part), "the report shows {part}");
    }
    let model_version = records[0]["model_version"].as_str().unwrap();
    assert!(html.contains(&format!("model {model_version}")));
    assert!(!html.contains("phase1_2") && !html.contains("seed_asserted"), "labels, not wire names");
    // Factor levels by their labels in the model, not by their keys.
    let model: Value = app.get("/v1/model").await.json().await.unwrap();
    let level_labels: Vec<String> = records[0]["result"]["barriers"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|barrier| barrier["factors"].as_array().unwrap().iter())
        .filter_map(|factor| {
            let definition = model["factors"]
                .as_array()
                .unwrap()
                .iter()
                .find(|definition| definition["code"] == factor["factor"])?;
            let level =
                definition["levels"].as_array()?.iter().find(|level| level["key"] == factor["level"])?;
            Some(level["label"].as_str()?.to_owned())
        })
        .filter(|label| !label.contains(['&', '<', '>', '"']))
        .collect();
    assert!(!level_labels.is_empty());
    for label in level_labels {
        assert!(html.contains(&label), "the report names the level {label}");
    }
    let unknown = app.get("/v1/assessments/01890000-0000-7000-8000-000000000000/report").await;
    assert_problem(unknown, 404).await;
}

#[test]
fn the_spec_generates_clean_clients() {
    let spec = serde_json::to_value(msc_readiness::api::openapi::spec()).unwrap();
    let schemas = spec["components"]["schemas"].as_object().unwrap();

    // Every oneOf of objects names its variants and says which property tells them apart.
    for (name, schema) in schemas {
        let Some(variants) = schema["oneOf"].as_array() else { continue };
        let discriminator = &schema["discriminator"];
        assert!(discriminator["propertyName"].is_string(), "{name} has a discriminator");
        for variant in variants {
            let reference = variant["$ref"].as_str().unwrap_or_else(|| panic!("{name}: a named variant"));
            let target = reference.trim_start_matches("#/components/schemas/");
            assert!(schemas.contains_key(target), "{name}: {target} exists");
            assert!(discriminator["mapping"].as_object().unwrap().values().any(|mapped| mapped == reference));
        }
    }
    assert_eq!(schemas["GateTest"]["discriminator"]["propertyName"], "kind");
    // Typed values of a changed input.
    let from = &schemas["InputChange"]["properties"]["from"];
    assert!(from["oneOf"].as_array().is_some_and(|types| types.len() == 5), "{from}");
    // Every parameter says what it is for.
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let described = parameter["description"].as_str().is_some_and(|text| !text.is_empty());
                assert!(described, "{method} {path}: parameter {} has a description", parameter["name"]);
            }
        }
    }
    // Media types as served: SVG charts and newline-delimited JSON (a string, read line by line).
    let ndjson = &spec["paths"]["/v1/exports/assessments.ndjson"]["get"]["responses"]["200"]["content"];
    assert_eq!(ndjson["application/x-ndjson"]["schema"]["type"], "string");
    let chart = &spec["paths"]["/v1/assessments/{id}/chart.svg"]["get"]["responses"]["200"]["content"];
    assert!(chart["image/svg+xml"].is_object());
    let stage = schemas["DevelopmentStage"]["description"].as_str().unwrap();
    assert!(stage.contains("`phase1_2`: Phase 1/2 trial"), "the API docs label enum values: {stage}");
    let metrics = spec["components"]["securitySchemes"]["metrics_token"]["description"].as_str().unwrap();
    assert!(metrics.starts_with("Operators only"), "{metrics}");
}

#[tokio::test]
async fn a_trend_of_one_day_tells_its_assessments_apart_by_time() {
    let app = spawn_app().await;
    let disc = [reference_profile("disc_early_academic"), reference_profile("disc_mature_allogeneic")];
    let (program_id, records) = submit_under_program(&app, "DISC-9", "Disc program", &disc).await;

    let svg = app.get(&format!("/v1/programs/{program_id}/trend.svg")).await.text().await.unwrap();

    for record in records {
        let created: chrono::DateTime<chrono::Utc> = record["created_at"].as_str().unwrap().parse().unwrap();
        let label = created.format("%Y-%m-%d %H:%M").to_string();
        assert!(svg.contains(&label), "the axis names {label}");
    }
}
