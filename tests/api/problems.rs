use std::collections::BTreeSet;

use reqwest::Method;

use crate::helpers::{assert_problem, spawn_app};

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
