//! Errors a person can act on (issue 18): every query parameter named with the reason in plain
//! words, the body limit stated with its setting, a page behind every problem `type`, level 0 as a
//! filter, and statistics to one decimal.

use serde_json::{Value, json};

use crate::helpers::{assert_problem, reference_profile, spawn_app, spawn_app_with, test_settings};

fn first_error(problem: &Value) -> (String, String) {
    let error = &problem["errors"][0];
    (
        error["field"].as_str().unwrap_or_default().to_owned(),
        error["message"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn query_parameter_errors_name_the_parameter_in_plain_words() {
    let app = spawn_app().await;

    let missing = assert_problem(app.get("/v1/stats/grouped").await, 400).await;
    let (field, message) = first_error(&missing);
    assert_eq!(field, "by");
    assert!(message.starts_with("this parameter is required"), "{message}");
    assert!(message.contains("readiness_level"), "the allowed values are named: {message}");

    let cases = [
        ("/v1/assessments?min_overall=abc", "min_overall", r#"expected a number, got "abc""#),
        ("/v1/assessments?limit=-1", "limit", r#"expected a whole number, got "-1""#),
        ("/v1/assessments?latest=maybe", "latest", r#"expected true or false, got "maybe""#),
        (
            "/v1/assessments?created_from=yesterday",
            "created_from",
            r#"expected a date and time (RFC 3339, such as 2026-11-01T00:00:00Z), got "yesterday""#,
        ),
    ];
    for (path, parameter, expected) in cases {
        let problem = assert_problem(app.get(path).await, 400).await;
        assert_eq!(first_error(&problem), (parameter.to_owned(), expected.to_owned()), "{path}");
        assert!(!problem["detail"].as_str().unwrap().contains("literal"), "{path}: {problem}");
    }
    let stage = assert_problem(app.get("/v1/assessments?stage=phase_3").await, 400).await;
    let (field, message) = first_error(&stage);
    assert_eq!(field, "stage");
    assert!(message.starts_with("unknown value `phase_3` (did you mean `phase3`?)"), "{message}");
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413_stating_the_limit_and_its_setting() {
    let settings = test_settings();
    let limit = settings.body_limit_bytes;
    let app = spawn_app_with(settings).await;
    let body = format!("{{\"profile\": {{\"program\": {{\"name\": \"{}\"}}}}}}", "x".repeat(limit));

    let response = app
        .client
        .post(app.url("/v1/score"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();

    let problem = assert_problem(response, 413).await;
    assert_eq!(problem["type"], "/problems/payload-too-large");
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains(&format!("{limit} bytes")) && detail.contains("BODY_LIMIT_BYTES"), "{detail}");
}

#[tokio::test]
async fn every_problem_type_resolves_to_a_page_explaining_it() {
    let app = spawn_app().await;
    let mut types: Vec<String> = msc_readiness::api::problem_pages::PROBLEM_KINDS
        .iter()
        .map(|kind| format!("/problems/{}", kind.name))
        .collect();
    // And the types of real answers, among them one from the HTTP layer.
    for response in [
        app.get("/v1/assessments/01890000-0000-7000-8000-000000000000").await,
        app.get("/v1/assessments?limit=0").await,
        app.post_json("/v1/score", &json!({})).await,
        reqwest::Client::new().get(app.url("/v1/assessments")).send().await.unwrap(),
    ] {
        let problem: Value = response.json().await.unwrap();
        types.push(problem["type"].as_str().unwrap().to_owned());
    }
    types.push("/problems/http-408".to_owned());

    for problem_type in types {
        // Without a key: a person following the link from an error has none at hand.
        let page = reqwest::Client::new().get(app.url(&problem_type)).send().await.unwrap();
        assert_eq!(page.status(), 200, "{problem_type}");
        assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        let html = page.text().await.unwrap();
        assert!(html.contains("What it means") && html.contains("What to do"), "{problem_type}");
    }
    assert_problem(
        reqwest::Client::new().get(app.url("/problems/no-such-problem")).send().await.unwrap(),
        404,
    )
    .await;
}

#[tokio::test]
async fn readiness_level_0_is_a_filter_like_the_others() {
    let app = spawn_app().await;
    let mut levels = Vec::new();
    for name in ["disc_preclinical_startup", "disc_early_academic", "gvhd_approved_pediatric"] {
        let record = app.submit(&reference_profile(name)).await;
        levels.push(record["result"]["readiness"]["msc_trl"].as_u64().unwrap());
    }
    let at_zero = levels.iter().filter(|level| **level == 0).count();
    assert!(at_zero > 0 && at_zero < levels.len(), "the seed has levels 0 and above: {levels:?}");

    let page: Value = app.get("/v1/assessments?readiness_level=0").await.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), at_zero);
    let summary: Value = app.get("/v1/stats/summary?readiness_level=0").await.json().await.unwrap();
    assert_eq!(summary["statistics"][0]["count"], at_zero);
    let grouped: Value = app.get("/v1/stats/grouped?by=readiness_level").await.json().await.unwrap();
    let zero = grouped["statistics"].as_array().unwrap().iter().find(|row| row["group"] == "0");
    assert_eq!(zero.map(|row| row["count"].clone()), Some(json!(at_zero)));
    assert_problem(app.get("/v1/assessments?readiness_level=10").await, 400).await;
}

#[tokio::test]
async fn statistics_means_are_given_to_one_decimal() {
    let app = spawn_app().await;
    let mut indexes = Vec::new();
    for name in ["disc_early_academic", "ms_bm_iv_phase2", "ipf_bm_iv_phase1"] {
        let record = app.submit(&reference_profile(name)).await;
        indexes.push(record["result"]["overall"]["readiness_index"].as_f64().unwrap());
    }
    let mean = indexes.iter().sum::<f64>() / indexes.len() as f64;

    let summary: Value = app.get("/v1/stats/summary").await.json().await.unwrap();
    let reported = summary["statistics"][0]["mean"].as_f64().unwrap();
    assert_eq!(reported, (mean * 10.0).round() / 10.0);
    let series: Value = app.get("/v1/stats/timeseries").await.json().await.unwrap();
    for period in series.as_array().unwrap() {
        let value = period["overall_index"].as_f64().unwrap();
        assert_eq!(value, (value * 10.0).round() / 10.0, "{period}");
    }
}
