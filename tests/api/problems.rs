use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, reference_profile, spawn_app};

#[tokio::test]
async fn an_unknown_route_is_a_404_problem_document() {
    let app = spawn_app().await;

    let problem = assert_problem(app.get("/v1/no-such-thing").await, 404).await;

    assert!(problem["detail"].as_str().unwrap().contains("/v1/no-such-thing"));
}

#[tokio::test]
async fn every_documented_path_answers_a_wrong_method_with_405_and_allow() {
    let app = spawn_app().await;
    let spec = serde_json::to_value(msc_readiness::api::openapi::spec()).unwrap();
    let every_method = ["GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"];

    // Read from the generated document, so a new endpoint is covered without editing this test.
    let paths = spec["paths"].as_object().unwrap();
    assert!(paths.len() >= 10, "the spec lists the service's paths");
    for (template, item) in paths {
        let documented: BTreeSet<String> =
            item.as_object().unwrap().keys().map(|method| method.to_ascii_uppercase()).collect();
        // Any value fits a path parameter: the method is refused before the path is parsed.
        let path = template
            .split('/')
            .map(
                |segment| {
                    if segment.starts_with('{') { "01890000-0000-7000-8000-000000000000" } else { segment }
                },
            )
            .collect::<Vec<_>>()
            .join("/");
        for method in every_method.iter().filter(|method| !documented.contains(**method)) {
            let response = app
                .client
                .request(Method::from_bytes(method.as_bytes()).unwrap(), app.url(&path))
                .send()
                .await
                .unwrap();

            let allow: BTreeSet<String> = response
                .headers()
                .get("allow")
                .unwrap_or_else(|| panic!("{method} {path}: no Allow header"))
                .to_str()
                .unwrap()
                .split(", ")
                .map(str::to_owned)
                .collect();
            assert_eq!(allow, documented, "{method} {path}: Allow lists the documented methods");
            if *method == "HEAD" {
                assert_eq!(response.status(), 405, "HEAD {path}");
            } else {
                let problem = assert_problem(response, 405).await;
                assert_eq!(problem["type"], "/problems/method-not-allowed", "{method} {path}");
            }
        }
    }
}

/// Posts `body` as written (key order kept), as a client's JSON file would be sent.
async fn post_raw(app: &TestApp, path: &str, body: String) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("request sent")
}

fn fields_and_messages(problem: &Value) -> Vec<(String, String)> {
    problem["errors"]
        .as_array()
        .expect("errors is a list")
        .iter()
        .map(|error| {
            (error["field"].as_str().unwrap().to_owned(), error["message"].as_str().unwrap().to_owned())
        })
        .collect()
}

#[tokio::test]
async fn a_profile_with_three_wrong_fields_gets_one_422_naming_all_three_with_their_paths() {
    let app = spawn_app().await;
    // Otherwise valid: a reference program with three mistakes, in three sections.
    let mut profile = reference_profile("disc_early_academic");
    profile["manufacturing"]["cells_per_lot"] = json!("20 million");
    profile["quality"]["viability_at_release_pct"] = json!(130);
    profile["formulation"]["presentation"] = json!("frozen");
    // Sections in the order of the schema (program, cell_source, manufacturing, quality,
    // formulation, ...), as a client writes them; the errors follow that order.
    let sections: Vec<String> = [
        "profile_version",
        "program",
        "cell_source",
        "manufacturing",
        "quality",
        "formulation",
        "delivery",
        "nonclinical",
        "clinical",
        "regulatory",
    ]
    .into_iter()
    .filter_map(|section| profile.get(section).map(|value| format!("\"{section}\": {value}")))
    .collect();
    assert_eq!(sections.len(), profile.as_object().unwrap().len(), "every section is sent");
    let body = format!("{{\"profile\": {{{}}}}}", sections.join(", "));

    let problem = assert_problem(post_raw(&app, "/v1/score", body).await, 422).await;

    assert_eq!(problem["type"], "/problems/validation-error");
    assert_eq!(
        problem["detail"],
        "The request has 3 invalid fields: profile.manufacturing.cells_per_lot, \
         profile.quality.viability_at_release_pct, profile.formulation.presentation."
    );
    let expected = [
        (
            "profile.manufacturing.cells_per_lot",
            r#"expected a number of cells (1 to 1e13), got the text "20 million""#,
        ),
        ("profile.quality.viability_at_release_pct", "expected a percentage (0 to 100), got 130"),
        (
            "profile.formulation.presentation",
            "unknown value `frozen`; allowed: `fresh`, `cryopreserved`, `lyophilized`",
        ),
    ];
    assert_eq!(
        fields_and_messages(&problem),
        expected.map(|(field, message)| (field.to_owned(), message.to_owned()))
    );
    // The problem document's example in the OpenAPI document is this very answer.
    let spec = serde_json::to_value(msc_readiness::api::openapi::spec()).unwrap();
    assert_eq!(spec["components"]["schemas"]["Problem"]["example"], problem);
}

#[tokio::test]
async fn missing_and_wrong_fields_of_a_body_are_named_by_their_full_paths() {
    let app = spawn_app().await;

    let problem = assert_problem(app.post_json("/v1/score", &json!({})).await, 422).await;
    assert_eq!(fields_and_messages(&problem), [("profile".to_owned(), "this field is required".to_owned())]);
    assert_eq!(problem["detail"], "The request has 1 invalid field: profile.");

    // A wrong value and a missing field of one body, and an unknown one: all three at once.
    let body = r#"{"name": 5, "descripton": "x"}"#.to_owned();
    let problem = assert_problem(post_raw(&app, "/v1/programs", body).await, 422).await;
    assert_eq!(
        fields_and_messages(&problem),
        [
            ("name", "expected text, got the number 5"),
            ("descripton", "unknown field `descripton` (did you mean `description`?)"),
            ("key", "this field is required"),
        ]
        .map(|(field, message)| (field.to_owned(), message.to_owned()))
    );
}
