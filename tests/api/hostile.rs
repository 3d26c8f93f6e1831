//! Hostile clients (issue 20): inputs and traffic shaped to break the service rather than use it.
//! Each test is a finding of the issue that answered 500, grew memory or let a client hold a core.

use crate::helpers::{assert_problem, spawn_app};

/// Every view that takes the shared filters: the list, the statistics and both exports.
const FILTERED_VIEWS: [&str; 7] = [
    "/v1/assessments",
    "/v1/stats/summary",
    "/v1/stats/grouped?by=indication",
    "/v1/stats/limiting-barriers",
    "/v1/stats/timeseries?interval=week",
    "/v1/exports/assessments.csv",
    "/v1/exports/assessments.ndjson",
];

fn with_query(view: &str, query: &str) -> String {
    let separator = if view.contains('?') { '&' } else { '?' };
    format!("{view}{separator}{query}")
}

#[tokio::test]
async fn a_nul_in_a_text_filter_or_a_time_postgresql_cannot_hold_is_a_400_naming_the_parameter() {
    let app = spawn_app().await;
    for view in FILTERED_VIEWS {
        for (query, parameter) in [
            ("model_version=%00", "model_version"),
            ("model_version=2.0.0%00x", "model_version"),
            ("created_from=-262143-01-01T00:00:00Z", "created_from"),
            ("created_before=-004714-01-01T00:00:00Z", "created_before"),
            ("created_before=%2B262142-12-31T23:59:59Z", "created_before"),
            ("created_from=10000-01-01T00:00:00Z", "created_from"),
        ] {
            let path = with_query(view, query);
            let problem = assert_problem(app.get(&path).await, 400).await;
            assert_eq!(problem["errors"][0]["field"], parameter, "{path}: {problem}");
        }
        // The edges of RFC 3339's years still filter (to nothing here).
        for query in ["created_from=0000-01-01T00:00:00Z", "created_before=9999-12-31T23:59:59Z"] {
            let path = with_query(view, query);
            assert_eq!(app.get(&path).await.status(), 200, "{path}");
        }
    }
}

/// `data` as a gzip member of one stored (uncompressed) deflate block: what `gzip` would send,
/// without a compression library.
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let crc = data.iter().fold(!0u32, |crc, &byte| {
        (0..8).fold(
            crc ^ u32::from(byte),
            |crc, _| if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 },
        )
    });
    let length = u16::try_from(data.len()).expect("one stored block holds up to 65,535 bytes");
    let mut member = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 1];
    member.extend(length.to_le_bytes());
    member.extend((!length).to_le_bytes());
    member.extend(data);
    member.extend((!crc).to_le_bytes());
    member.extend(u32::try_from(data.len()).unwrap().to_le_bytes());
    member
}

#[tokio::test]
async fn a_compressed_request_body_is_refused_with_415_before_it_is_read() {
    let app = spawn_app().await;
    let body = serde_json::to_vec(
        &serde_json::json!({"profile": crate::helpers::reference_profile("disc_early_academic")}),
    )
    .unwrap();
    let plain =
        app.client.post(app.url("/v1/score")).header("content-type", "application/json").body(body.clone());
    assert_eq!(plain.send().await.unwrap().status(), 200, "the same body uncompressed is scored");

    for coding in ["gzip", "x-gzip", "GZIP", "identity, gzip", "br", "zstd", "deflate", "compress"] {
        let response = app
            .client
            .post(app.url("/v1/assessments"))
            .header("content-type", "application/json")
            .header("content-encoding", coding)
            .body(gzip_stored(&body))
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["accept-encoding"], "identity", "{coding}");
        let problem = assert_problem(response, 415).await;
        assert_eq!(problem["type"], "/problems/unsupported-content-encoding", "{coding}: {problem}");
    }
    // `identity` is no coding at all.
    let identity = app
        .client
        .post(app.url("/v1/score"))
        .header("content-type", "application/json")
        .header("content-encoding", "identity")
        .body(body);
    assert_eq!(identity.send().await.unwrap().status(), 200);
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM assessments")
        .fetch_one(&mut app.database().await)
        .await
        .unwrap();
    assert_eq!(stored, 0, "nothing compressed was stored");
}

#[tokio::test]
async fn made_up_http_methods_share_one_metrics_label_so_the_series_stay_bounded() {
    const TOKEN: &str = "operators-only-metrics-token";
    let settings = msc_readiness::configuration::Settings::from_lookup(|name| match name {
        "PORT" => Some("0".to_owned()),
        "METRICS_TOKEN" => Some(TOKEN.to_owned()),
        _ => None,
    })
    .unwrap();
    let app = crate::helpers::spawn_app_with(settings).await;
    let methods: Vec<String> = (0..40).map(|n| format!("XQZKWPAH{n:04}")).collect();
    for method in &methods {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        for path in ["/x", "/healthz", "/v1/assessments"] {
            let response = app.anonymous.request(method.clone(), app.url(path)).send().await.unwrap();
            assert!(response.status().is_client_error(), "{method} {path}: {}", response.status());
        }
    }
    assert_eq!(app.anonymous.get(app.url("/healthz")).send().await.unwrap().status(), 200);

    let body =
        app.anonymous.get(app.url("/metrics")).bearer_auth(TOKEN).send().await.unwrap().text().await.unwrap();

    for method in &methods {
        assert!(!body.contains(method.as_str()), "{method} became a label value");
    }
    assert!(body.contains(r#"method="other""#), "{body}");
    assert!(body.contains(r#"endpoint="/healthz",method="GET",status="200""#), "{body}");
    let series = body.lines().filter(|line| line.starts_with("msc_readiness_http_requests_total{")).count();
    assert!(series <= 6, "40 made-up methods on 3 paths: {series} request series\n{body}");
}

/// Every list reachable from `schema` in the OpenAPI document, as (path, its schema).
fn lists_in<'a>(
    schemas: &'a serde_json::Map<String, serde_json::Value>,
    schema: &'a serde_json::Value,
    path: String,
    seen: &mut std::collections::BTreeSet<String>,
    found: &mut Vec<(String, &'a serde_json::Value)>,
) {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        if seen.insert(name.to_owned()) {
            lists_in(schemas, &schemas[name], path, seen, found);
        }
        return;
    }
    let is_list = match &schema["type"] {
        serde_json::Value::String(kind) => kind == "array",
        serde_json::Value::Array(kinds) => kinds.iter().any(|kind| kind == "array"),
        _ => false,
    };
    if is_list {
        found.push((path.clone(), schema));
        lists_in(schemas, &schema["items"], format!("{path}[]"), seen, found);
    }
    for combinator in ["allOf", "oneOf", "anyOf"] {
        for part in schema[combinator].as_array().into_iter().flatten() {
            lists_in(schemas, part, path.clone(), seen, found);
        }
    }
    for (name, property) in schema["properties"].as_object().into_iter().flatten() {
        lists_in(schemas, property, format!("{path}.{name}"), seen, found);
    }
}

#[tokio::test]
async fn every_list_of_a_profile_has_a_length_limit_in_the_spec_and_a_longer_one_is_a_422_naming_it() {
    let spec = serde_json::to_value(msc_readiness::api::openapi::spec()).unwrap();
    let schemas = spec["components"]["schemas"].as_object().unwrap();
    let mut found = Vec::new();
    lists_in(schemas, &schemas["Profile"], "profile".into(), &mut Default::default(), &mut found);
    assert!(found.len() >= 30, "the profile's lists: {found:?}");
    let unbounded: Vec<&String> =
        found.iter().filter(|(_, schema)| !schema["maxItems"].is_u64()).map(|(path, _)| path).collect();
    assert!(unbounded.is_empty(), "lists without maxItems: {unbounded:?}");

    let app = spawn_app().await;
    // The attack of finding 6: as many empty potency assays as fit in the body limit.
    let assays = vec![serde_json::json!({}); 21_225];
    let limit = found
        .iter()
        .find(|(path, _)| path == "profile.quality.potency_assays")
        .map(|(_, schema)| schema["maxItems"].as_u64().unwrap())
        .expect("potency assays are a list");
    for (count, accepted) in [(limit as usize, true), (limit as usize + 1, false), (assays.len(), false)] {
        let body = serde_json::json!({"profile": {"quality": {"potency_assays": assays[..count]}}});
        for path in ["/v1/score", "/v1/assessments"] {
            let response = app.post_json(path, &body).await;
            if accepted {
                assert!(response.status().is_success(), "{count} assays to {path}: {}", response.status());
                continue;
            }
            let problem = assert_problem(response, 422).await;
            assert_eq!(problem["errors"][0]["field"], "profile.quality.potency_assays", "{problem}");
            let message = problem["errors"][0]["message"].as_str().unwrap();
            assert_eq!(
                message,
                format!("expected a list of at most {limit} items, got a list of {count} items")
            );
        }
    }
    // A list nested in a list is named with its position.
    let trials = serde_json::json!([{}, {"regulators": vec!["fda"; 21]}]);
    let body = serde_json::json!({"profile": {"profile_version": "2", "clinical": {"trials": trials}}});
    let problem = assert_problem(app.post_json("/v1/score", &body).await, 422).await;
    assert_eq!(problem["errors"][0]["field"], "profile.clinical.trials[1].regulators", "{problem}");
}

#[tokio::test]
async fn past_the_requests_in_flight_an_api_request_is_a_cheap_503_overloaded_and_health_still_answers() {
    let settings = msc_readiness::configuration::Settings::from_lookup(|name| match name {
        "PORT" => Some("0".to_owned()),
        "MAX_REQUESTS_IN_FLIGHT" => Some("1".to_owned()),
        "ADMISSION_WAIT_MS" => Some("0".to_owned()),
        "REQUEST_TIMEOUT_MS" => Some("10000".to_owned()),
        _ => None,
    })
    .unwrap();
    let app = crate::helpers::spawn_app_with(settings).await;
    // Arrange: the one request in flight waits on a lock the test holds.
    let mut locker = app.database().await;
    sqlx::query("BEGIN").execute(&mut locker).await.unwrap();
    sqlx::query("LOCK TABLE assessments IN ACCESS EXCLUSIVE MODE").execute(&mut locker).await.unwrap();
    let held = tokio::spawn(app.client.get(app.url("/v1/assessments")).send());
    let mut observer = app.database().await;
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&mut observer)
        .await
        .unwrap();
        if waiting > 0 {
            break;
        }
        tokio::task::yield_now().await;
    }

    // Act: another API request, and the health endpoints.
    let refused = app.client.get(app.url("/v1/programs")).send().await.unwrap();
    let unauthenticated = app.anonymous.get(app.url("/v1/programs")).send().await.unwrap();
    let live = app.anonymous.get(app.url("/healthz")).send().await.unwrap();

    // Assert
    assert_eq!(refused.headers()["retry-after"], "1");
    let problem = assert_problem(refused, 503).await;
    assert_eq!(problem["type"], "/problems/overloaded", "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("overloaded"), "{problem}");
    let problem = assert_problem(unauthenticated, 503).await;
    assert_eq!(problem["type"], "/problems/overloaded", "refused before authentication: {problem}");
    assert_eq!(live.status(), 200);
    sqlx::query("ROLLBACK").execute(&mut locker).await.unwrap();
    assert_eq!(held.await.unwrap().unwrap().status(), 200, "the admitted request completes");
    assert_eq!(app.get("/v1/programs").await.status(), 200, "its permit is free again");
}

#[tokio::test]
async fn a_504_past_the_deadline_carries_the_request_id_and_the_security_headers() {
    let settings = msc_readiness::configuration::Settings::from_lookup(|name| match name {
        "PORT" => Some("0".to_owned()),
        "REQUEST_TIMEOUT_MS" => Some("300".to_owned()),
        _ => None,
    })
    .unwrap();
    let app = crate::helpers::spawn_app_with(settings).await;
    let mut locker = app.database().await;
    sqlx::query("BEGIN").execute(&mut locker).await.unwrap();
    sqlx::query("LOCK TABLE assessments IN ACCESS EXCLUSIVE MODE").execute(&mut locker).await.unwrap();

    let response = app
        .client
        .get(app.url("/v1/assessments"))
        .header("x-request-id", "deadline-probe-1")
        .send()
        .await
        .unwrap();

    sqlx::query("ROLLBACK").execute(&mut locker).await.unwrap();
    assert_eq!(response.headers()["x-request-id"], "deadline-probe-1");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["retry-after"], "1");
    let problem = assert_problem(response, 504).await;
    assert_eq!(problem["type"], "/problems/deadline-exceeded");
}

/// Every bidirectional embedding, override and isolate: each reorders the text shown after it.
const BIDI_CONTROLS: [char; 9] = [
    '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}',
    '\u{2069}',
];

#[tokio::test]
async fn bidirectional_controls_in_a_label_are_refused_with_422_naming_the_field() {
    let app = spawn_app().await;
    for control in BIDI_CONTROLS {
        let spoofed = format!("Disc MSC{control}gpj.exe");
        let mut profile = crate::helpers::reference_profile("disc_early_academic");
        profile["program"]["name"] = serde_json::json!(spoofed);
        let response = app.post_json("/v1/assessments", &serde_json::json!({ "profile": profile })).await;
        let problem = assert_problem(response, 422).await;
        assert_eq!(
            problem["errors"][0]["field"],
            "profile.program.name",
            "U+{:04X}: {problem}",
            u32::from(control)
        );
        assert!(problem["errors"][0]["message"].as_str().unwrap().contains("bidirectional"), "{problem}");

        let program =
            app.post_json("/v1/programs", &serde_json::json!({"key": "P-1", "name": spoofed})).await;
        assert_eq!(assert_problem(program, 422).await["errors"][0]["field"], "name");
        let key = app.post_json("/v1/keys", &serde_json::json!({"name": spoofed, "scopes": ["read"]})).await;
        assert_eq!(assert_problem(key, 422).await["errors"][0]["field"], "name");
    }
    // Right-to-left text itself is welcome; only the invisible controls are not.
    let mut profile = crate::helpers::reference_profile("disc_early_academic");
    profile["program"]["name"] = serde_json::json!("\u{05D3}\u{05D9}\u{05E1}\u{05E7} MSC");
    app.submit(&profile).await;
}

#[tokio::test]
async fn a_repeated_key_a_list_for_an_object_or_a_nul_is_refused_with_422_naming_it() {
    let app = spawn_app().await;
    // `POST /v1/score` reads a valid body straight into its type; what it refuses is named as the
    // stored path names it.
    for path in ["/v1/assessments", "/v1/score"] {
        for (body, field) in [
            (
                r#"{"profile": {"program": {"stage": "phase3", "stage": "preclinical"}}}"#,
                "profile.program.stage",
            ),
            (r#"{"profile": {}, "profile": {}}"#, "profile"),
            (
                r#"{"profile": {"manufacturing": {"lot_consistency": [null, null]}}}"#,
                "profile.manufacturing.lot_consistency",
            ),
            (r#"{"profile": {"program": {"name": "Disc\u0000"}}}"#, "profile.program.name"),
        ] {
            let response = app
                .client
                .post(app.url(path))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let problem = assert_problem(response, 422).await;
            assert_eq!(problem["errors"][0]["field"], field, "{path} {body}: {problem}");
        }
    }
    let response = app
        .client
        .post(app.url("/v1/programs"))
        .header("content-type", "application/json")
        .body(r#"{"key": "P-1", "name": "first", "name": "second"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(assert_problem(response, 422).await["errors"][0]["field"], "name");
    let programs: serde_json::Value = app.get("/v1/programs").await.json().await.unwrap();
    assert_eq!(programs["items"].as_array().unwrap().len(), 0, "nothing stored");
}

#[tokio::test]
async fn an_assessment_stored_after_the_clock_went_back_still_comes_last_and_is_the_latest() {
    let app = spawn_app().await;
    let program: serde_json::Value = app
        .post_json("/v1/programs", &serde_json::json!({"key": "P-1", "name": "One"}))
        .await
        .json()
        .await
        .unwrap();
    let program_id = program["id"].as_str().unwrap();
    let submit = async |name: &str| -> serde_json::Value {
        let body =
            serde_json::json!({"program_id": program_id, "profile": crate::helpers::reference_profile(name)});
        let response = app.post_json("/v1/assessments", &body).await;
        assert_eq!(response.status(), 201);
        response.json().await.unwrap()
    };
    let earlier = submit("disc_early_academic").await;
    // The first was stored while the server's clock ran an hour ahead; the clock has since been
    // stepped back to the right time.
    sqlx::query("UPDATE assessments SET created_at = created_at + interval '1 hour' WHERE id = $1::uuid")
        .bind(earlier["id"].as_str().unwrap())
        .execute(&mut app.database().await)
        .await
        .unwrap();
    let later = submit("disc_mature_allogeneic").await;

    let history: serde_json::Value =
        app.get(&format!("/v1/programs/{program_id}/assessments")).await.json().await.unwrap();
    let order: Vec<&str> =
        history["items"].as_array().unwrap().iter().map(|item| item["id"].as_str().unwrap()).collect();
    assert_eq!(order, [earlier["id"].as_str().unwrap(), later["id"].as_str().unwrap()], "{history}");
    let latest: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT id FROM assessments WHERE latest")
        .fetch_all(&mut app.database().await)
        .await
        .unwrap();
    assert_eq!(latest, [uuid::Uuid::parse_str(later["id"].as_str().unwrap()).unwrap()]);
}

#[tokio::test]
async fn a_head_over_the_limit_is_refused_with_431_before_anything_reads_it() {
    let app = spawn_app().await;
    // Under actix-http's own limit (128 KB, and only while a head is incomplete), so the answer is
    // the service's whichever way the kernel delivers the head; no key, so only this check answers.
    let head = msc_readiness::api::head_size::HEAD_LIMIT;
    let response =
        app.anonymous.get(app.url("/v1/programs")).header("x-big", "a".repeat(head)).send().await.unwrap();
    let problem = assert_problem(response, 431).await;
    assert_eq!(problem["type"], "/problems/header-fields-too-large", "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains(&head.to_string()), "{problem}");
    // A head just under the limit is read as usual: the missing key is what is refused.
    let under = "a".repeat(head - 1024);
    assert_problem(
        app.anonymous.get(app.url("/v1/programs")).header("x-big", under).send().await.unwrap(),
        401,
    )
    .await;
}
