use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::helpers::{StoredRow, TestApp, assert_problem, reference_profile, spawn_app};

const COLUMNS: [&str; 21] = [
    "id",
    "program_id",
    "program_key",
    "program_name",
    "rescored_from",
    "model_version",
    "created_at",
    "indication",
    "stage",
    "tissue_source",
    "route",
    "overall_index",
    "readiness_level",
    "limiting_barrier",
    "survival",
    "retention",
    "variability",
    "scalability",
    "safety",
    "outcomes",
    "regulatory",
];

async fn download(app: &TestApp, path: &str, content_type: &str, filename: &str) -> String {
    let response = app.get(path).await;
    assert_eq!(response.status(), 200, "{path}");
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with(content_type));
    assert_eq!(response.headers()["content-disposition"], format!("attachment; filename=\"{filename}\""));
    response.text().await.unwrap()
}

fn parse_csv(text: &str) -> (Vec<String>, Vec<csv::StringRecord>) {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().iter().map(str::to_owned).collect();
    (header, reader.records().map(Result::unwrap).collect())
}

/// The list item's value of a CSV column, as CSV text (empty when null).
fn list_value(item: &Value, column: &str) -> Value {
    let value = if item.get(column).is_some() { &item[column] } else { &item["scores"][column] };
    value.clone()
}

async fn seed_through_the_api(app: &TestApp) -> Vec<Value> {
    let program: Value =
        app.post_json("/v1/programs", &json!({"key": "P-1", "name": "One"})).await.json().await.unwrap();
    let body = json!({"program_id": program["id"], "profile": reference_profile("disc_early_academic")});
    let first: Value = app.post_json("/v1/assessments", &body).await.json().await.unwrap();
    let path = format!("/v1/assessments/{}/rescore", first["id"].as_str().unwrap());
    assert_eq!(app.post_json(&path, &json!({})).await.status(), 201);
    for name in ["gvhd_approved_pediatric", "stroke_mapc_intravenous", "knee_oa_allogeneic_phase2"] {
        app.submit(&reference_profile(name)).await;
    }
    let list: Value = app.get("/v1/assessments?limit=500&order=asc").await.json().await.unwrap();
    list["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn the_csv_export_parses_back_to_the_values_of_the_list() {
    let app = spawn_app().await;
    let items = seed_through_the_api(&app).await;

    let text = download(&app, "/v1/exports/assessments.csv", "text/csv", "assessments.csv").await;

    assert!(text.ends_with("\r\n"), "RFC 4180 line ends");
    let (header, records) = parse_csv(&text);
    assert_eq!(header, COLUMNS);
    assert_eq!(records.len(), items.len());
    for (record, item) in records.iter().zip(&items) {
        for (column, field) in COLUMNS.iter().zip(record.iter()) {
            let expected = list_value(item, column);
            match expected {
                Value::Null => assert_eq!(field, "", "{column}"),
                Value::Number(number) => {
                    assert_eq!(field.parse::<f64>().unwrap(), number.as_f64().unwrap(), "{column}")
                }
                Value::String(text) if *column == "created_at" => assert_eq!(
                    field.parse::<DateTime<Utc>>().unwrap(),
                    text.parse::<DateTime<Utc>>().unwrap()
                ),
                Value::String(text) => assert_eq!(field, text, "{column}"),
                other => panic!("{column}: unexpected {other}"),
            }
        }
    }
    assert!(!records[1][2].is_empty(), "the re-score names the assessment it re-scored");
}

#[tokio::test]
async fn ndjson_lines_are_the_items_of_the_list() {
    let app = spawn_app().await;
    let items = seed_through_the_api(&app).await;

    let text =
        download(&app, "/v1/exports/assessments.ndjson", "application/x-ndjson", "assessments.ndjson").await;

    let lines: Vec<Value> = text.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(lines, items);
}

#[tokio::test]
async fn exports_page_through_every_row_of_the_organisation_and_apply_the_filters() {
    let app = spawn_app().await;
    let other = app.insert_organisation("other").await;
    // More rows than one database page (1,000), some of them another organisation's.
    let times: Vec<String> = (0..2_345).map(|i| format!("2026-01-01T00:00:00.{i:06}Z")).collect();
    let rows: Vec<StoredRow> = times
        .iter()
        .enumerate()
        .map(|(i, created_at)| StoredRow {
            organisation: if i % 10 == 9 { other } else { app.organisation },
            program: None,
            overall: (i % 1000) as f64 / 10.0,
            survival: 50.0,
            limiting_barrier: "safety",
            indication: Some(if i % 2 == 0 { "gvhd_acute" } else { "osteoarthritis_knee" }),
            created_at,
            latest: true,
        })
        .collect();
    app.insert_rows(&rows).await;
    let own = rows.iter().filter(|row| row.organisation == app.organisation).count();

    let text = download(&app, "/v1/exports/assessments.csv", "text/csv", "assessments.csv").await;
    let (_, records) = parse_csv(&text);
    assert_eq!(records.len(), own, "every row of the organisation, none of the other's");
    let created: Vec<DateTime<Utc>> = records.iter().map(|record| record[6].parse().unwrap()).collect();
    assert!(created.windows(2).all(|pair| pair[0] < pair[1]), "oldest first, no row twice");

    let text = download(
        &app,
        "/v1/exports/assessments.ndjson?indication=gvhd_acute&min_overall=50",
        "application/x-ndjson",
        "assessments.ndjson",
    )
    .await;
    let expected = rows
        .iter()
        .filter(|row| {
            row.organisation == app.organisation
                && row.indication == Some("gvhd_acute")
                && row.overall >= 50.0
        })
        .count();
    assert_eq!(text.lines().count(), expected);
    assert!(text.lines().all(|line| line.contains("\"indication\":\"gvhd_acute\"")));
}

#[tokio::test]
async fn an_empty_csv_export_is_the_header_and_bad_parameters_are_400() {
    let app = spawn_app().await;

    let text = download(&app, "/v1/exports/assessments.csv", "text/csv", "assessments.csv").await;
    assert_eq!(text, format!("{}\r\n", COLUMNS.join(",")));
    assert_eq!(
        download(&app, "/v1/exports/assessments.ndjson", "application/x-ndjson", "assessments.ndjson").await,
        ""
    );

    for (path, parameter) in [
        ("/v1/exports/assessments.csv?limit=10", "limit"),
        ("/v1/exports/assessments.ndjson?route=teleport", "route"),
        ("/v1/exports/assessments.csv?created_from=yesterday", "created_from"),
    ] {
        let problem = assert_problem(app.get(path).await, 400).await;
        assert_eq!(problem["errors"][0]["field"], parameter, "{path}: {problem}");
    }
}
