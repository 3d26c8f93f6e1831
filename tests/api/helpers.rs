//! Spawns the real application on a random port against a fresh database of its own.
//!
//! The database server is the one `DATABASE_URL` names, or else the same embedded server the
//! service uses, kept in the system temp directory and reused by later test runs.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use msc_readiness::access::Scopes;
use msc_readiness::cli::{self, CreateKeyArgs};
use msc_readiness::configuration::Settings;
use msc_readiness::embedded_postgres::{EmbeddedPostgres, ProgramSearch};
use msc_readiness::persistence;
use msc_readiness::startup::Application;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

/// Databases left by earlier runs are dropped once they are this old.
const STALE_DATABASE_SECS: u64 = 2 * 60 * 60;

/// The organisation a test acts for unless it says otherwise.
pub const ORGANISATION_A: &str = "Organisation A";

/// A running application and what a test needs to talk to it.
pub struct TestApp {
    pub address: String,
    /// Sends an API key of [`ORGANISATION_A`] with every scope.
    pub client: reqwest::Client,
    /// Sends no credentials.
    pub anonymous: reqwest::Client,
    pub api_key: String,
    /// The id of [`ORGANISATION_A`].
    pub organisation: uuid::Uuid,
    pub database_name: String,
    pub database_options: PgConnectOptions,
}

impl TestApp {
    /// A new API key of `organisation` (created if new), made the way `keys create` makes it.
    pub async fn new_key(&self, organisation: &str, scopes: &str) -> String {
        self.create_key(organisation, scopes).await.token
    }

    async fn create_key(&self, organisation: &str, scopes: &str) -> cli::CreatedKey {
        let args = CreateKeyArgs {
            organisation: organisation.to_owned(),
            name: "test key".to_owned(),
            scopes: Scopes::parse_list(scopes).expect("valid scopes"),
            expires_in_days: None,
        };
        cli::create_key(self.database_options.clone(), &args).await.expect("key created")
    }

    /// A client that sends `key` with every request.
    pub fn client_with(&self, key: &str) -> reqwest::Client {
        let mut headers = reqwest::header::HeaderMap::new();
        let value = format!("Bearer {key}").parse().expect("key is a valid header value");
        headers.insert(reqwest::header::AUTHORIZATION, value);
        reqwest::Client::builder().default_headers(headers).build().expect("client")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("request sent")
    }
}

/// Connection options for the maintenance database of the test server.
pub fn admin_options() -> PgConnectOptions {
    static ADMIN: OnceLock<PgConnectOptions> = OnceLock::new();
    ADMIN
        .get_or_init(|| match std::env::var("DATABASE_URL") {
            Ok(url) if !url.is_empty() => url.parse().expect("DATABASE_URL is a valid PostgreSQL URL"),
            _ => {
                let data_dir = std::env::temp_dir().join("msc-readiness-test-postgres");
                let server = EmbeddedPostgres::attach_shared(&data_dir, &ProgramSearch::new(None))
                    .unwrap_or_else(|error| panic!("no test database: {error}"));
                let options = server.connect_options_for("postgres");
                // Left running on purpose: later tests in this process and later runs reuse it.
                std::mem::forget(server);
                options
            }
        })
        .clone()
}

/// Creates an empty database for one test; the application migrates it when it starts.
pub async fn fresh_database() -> (String, PgConnectOptions) {
    let admin = admin_options();
    drop_stale_databases(&admin).await;
    let created = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_secs();
    let name = format!("test_{created}_{}", uuid::Uuid::now_v7().simple());
    persistence::ensure_database(admin.clone(), &name).await.expect("test database created");
    let options = admin.database(&name);
    (name, options)
}

async fn drop_stale_databases(admin: &PgConnectOptions) {
    static DONE: AtomicBool = AtomicBool::new(false);
    if DONE.swap(true, Ordering::SeqCst) {
        return;
    }
    let mut connection = PgConnection::connect_with(admin).await.expect("test server reachable");
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'test\\_%'")
            .fetch_all(&mut connection)
            .await
            .expect("database list");
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_secs();
    for name in names {
        let created: Option<u64> = name.split('_').nth(1).and_then(|secs| secs.parse().ok());
        if created.is_some_and(|created| now.saturating_sub(created) > STALE_DATABASE_SECS) {
            let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
            // Best effort: another test process may be dropping the same one.
            let _ = sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&mut connection).await;
        }
    }
}

/// Settings as a fresh install has them, but on a random port.
pub fn test_settings() -> Settings {
    Settings::from_lookup(|name| (name == "PORT").then(|| "0".to_owned()))
        .expect("default settings are valid")
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(test_settings()).await
}

pub async fn spawn_app_with(settings: Settings) -> TestApp {
    let (database_name, database) = fresh_database().await;
    let application = Application::build(&settings, database.clone()).await.expect("application builds");
    let address = format!("http://127.0.0.1:{}", application.port());
    tokio::spawn(application.run_until_stopped());
    let mut app = TestApp {
        address,
        client: reqwest::Client::new(),
        anonymous: reqwest::Client::new(),
        api_key: String::new(),
        organisation: uuid::Uuid::nil(),
        database_name,
        database_options: database,
    };
    let key = app.create_key(ORGANISATION_A, "read,write,admin").await;
    app.api_key = key.token;
    app.organisation = key.organisation.0;
    app.client = app.client_with(&app.api_key);
    app
}

impl TestApp {
    /// Starts another instance of the service on this test's database, as a second process of a
    /// deployment would run; returns its address.
    pub async fn spawn_instance(&self, settings: Settings) -> String {
        let application =
            Application::build(&settings, self.database_options.clone()).await.expect("instance builds");
        let address = format!("http://127.0.0.1:{}", application.port());
        tokio::spawn(application.run_until_stopped());
        address
    }
}

/// Asserts that `response` is an RFC 9457 problem document with `status`, and returns its body.
pub async fn assert_problem(response: reqwest::Response, status: u16) -> serde_json::Value {
    assert_eq!(response.status().as_u16(), status, "status of {}", response.url());
    let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap_or("").to_owned());
    assert_eq!(content_type.as_deref(), Some("application/problem+json"));
    let body: serde_json::Value = response.json().await.expect("problem body is JSON");
    assert_eq!(body["status"], status, "{body}");
    assert!(body["type"].is_string() && body["title"].is_string() && body["detail"].is_string(), "{body}");
    body
}

/// A reference program's profile as a client would send it.
pub fn reference_profile(name: &str) -> serde_json::Value {
    let (_, json) = msc_readiness::scoring::REFERENCE_PROGRAMS
        .iter()
        .find(|(reference, _)| *reference == name)
        .unwrap_or_else(|| panic!("no reference program {name}"));
    serde_json::from_str(json).expect("reference profiles are JSON")
}

impl TestApp {
    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client.post(self.url(path)).json(body).send().await.expect("request sent")
    }

    /// Stores an assessment of `profile` and returns its record.
    pub async fn submit(&self, profile: &serde_json::Value) -> serde_json::Value {
        let response = self.post_json("/v1/assessments", &serde_json::json!({ "profile": profile })).await;
        assert_eq!(response.status(), 201);
        response.json().await.expect("record")
    }
}

/// An assessment row written straight into a test database, for sets with hand-chosen scores and
/// for volume.
pub struct StoredRow<'a> {
    pub organisation: uuid::Uuid,
    pub program: Option<uuid::Uuid>,
    pub overall: f64,
    pub survival: f64,
    pub limiting_barrier: &'a str,
    pub indication: Option<&'a str>,
    pub created_at: &'a str,
    /// Whether it is its program's latest assessment (the service keeps this flag on its writes).
    pub latest: bool,
}

impl TestApp {
    /// A connection to this test's own database.
    pub async fn database(&self) -> PgConnection {
        PgConnection::connect_with(&self.database_options).await.expect("test database reachable")
    }

    /// Creates an organisation other than the test's own.
    pub async fn insert_organisation(&self, name: &str) -> uuid::Uuid {
        let id = uuid::Uuid::now_v7();
        sqlx::query("INSERT INTO organisations (id, name) VALUES ($1, $2)")
            .bind(id)
            .bind(name)
            .execute(&mut self.database().await)
            .await
            .expect("organisation inserted");
        id
    }

    /// Creates a program of `organisation`.
    pub async fn insert_program(&self, organisation: uuid::Uuid, key: &str) -> uuid::Uuid {
        let id = uuid::Uuid::now_v7();
        sqlx::query("INSERT INTO programs (id, organisation_id, key, name) VALUES ($1, $2, $3, $3)")
            .bind(id)
            .bind(organisation)
            .bind(key)
            .execute(&mut self.database().await)
            .await
            .expect("program inserted");
        id
    }

    /// Writes `rows`; barriers other than survival score 50.
    pub async fn insert_rows(&self, rows: &[StoredRow<'_>]) {
        let mut connection = self.database().await;
        for row in rows {
            sqlx::query(
                "INSERT INTO assessments (id, organisation_id, program_id, model_version, profile, result, indication,
                   overall_index, limiting_barrier, survival, retention, variability, scalability, safety, outcomes,
                   regulatory, created_at, latest)
                 VALUES (gen_random_uuid(), $1, $2, 'test', '{}', '{}', $3, $4, $5, $6, 50, 50, 50, 50, 50, 50,
                   $7::timestamptz, $8)",
            )
            .bind(row.organisation)
            .bind(row.program)
            .bind(row.indication)
            .bind(row.overall)
            .bind(row.limiting_barrier)
            .bind(row.survival)
            .bind(row.created_at)
            .bind(row.latest)
            .execute(&mut connection)
            .await
            .expect("assessment row inserted");
        }
    }
}
