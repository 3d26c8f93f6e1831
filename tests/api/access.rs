//! Access control over HTTP: every documented endpoint refuses missing, invalid, revoked and
//! expired keys and keys without its scope; no organisation reaches another's data; keys are
//! managed by admins, rate-limited, audited, and never logged.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{ORGANISATION_A, TestApp, assert_problem, reference_profile, spawn_app, spawn_app_with};

/// Every operation of the generated spec that needs an API key: method, path, required scope.
fn protected_operations() -> Vec<(Method, String, String)> {
    let spec = serde_json::to_value(msc_readiness::api::openapi::spec()).unwrap();
    let mut operations = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Some(requirements) = operation["security"].as_array() else { continue };
            let Some(scopes) = requirements.iter().find_map(|requirement| requirement["api_key"].as_array())
            else {
                continue;
            };
            assert_eq!(scopes.len(), 1, "{method} {path} declares exactly one scope");
            for status in ["401", "403", "429"] {
                assert!(operation["responses"][status].is_object(), "{method} {path} documents {status}");
            }
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            operations.push((method, path.clone(), scopes[0].as_str().unwrap().to_owned()));
        }
    }
    assert!(operations.len() >= 15, "the spec lists the API's operations: {operations:?}");
    operations
}

fn fill(path: &str, id: Uuid, other: Uuid) -> String {
    path.replace("{id}", &id.to_string()).replace("{a}", &id.to_string()).replace("{b}", &other.to_string())
}

async fn send(client: &reqwest::Client, app: &TestApp, method: &Method, path: &str) -> reqwest::Response {
    let mut request = client.request(method.clone(), app.url(path));
    if *method == Method::POST {
        request = request.json(&json!({}));
    }
    request.send().await.unwrap()
}

/// Default settings on a random port, but for `overrides`.
fn settings_with(overrides: &[(&str, &str)]) -> msc_readiness::configuration::Settings {
    msc_readiness::configuration::Settings::from_lookup(|name| {
        overrides
            .iter()
            .find(|(variable, _)| *variable == name)
            .map(|(_, value)| (*value).to_owned())
            .or_else(|| (name == "PORT").then(|| "0".to_owned()))
    })
    .unwrap()
}

fn unknown_key() -> String {
    format!("mscr_{}_{}", Uuid::now_v7().simple(), "A".repeat(43))
}

fn key_id(token: &str) -> Uuid {
    Uuid::try_parse(&token["mscr_".len().."mscr_".len() + 32]).unwrap()
}

#[tokio::test]
async fn every_protected_endpoint_refuses_bad_keys_with_401_and_a_missing_scope_with_403() {
    // Hundreds of failures from one address: the failed-authentication throttle would answer
    // 429 to most of them, and this test is about the 401s.
    let app = spawn_app_with(settings_with(&[
        ("AUTH_FAILURES_PER_MINUTE_PER_ADDRESS", "0"),
        ("AUTH_FAILURES_PER_MINUTE_PER_KEY", "0"),
    ]))
    .await;
    let revoked = app.new_key(ORGANISATION_A, "read,write,admin").await;
    let revoke = app.client.delete(app.url(&format!("/v1/keys/{}", key_id(&revoked)))).send().await.unwrap();
    assert_eq!(revoke.status(), 200);
    let expired = app.new_key(ORGANISATION_A, "read,write,admin").await;
    sqlx::query("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1")
        .bind(key_id(&expired))
        .execute(&mut app.database().await)
        .await
        .unwrap();
    let unknown = format!("mscr_{}_{}", Uuid::now_v7().simple(), "A".repeat(43));
    let bad_keys = [
        ("no key", app.anonymous.clone()),
        ("not a key", app.client_with("not-a-key")),
        ("unknown key", app.client_with(&unknown)),
        ("right id, wrong secret", app.client_with(&format!("{}B", &app.api_key[..app.api_key.len() - 1]))),
        ("revoked key", app.client_with(&revoked)),
        ("expired key", app.client_with(&expired)),
    ];
    let mut only = std::collections::HashMap::new();
    let mut lacking = std::collections::HashMap::new();
    for scope in ["read", "write", "admin"] {
        let others: Vec<&str> =
            ["read", "write", "admin"].into_iter().filter(|other| *other != scope).collect();
        only.insert(scope, app.client_with(&app.new_key(ORGANISATION_A, scope).await));
        lacking.insert(scope, app.client_with(&app.new_key(ORGANISATION_A, &others.join(",")).await));
    }

    for (method, path, scope) in protected_operations() {
        let path = fill(&path, Uuid::now_v7(), Uuid::now_v7());
        for (what, client) in &bad_keys {
            let response = send(client, &app, &method, &path).await;
            let challenge =
                response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned());
            assert_problem(response, 401).await;
            assert!(challenge.is_some_and(|c| c.starts_with("Bearer ")), "{what}: {method} {path} challenge");
        }
        let response = send(&lacking[scope.as_str()], &app, &method, &path).await;
        let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_owned();
        assert_problem(response, 403).await;
        assert!(challenge.contains(&format!("scope=\"{scope}\"")), "{method} {path}: {challenge}");

        let status = send(&only[scope.as_str()], &app, &method, &path).await.status().as_u16();
        assert!(![401, 403].contains(&status), "{method} {path} with only `{scope}`: {status}");
    }
}

#[tokio::test]
async fn only_health_readiness_and_the_docs_answer_without_a_key() {
    let app = spawn_app().await;
    for path in ["/healthz", "/readyz", "/openapi.json", "/docs/", "/problems/validation-error"] {
        let response = app.anonymous.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
    let spec: Value = app.anonymous.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        spec["components"]["securitySchemes"]["api_key"]["scheme"], "bearer",
        "Swagger UI's Authorize"
    );
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let public = ["/healthz", "/readyz", "/problems/{name}"].contains(&path.as_str());
            assert_eq!(operation.get("security").is_none(), public, "{method} {path}");
            if !public {
                assert!(operation["responses"]["401"].is_object(), "{method} {path} documents its 401");
            }
        }
    }
}

/// Organisation B holds a key with every scope and tries every documented operation on A's ids.
#[tokio::test]
async fn no_operation_lets_one_organisation_reach_another_organisations_data() {
    let app = spawn_app().await;
    let program: Value = app
        .post_json("/v1/programs", &json!({"key": "A-1", "name": "A's program"}))
        .await
        .json()
        .await
        .unwrap();
    let program_id = Uuid::parse_str(program["id"].as_str().unwrap()).unwrap();
    let profile = reference_profile("disc_early_academic");
    let first =
        app.post_json("/v1/assessments", &json!({"program_id": program_id, "profile": profile})).await;
    let first: Value = first.json().await.unwrap();
    let second = app.submit(&reference_profile("disc_mature_allogeneic")).await;
    let a_assessments = [first["id"].as_str().unwrap(), second["id"].as_str().unwrap()]
        .map(|id| Uuid::parse_str(id).unwrap());
    let a_key = key_id(&app.new_key(ORGANISATION_A, "read").await);
    let a_ids: Vec<String> = [a_assessments[0], a_assessments[1], program_id, a_key, key_id(&app.api_key)]
        .map(|id| id.to_string())
        .into();

    let b = app.client_with(&app.new_key("Organisation B", "read,write,admin").await);
    let b_own = b.post(app.url("/v1/assessments")).json(&json!({"profile": profile})).send().await.unwrap();
    assert_eq!(b_own.status(), 201);
    let b_own: Value = b_own.json().await.unwrap();
    let b_assessment = Uuid::parse_str(b_own["id"].as_str().unwrap()).unwrap();

    let mut reached = BTreeSet::new();
    for (method, path, _) in protected_operations() {
        if path.contains('{') {
            let target = if path.starts_with("/v1/programs") {
                program_id
            } else if path.starts_with("/v1/keys") {
                a_key
            } else {
                a_assessments[0]
            };
            for filled in [fill(&path, target, a_assessments[1]), fill(&path, b_assessment, a_assessments[1])]
            {
                if filled.contains(&b_assessment.to_string())
                    && !filled.contains(&a_assessments[1].to_string())
                {
                    continue;
                }
                let response = send(&b, &app, &method, &filled).await;
                assert_problem(response, 404).await;
                reached.insert(format!("{method} {path}"));
            }
        } else if method == Method::GET {
            let response = b.get(app.url(&path)).send().await.unwrap();
            // 400: an operation that needs query parameters; it returned nothing either way.
            assert!(
                response.status().is_success() || response.status() == 400,
                "{path}: {}",
                response.status()
            );
            let body = response.text().await.unwrap();
            for id in &a_ids {
                assert!(!body.contains(id.as_str()), "GET {path} shows A's {id} to B");
            }
            reached.insert(format!("GET {path}"));
        }
    }
    assert!(reached.len() >= 12, "{reached:?}");

    let foreign_program = json!({"program_id": program_id, "profile": profile});
    let response = b.post(app.url("/v1/assessments")).json(&foreign_program).send().await.unwrap();
    assert_problem(response, 404).await;

    // A's data is untouched and A's key still works.
    for id in a_assessments {
        assert_eq!(app.get(&format!("/v1/assessments/{id}")).await.status(), 200);
    }
    let a_read = app.client.get(app.url(&format!("/v1/keys/{a_key}"))).send().await.unwrap();
    let a_read: Value = a_read.json().await.unwrap();
    assert!(a_read["revoked_at"].is_null());
    let assessments: i64 = sqlx::query_scalar("SELECT count(*) FROM assessments")
        .fetch_one(&mut app.database().await)
        .await
        .unwrap();
    assert_eq!(assessments, 3, "B deleted or re-scored nothing of A's");
}

#[tokio::test]
async fn admins_create_list_and_revoke_keys_and_a_revoked_key_is_refused_at_once() {
    let app = spawn_app().await;

    let response = app
        .post_json("/v1/keys", &json!({"name": "Grafana", "scopes": ["read"], "expires_in_days": 30.0}))
        .await;

    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    let token = created["token"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/v1/keys/{}", created["id"].as_str().unwrap()));
    assert_eq!(created["scopes"], json!(["read"]));
    let expires_at: chrono::DateTime<chrono::Utc> = created["expires_at"].as_str().unwrap().parse().unwrap();
    let hours = (expires_at - chrono::Utc::now()).num_hours();
    assert!((29 * 24..=30 * 24).contains(&hours), "expires 30 days from now: {expires_at}");
    let grafana = app.client_with(&token);
    assert_eq!(grafana.get(app.url("/v1/programs")).send().await.unwrap().status(), 200);
    let write =
        grafana.post(app.url("/v1/programs")).json(&json!({"key": "X", "name": "X"})).send().await.unwrap();
    assert_problem(write, 403).await;

    let listed = app.get("/v1/keys").await.text().await.unwrap();
    assert!(listed.contains(created["id"].as_str().unwrap()));
    assert!(!listed.contains(&token) && !listed.contains("token"), "secrets are shown once only");

    let revoked: Value = app.client.delete(app.url(&location)).send().await.unwrap().json().await.unwrap();
    assert!(revoked["revoked_at"].is_string());
    let refused = grafana.get(app.url("/v1/programs")).send().await.unwrap();
    let challenge = refused.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert_problem(refused, 401).await;
    assert!(challenge.contains("invalid_token"), "{challenge}");
}

#[tokio::test]
async fn invalid_key_requests_are_422_naming_the_field() {
    let app = spawn_app().await;
    for (body, field) in [
        (json!({"name": "x", "scopes": []}), "scopes"),
        (json!({"name": "x", "scopes": ["superuser"]}), ""),
        (json!({"name": "x", "scopes": ["read"], "expires_in_days": 0}), "expires_in_days"),
        (json!({"name": "x", "scopes": ["read"], "expires_in_days": 3651}), "expires_in_days"),
        (json!({"name": "x", "scopes": ["read"], "expires_in_days": 1.5}), "expires_in_days"),
        (json!({"name": "x", "scopes": ["read"], "expires_at": "2099-01-01T00:00:00Z"}), ""),
        (json!({"name": " ", "scopes": ["read"]}), ""),
        (json!({"name": "x", "scopes": ["read"], "owner": "me"}), ""),
    ] {
        let problem = assert_problem(app.post_json("/v1/keys", &body).await, 422).await;
        if !field.is_empty() {
            assert_eq!(problem["errors"][0]["field"], field, "{problem}");
        }
    }
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after_per_key_and_recovers() {
    let settings = msc_readiness::configuration::Settings::from_lookup(|name| match name {
        "PORT" => Some("0".to_owned()),
        "RATE_LIMIT_PER_SECOND" => Some("1".to_owned()),
        "RATE_LIMIT_BURST" => Some("2".to_owned()),
        _ => None,
    })
    .unwrap();
    let app = spawn_app_with(settings).await;

    assert_eq!(app.get("/v1/programs").await.status(), 200);
    assert_eq!(app.get("/v1/programs").await.status(), 200);
    let limited = app.get("/v1/programs").await;

    assert_eq!(limited.headers()["retry-after"], "1");
    assert_problem(limited, 429).await;
    let other_key = app.client_with(&app.new_key(ORGANISATION_A, "read").await);
    assert_eq!(
        other_key.get(app.url("/v1/programs")).send().await.unwrap().status(),
        200,
        "buckets are per key"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let status = app.get("/v1/programs").await.status();
        if status == 200 {
            break;
        }
        assert_eq!(status, 429);
        assert!(std::time::Instant::now() < deadline, "the limit did not recover within 5 s");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn failed_authentications_from_one_address_get_429_with_retry_after_before_any_lookup() {
    let app = spawn_app_with(settings_with(&[
        ("AUTH_FAILURES_PER_MINUTE_PER_ADDRESS", "5"),
        ("AUTH_FAILURES_PER_MINUTE_PER_KEY", "0"),
    ]))
    .await;
    assert_eq!(app.get("/v1/programs").await.status(), 200);
    for _ in 0..3 {
        // No key at all costs no lookup and is not counted.
        assert_problem(app.anonymous.get(app.url("/v1/programs")).send().await.unwrap(), 401).await;
    }
    let failing = [app.client_with(&unknown_key()), app.client_with("not-a-key")];
    for attempt in 0..5 {
        let response = failing[attempt % 2].get(app.url("/v1/programs")).send().await.unwrap();
        assert_problem(response, 401).await;
    }

    let throttled = app.client_with(&unknown_key()).get(app.url("/v1/programs")).send().await.unwrap();
    let retry_after: u64 = throttled.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    let problem = assert_problem(throttled, 429).await;
    assert_eq!(problem["type"], "/problems/authentication-throttled", "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("client address"), "{problem}");
    // Blocked: a key verified before still works (from the cache of verified keys); a key not
    // seen yet waits, as it would need a lookup.
    assert_eq!(app.get("/v1/programs").await.status(), 200);
    let new_key = app.client_with(&app.new_key(ORGANISATION_A, "read").await);
    let blocked = new_key.get(app.url("/v1/programs")).send().await.unwrap();
    assert_eq!(assert_problem(blocked, 429).await["type"], "/problems/authentication-throttled");
}

#[tokio::test]
async fn a_key_revoked_outside_the_service_is_refused_although_it_was_verified_just_before() {
    let app = spawn_app().await;
    let token = app.new_key(ORGANISATION_A, "read").await;
    let client = app.client_with(&token);
    assert_eq!(client.get(app.url("/v1/programs")).send().await.unwrap().status(), 200);
    assert_eq!(client.get(app.url("/v1/programs")).send().await.unwrap().status(), 200);

    // As an operator would, or another instance of the service: not through this one.
    sqlx::query("UPDATE api_keys SET revoked_at = now() WHERE id = $1")
        .bind(key_id(&token))
        .execute(&mut app.database().await)
        .await
        .unwrap();

    // The announcement of the change crosses a connection: the first requests may still meet the
    // cached key, but within moments it is refused, and it stays refused.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while client.get(app.url("/v1/programs")).send().await.unwrap().status() == 200 {
        assert!(std::time::Instant::now() < deadline, "the revoked key was still served after 5 s");
    }
    for _ in 0..5 {
        assert_problem(client.get(app.url("/v1/programs")).send().await.unwrap(), 401).await;
    }
}

#[tokio::test]
async fn wrong_secrets_for_one_key_id_get_429_but_its_real_secret_still_works() {
    let app = spawn_app_with(settings_with(&[
        ("AUTH_FAILURES_PER_MINUTE_PER_ADDRESS", "0"),
        ("AUTH_FAILURES_PER_MINUTE_PER_KEY", "3"),
    ]))
    .await;
    let guessing = app.client_with(&format!("mscr_{}_{}", key_id(&app.api_key).simple(), "A".repeat(43)));
    for _ in 0..3 {
        assert_problem(guessing.get(app.url("/v1/programs")).send().await.unwrap(), 401).await;
    }
    let throttled = guessing.get(app.url("/v1/programs")).send().await.unwrap();
    assert!(throttled.headers().contains_key("retry-after"));
    let problem = assert_problem(throttled, 429).await;
    assert_eq!(problem["type"], "/problems/authentication-throttled", "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("key id"), "{problem}");

    assert_eq!(
        app.get("/v1/programs").await.status(),
        200,
        "the holder of the real secret is not locked out"
    );
    let another_id = app.client_with(&unknown_key());
    assert_problem(another_id.get(app.url("/v1/programs")).send().await.unwrap(), 401).await;
}

#[tokio::test]
async fn an_organisations_keys_share_one_rate_limit_so_more_keys_buy_no_more_requests() {
    let app = spawn_app_with(settings_with(&[
        ("RATE_LIMIT_PER_SECOND", "1000"),
        ("RATE_LIMIT_BURST", "1000"),
        ("RATE_LIMIT_ORGANISATION_PER_SECOND", "1"),
        ("RATE_LIMIT_ORGANISATION_BURST", "3"),
    ]))
    .await;
    let mut keys = Vec::new();
    for _ in 0..4 {
        keys.push(app.client_with(&app.new_key(ORGANISATION_A, "read").await));
    }
    for key in &keys[..3] {
        assert_eq!(key.get(app.url("/v1/programs")).send().await.unwrap().status(), 200);
    }
    let limited = keys[3].get(app.url("/v1/programs")).send().await.unwrap();
    assert!(limited.headers().contains_key("retry-after"));
    let problem = assert_problem(limited, 429).await;
    assert_eq!(problem["type"], "/problems/rate-limited", "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("organisation"), "{problem}");

    let other = app.client_with(&app.new_key("Organisation B", "read").await);
    assert_eq!(other.get(app.url("/v1/programs")).send().await.unwrap().status(), 200, "per organisation");
}

#[tokio::test]
async fn an_organisation_holds_at_most_the_configured_number_of_active_keys() {
    let app = spawn_app_with(settings_with(&[("MAX_KEYS_PER_ORGANISATION", "3")])).await;
    let body = json!({"name": "robot", "scopes": ["read"]});
    let create = || app.post_json("/v1/keys", &body);
    // The test's own admin key is the first of three.
    let first: Value = create().await.json().await.unwrap();
    assert_eq!(create().await.status(), 201);

    let refused = assert_problem(create().await, 409).await;
    assert!(refused["detail"].as_str().unwrap().contains("MAX_KEYS_PER_ORGANISATION"), "{refused}");
    let listed: Value = app.get("/v1/keys").await.json().await.unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 3, "nothing stored");

    let revoke = app.client.delete(app.url(&format!("/v1/keys/{}", first["id"].as_str().unwrap())));
    assert_eq!(revoke.send().await.unwrap().status(), 200);
    assert_eq!(create().await.status(), 201, "a revoked key frees its place");
    assert_problem(create().await, 409).await;
}

#[tokio::test]
async fn the_audit_trail_records_who_changed_what_and_cannot_be_rewritten() {
    let app = spawn_app().await;
    let created = app
        .client
        .post(app.url("/v1/assessments"))
        .header("x-request-id", "audit-test-1")
        .json(&json!({"profile": reference_profile("disc_early_academic")}))
        .send()
        .await
        .unwrap();
    let created: Value = created.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    let rescored: Value =
        app.post_json(&format!("/v1/assessments/{id}/rescore"), &json!({})).await.json().await.unwrap();
    assert_eq!(
        app.client.delete(app.url(&format!("/v1/assessments/{id}"))).send().await.unwrap().status(),
        204
    );
    let key: Value =
        app.post_json("/v1/keys", &json!({"name": "k", "scopes": ["read"]})).await.json().await.unwrap();
    let key_url = format!("/v1/keys/{}", key["id"].as_str().unwrap());
    app.client.delete(app.url(&key_url)).send().await.unwrap();
    app.client.delete(app.url(&key_url)).send().await.unwrap();

    let page: Value = app.get("/v1/audit?limit=3").await.json().await.unwrap();
    let rest: Value = app
        .get(&format!("/v1/audit?before={}", page["next_before"].as_str().unwrap()))
        .await
        .json()
        .await
        .unwrap();

    let events: Vec<&Value> =
        page["items"].as_array().unwrap().iter().chain(rest["items"].as_array().unwrap()).collect();
    let actions: Vec<(&str, &str)> = events
        .iter()
        .map(|event| (event["action"].as_str().unwrap(), event["resource_id"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        [
            ("key.revoked", key["id"].as_str().unwrap()),
            ("key.created", key["id"].as_str().unwrap()),
            ("assessment.deleted", id),
            ("assessment.rescored", rescored["id"].as_str().unwrap()),
            ("assessment.created", id),
            ("key.created", key_id(&app.api_key).to_string().as_str()),
        ],
        "newest first; revoking twice records once"
    );
    let admin_key = key_id(&app.api_key).to_string();
    assert!(events[..5].iter().all(|event| event["key_id"] == admin_key.as_str()));
    assert!(events[5]["key_id"].is_null(), "the first key came from the command line");
    assert_eq!(events[4]["request_id"], "audit-test-1");
    assert!(rest["next_before"].is_null());

    let rewrite =
        sqlx::query("UPDATE audit_events SET action = 'nothing'").execute(&mut app.database().await).await;
    assert!(rewrite.unwrap_err().to_string().contains("append-only"));
}

#[tokio::test]
async fn every_response_carries_the_security_headers_and_no_server_banner() {
    let app = spawn_app().await;
    for path in ["/healthz", "/v1/programs", "/no-such-page", "/docs/"] {
        let response = app.get(path).await;
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert!(headers.get("server").is_none(), "{path}");
        let html = headers["content-type"].to_str().unwrap().starts_with("text/html");
        let policy = headers.get("content-security-policy").map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(html, policy.is_some(), "{path}: CSP on HTML");
        if let Some(policy) = policy {
            assert!(
                policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"),
                "{policy}"
            );
        }
    }
}

const BINARY: &str = env!("CARGO_BIN_EXE_msc-readiness");

/// Runs the binary with `args` against `database_url`, returning (status, stdout, stderr).
async fn run_binary(database_url: &str, args: &[&str]) -> (bool, String, String) {
    let output = tokio::process::Command::new(BINARY)
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("LOG_LEVEL", "trace")
        .output()
        .await
        .expect("binary runs");
    let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
    (output.status.success(), text(output.stdout), text(output.stderr))
}

/// The service logs at `trace`, the most it can, while keys are created, used, refused and
/// revoked; neither the command line's nor the API's keys appear in anything it writes.
#[tokio::test]
async fn keys_are_never_written_to_the_logs() {
    use sqlx::ConnectOptions;
    let (_, database) = crate::helpers::fresh_database().await;
    // sqlx's to_url_lossy cannot write a Unix-socket directory (the embedded test server's, held
    // as the host): write it as the `host` parameter, which sqlx reads back as the socket.
    let socket = database
        .get_socket()
        .map(|socket| socket.display().to_string())
        .or_else(|| database.get_host().starts_with('/').then(|| database.get_host().to_owned()));
    let database_url = match socket {
        Some(socket) => format!(
            "postgres://{}@localhost:{}/{}?host={socket}",
            database.get_username(),
            database.get_port(),
            database.get_database().unwrap_or("postgres"),
        ),
        None => database.to_url_lossy().to_string(),
    };

    let (created, key, cli_log) =
        run_binary(&database_url, &["keys", "create", "--organisation", "Logs"]).await;
    assert!(created, "keys create succeeds: {cli_log}");
    let key = key.trim().to_owned();
    assert!(key.starts_with("mscr_"), "the key alone on standard output: {key}");
    assert!(!cli_log.contains(&key[40..]), "the secret is not on standard error");

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let service = tokio::process::Command::new(BINARY)
        .env("DATABASE_URL", &database_url)
        .env("PORT", port.to_string())
        .env("LOG_LEVEL", "trace")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !client.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status() == 200) {
        assert!(std::time::Instant::now() < deadline, "service ready within 30 s");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let created: Value = client
        .post(format!("{base}/v1/keys"))
        .bearer_auth(&key)
        .json(&json!({"name": "second", "scopes": ["read"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let second = created["token"].as_str().unwrap().to_owned();
    assert_eq!(
        client.get(format!("{base}/v1/programs")).bearer_auth(&second).send().await.unwrap().status(),
        200
    );
    let wrong = format!("{}x", &second[..second.len() - 1]);
    assert_eq!(
        client.get(format!("{base}/v1/programs")).bearer_auth(&wrong).send().await.unwrap().status(),
        401
    );
    let revoke = format!("{base}/v1/keys/{}", created["id"].as_str().unwrap());
    client.delete(revoke).bearer_auth(&key).send().await.unwrap();
    assert_eq!(
        client.get(format!("{base}/v1/programs")).bearer_auth(&second).send().await.unwrap().status(),
        401
    );

    let pid = nix::unistd::Pid::from_raw(i32::try_from(service.id().unwrap()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let output = service.wait_with_output().await.unwrap();
    let log = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("request completed"), "the access log was captured");
    for secret in [&key, &second, &wrong] {
        let secret_part = &secret[secret.len() - 43..];
        assert!(!log.contains(secret_part), "a key's secret is in the log");
    }
}

#[tokio::test]
async fn postgresql_shows_a_request_only_its_organisations_rows_even_to_a_query_without_a_where() {
    use msc_readiness::persistence::{self, OrganisationId, PoolSettings, RowScope, with_connection};

    let app = spawn_app().await;
    app.submit(&reference_profile("disc_mature_allogeneic")).await;
    let other = app.client_with(&app.new_key("Organisation B", "read,write").await);
    let response = other
        .post(app.url("/v1/assessments"))
        .json(&json!({ "profile": reference_profile("disc_mature_allogeneic") }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let other_organisation: Uuid =
        sqlx::query_scalar("SELECT id FROM organisations WHERE name = 'Organisation B'")
            .fetch_one(&mut app.database().await)
            .await
            .unwrap();

    let pool = persistence::pool(
        app.database_options.clone(),
        PoolSettings { max_connections: 1, acquire_timeout: std::time::Duration::from_secs(5) },
    );
    assert!(
        persistence::row_security_in_force(&pool).await.unwrap(),
        "the test server runs the migration as a superuser"
    );
    let count = async |scope: RowScope, query: String| -> i64 {
        with_connection(&pool, scope, async |connection| {
            Ok::<_, persistence::PersistenceError>(
                sqlx::query_scalar(sqlx::AssertSqlSafe(query)).fetch_one(connection).await?,
            )
        })
        .await
        .unwrap()
    };
    let own = RowScope::Organisation(OrganisationId(app.organisation));
    // One connection, lent in turn to each scope: nothing of one lease's scope carries over.
    for (table, column) in [
        ("assessments", "organisation_id"),
        ("audit_events", "organisation_id"),
        ("api_keys", "organisation_id"),
        ("organisations", "id"),
    ] {
        for organisation in [app.organisation, other_organisation] {
            let scoped = count(
                RowScope::Organisation(OrganisationId(organisation)),
                format!("SELECT count(*) FROM {table}"),
            )
            .await;
            let filtered = count(
                RowScope::Service,
                format!("SELECT count(*) FROM {table} WHERE {column} = '{organisation}'"),
            )
            .await;
            assert!(scoped > 0, "{table}: the organisation has rows");
            assert_eq!(scoped, filtered, "{table}: a scope reads its own organisation's rows only");
        }
    }
    let nobody = RowScope::Organisation(OrganisationId(Uuid::now_v7()));
    assert_eq!(count(nobody, "SELECT count(*) FROM assessments".to_owned()).await, 0);

    // A connection kept across operations (a group-commit writer's), which skips setting a scope
    // it already has, changes scope with its operations.
    let mut kept = persistence::KeptConnection::new(persistence::pool(
        app.database_options.clone(),
        PoolSettings { max_connections: 1, acquire_timeout: std::time::Duration::from_secs(5) },
    ));
    for (scope, expected) in [
        (own, vec![app.organisation]),
        (own, vec![app.organisation]),
        (RowScope::Organisation(OrganisationId(other_organisation)), vec![other_organisation]),
        (RowScope::Service, vec![app.organisation, other_organisation]),
        (own, vec![app.organisation]),
    ] {
        let mut seen: Vec<Uuid> = kept
            .run(scope, async |connection| {
                Ok::<_, persistence::PersistenceError>(
                    sqlx::query_scalar("SELECT DISTINCT organisation_id FROM assessments")
                        .fetch_all(connection)
                        .await?,
                )
            })
            .await
            .unwrap();
        seen.sort_unstable();
        let mut expected = expected;
        expected.sort_unstable();
        assert_eq!(seen, expected, "{scope:?}: the kept connection reads its operation's scope");
    }

    // Writing another organisation's row is refused by PostgreSQL itself.
    let refused = with_connection(&pool, own, async |connection| {
        Ok::<_, persistence::PersistenceError>(
            sqlx::query(
                "INSERT INTO programs (id, organisation_id, key, name) VALUES ($1, $2, 'planted', 'planted')",
            )
            .bind(Uuid::now_v7())
            .bind(other_organisation)
            .execute(connection)
            .await?,
        )
    })
    .await;
    let error = refused.expect_err("a row of another organisation cannot be written");
    assert!(error.to_string().contains("row-level security"), "{error}");
}

#[tokio::test]
async fn behind_a_trusted_proxy_failures_count_per_forwarded_client_address() {
    let app = spawn_app_with(settings_with(&[
        ("AUTH_FAILURES_PER_MINUTE_PER_ADDRESS", "3"),
        ("AUTH_FAILURES_PER_MINUTE_PER_KEY", "0"),
        // The test client stands in for a reverse proxy on this machine.
        ("TRUSTED_PROXIES", "127.0.0.1, ::1"),
    ]))
    .await;
    let from = |forwarded_for: &str| {
        app.client_with(&unknown_key())
            .get(app.url("/v1/programs"))
            .header("x-forwarded-for", forwarded_for)
            .send()
    };
    for _ in 0..3 {
        assert_problem(from("192.0.2.7").await.unwrap(), 401).await;
    }
    assert_problem(from("192.0.2.7").await.unwrap(), 429).await;

    // Another client behind the same proxy is not throttled with the first (without the trusted
    // proxy both would be the proxy's address, and this would be 429 too).
    assert_problem(from("192.0.2.8").await.unwrap(), 401).await;
    // An entry the first client writes itself stands left of the one the proxy appends.
    assert_problem(from("198.51.100.1, 192.0.2.7").await.unwrap(), 429).await;
}
