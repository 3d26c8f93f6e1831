//! Wiring: database, HTTP server, middleware, and the service's lifecycle.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::{Condition, ErrorHandlers, from_fn};
use actix_web::{App, HttpServer, web};
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use tokio::sync::watch;
use uuid::Uuid;

use crate::api::auth_throttle::{self, AuthThrottle};
use crate::api::caller::RateLimiters;
use crate::api::forwarded::TrustedProxies;
use crate::api::health::MetricsToken;
use crate::api::jobs::ImportLimits;
use crate::api::key_cache::KeyCache;
use crate::api::keys::KeyLimit;
use crate::api::{self, observability, problem, security_headers};
use crate::configuration::{DatabasePooler, DatabaseSource, RateLimitStore, Settings};
use crate::embedded_postgres::{EmbeddedPostgres, EmbeddedPostgresError, ProgramSearch};
use crate::jobs::{Wake, Worker};
use crate::persistence::access::{KeyChange, KeyChanges, announce_heartbeat};
use crate::persistence::replica::ReadPools;
use crate::persistence::{self, PersistenceError, PoolSettings};

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("{0}")]
    EmbeddedDatabase(#[from] EmbeddedPostgresError),
    #[error("invalid configuration: DATABASE_URL is not a valid PostgreSQL URL: {0}")]
    DatabaseUrl(#[source] sqlx::Error),
    #[error("invalid configuration: {variable} is not a valid PostgreSQL URL: {source}")]
    OtherUrl { variable: &'static str, source: sqlx::Error },
    #[error("cannot prepare the database (is it running and reachable?): {0}")]
    Database(#[from] PersistenceError),
    #[error("cannot listen on {address}: {source}")]
    Bind { address: String, source: std::io::Error },
    #[error("cannot set up metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    #[error("the scoring model compiled into this binary is invalid: {0}")]
    Model(#[from] crate::scoring::ModelError),
    #[error("the embedded database task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// A built, listening service that has not started serving yet.
pub struct Application {
    server: Server,
    port: u16,
    pool: PgPool,
    /// This instance's job workers, and the signal that stops them after the server.
    job_workers: Vec<tokio::task::JoinHandle<()>>,
    stop_jobs: watch::Sender<bool>,
    /// The connection on which key changes are announced (see `follow_key_changes`).
    key_changes_pool: PgPool,
}

impl Application {
    /// Connects (lazily) to the database, applies the migrations and binds the listener.
    /// Port 0 picks a free port, which tests use.
    pub async fn build(settings: &Settings, database: PgConnectOptions) -> Result<Self, StartupError> {
        let pooled = settings.database_pooler == DatabasePooler::Transaction;
        persistence::use_transaction_pooling(pooled);
        // Migrations and key-change announcements need a session: behind a transaction pooler
        // they use DATABASE_DIRECT_URL when it is set.
        let direct = match &settings.database_direct_url {
            Some(url) => Some(
                url.parse::<PgConnectOptions>()
                    .map_err(|source| StartupError::OtherUrl { variable: "DATABASE_DIRECT_URL", source })?,
            ),
            None => None,
        };
        let session = direct.clone().unwrap_or_else(|| database.clone());
        let pool = persistence::pool(
            database.clone(),
            PoolSettings {
                max_connections: settings.database_pool_size,
                acquire_timeout: settings.database_acquire_timeout,
            },
        );
        match &direct {
            Some(direct) => {
                let migrations = persistence::pool(
                    direct.clone(),
                    PoolSettings { max_connections: 1, acquire_timeout: settings.database_acquire_timeout },
                );
                persistence::migrate(&migrations).await?;
                migrations.close().await;
            }
            None => persistence::migrate(&pool).await?,
        }
        match persistence::row_security_in_force(&pool).await {
            Ok(true) => tracing::info!("PostgreSQL enforces organisation scopes (row-level security)"),
            Ok(false) => tracing::warn!(
                "role msc_readiness_app is missing or not granted to this database user: only the queries scope \
                 organisations (create the role, as migration 0010 does, to have PostgreSQL enforce them too)"
            ),
            Err(error) => {
                tracing::warn!(%error, "cannot tell whether PostgreSQL enforces organisation scopes")
            }
        }
        let rate_limiters = web::Data::new(match settings.rate_limit_store {
            RateLimitStore::Memory => {
                RateLimiters::new(settings.rate_limit, settings.organisation_rate_limit)
            }
            RateLimitStore::Postgres => {
                RateLimiters::shared(settings.rate_limit, settings.organisation_rate_limit, pool.clone())
            }
        });
        tokio::spawn(hourly_housekeeping(pool.clone(), rate_limiters.clone()));
        let reads = match &settings.database_read_url {
            Some(url) => {
                let replica = url
                    .parse::<PgConnectOptions>()
                    .map_err(|source| StartupError::OtherUrl { variable: "DATABASE_READ_URL", source })?;
                let replica = persistence::pool(
                    replica,
                    PoolSettings {
                        max_connections: settings.database_pool_size,
                        // A replica that does not answer is left quickly for the primary.
                        acquire_timeout: settings.database_acquire_timeout.min(REPLICA_ACQUIRE_TIMEOUT),
                    },
                );
                let reads = ReadPools::with_replica(pool.clone(), replica, settings.replica_max_lag);
                reads.measure(REPLICA_ACQUIRE_TIMEOUT).await;
                tokio::spawn(measure_replica(reads.clone()));
                reads
            }
            None => ReadPools::primary_only(pool.clone()),
        };
        let auth_throttle = web::Data::new(AuthThrottle::new(settings.auth_failures));
        let trusted_proxies = web::Data::new(TrustedProxies::new(settings.trusted_proxies.clone()));
        let key_cache = web::Data::new(KeyCache::new());
        let key_changes_pool = persistence::pool(
            session,
            // One connection listens; the other sends its heartbeats.
            PoolSettings { max_connections: 2, acquire_timeout: settings.database_acquire_timeout },
        );
        // LISTEN needs a session of its own, which a transaction pooler cannot give.
        if pooled && direct.is_none() {
            key_cache.reset(false);
            tracing::warn!(
                "behind a transaction pooler without DATABASE_DIRECT_URL key changes cannot be announced: \
                 every key is verified in the database"
            );
        } else {
            // Listening before the first request, so that the cache serves from the start.
            let key_changes = KeyChanges::listen(&key_changes_pool).await.ok();
            key_cache.reset(key_changes.is_some());
            if key_changes.is_none() {
                tracing::warn!(
                    "key changes are not announced: every key is verified in the database until they are"
                );
            }
            tokio::spawn(follow_key_changes(key_changes_pool.clone(), key_cache.clone(), key_changes));
        }
        tokio::spawn(forget_idle_auth_failures(pool.clone(), auth_throttle.clone()));
        if let Some(interval) = settings.stats_fold_interval {
            tokio::spawn(fold_score_counts(pool.clone(), interval));
        }
        let wake = Wake::default();
        let (stop_jobs, stop_receiver) = watch::channel(false);
        let job_workers = match settings.job_poll_interval {
            Some(poll) => (0..settings.job_workers)
                .map(|_| {
                    let worker = Worker::new(pool.clone(), settings.job_batch_size);
                    tokio::spawn(worker.run(poll, wake.clone(), stop_receiver.clone()))
                })
                .collect(),
            None => Vec::new(),
        };
        let wake = web::Data::new(wake);
        let import_limits = web::Data::new(ImportLimits {
            line_bytes: settings.body_limit_bytes,
            stall: settings.request_timeout,
            group_lines: usize::try_from(settings.job_batch_size).unwrap_or(usize::MAX),
        });

        let address = format!("{}:{}", settings.host, settings.port);
        let listener = TcpListener::bind(&address)
            .map_err(|source| StartupError::Bind { address: address.clone(), source })?;
        let port = listener.local_addr().map_err(|source| StartupError::Bind { address, source })?.port();

        let (registry, http_metrics) = api::metrics::build(&pool, &reads)?;
        let reads = web::Data::new(reads);
        let spec = api::openapi::spec();
        let known_routes = web::Data::new(api::routing::KnownRoutes::new(&spec));
        let body_limit = settings.body_limit_bytes;
        let max_keys_per_organisation = settings.max_keys_per_organisation;
        let request_timeout = settings.request_timeout;
        let admission =
            api::admission::Admission::new(settings.max_requests_in_flight, settings.admission_wait);
        let pool_data = web::Data::new(pool.clone());
        let registry = web::Data::new(registry);
        let metrics_token = settings.metrics_token.clone().map(|token| web::Data::new(MetricsToken(token)));
        // Without a token nobody can read the metrics, so none are recorded.
        let metrics_enabled = metrics_token.is_some();
        // One HTTP worker a CPU (actix's default, stated so the group commits can share the pool).
        let http_workers = std::thread::available_parallelism().map_or(1, usize::from);
        let server = HttpServer::new(move || {
            // Made on the worker's thread: its writers run there, beside the requests they store.
            let group_commit = web::Data::new(crate::persistence::group_commit::GroupCommit::new(
                pool_data.get_ref().clone(),
                http_workers,
            ));
            let mut app = App::new()
                .app_data(rate_limiters.clone())
                .app_data(web::Data::new(KeyLimit(max_keys_per_organisation)));
            if let Some(metrics_token) = &metrics_token {
                app = app.app_data(metrics_token.clone());
            }
            app.into_utoipa_app()
                .configure(api::configure)
                .into_app()
                .service(web::redirect("/docs", "/docs/"))
                // The dashboard page is not part of the API document, so it is registered here.
                .configure(crate::dashboard::configure)
                .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", spec.clone()))
                .app_data(pool_data.clone())
                .app_data(group_commit)
                .app_data(reads.clone())
                .app_data(auth_throttle.clone())
                .app_data(trusted_proxies.clone())
                .app_data(key_cache.clone())
                .app_data(registry.clone())
                .app_data(known_routes.clone())
                .app_data(wake.clone())
                .app_data(import_limits.clone())
                .app_data(web::JsonConfig::default().limit(body_limit).error_handler(problem::json_error))
                .app_data(web::PayloadConfig::new(body_limit))
                .app_data(web::Data::new(problem::BodyLimit(body_limit)))
                .app_data(web::QueryConfig::default().error_handler(problem::query_error))
                .app_data(web::PathConfig::default().error_handler(problem::path_error))
                .default_service(web::to(api::routing::unmatched))
                .wrap(from_fn(move |request, next| api::deadline::enforce(request_timeout, request, next)))
                .wrap(from_fn({
                    let admission = admission.clone();
                    move |request, next| api::admission::admit(admission.clone(), request, next)
                }))
                .wrap(from_fn(api::content_coding::refuse_compressed_bodies))
                .wrap(from_fn(api::head_size::refuse_oversized_heads))
                .wrap(ErrorHandlers::new().default_handler(observability::ensure_problem_document))
                .wrap(Condition::new(
                    metrics_enabled,
                    from_fn({
                        let http_metrics = http_metrics.clone();
                        move |request, next| api::metrics::record(http_metrics.clone(), request, next)
                    }),
                ))
                .wrap(from_fn(observability::request_context))
                .wrap(from_fn(security_headers::security_headers))
        })
        // Signals are handled by `serve`, which shuts down gracefully on SIGINT as well as SIGTERM.
        .disable_signals()
        .workers(http_workers)
        .shutdown_timeout(settings.shutdown_timeout.as_secs())
        .listen(listener)
        .map_err(|source| StartupError::Bind { address: format!("{}:{port}", settings.host), source })?
        .run();
        Ok(Self { server, port, pool, job_workers, stop_jobs, key_changes_pool })
    }

    /// The port the service listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle to stop the server (gracefully or not) from elsewhere.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until the server is stopped, then stops the job workers (each after its batch under
    /// way) and closes the database pool.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        // Sending fails only when every worker has already ended.
        let _ = self.stop_jobs.send(true);
        for worker in self.job_workers {
            if let Err(error) = worker.await {
                tracing::error!(%error, "a job worker ended abnormally");
            }
        }
        self.key_changes_pool.close().await;
        self.pool.close().await;
        result
    }
}

/// Once an hour: forgets expired idempotency keys (a failed round is retried the next hour) and
/// the rate-limit state of keys that have been idle.
async fn hourly_housekeeping(pool: PgPool, rate_limiters: web::Data<RateLimiters>) {
    let mut hourly = tokio::time::interval(Duration::from_secs(3600));
    loop {
        hourly.tick().await;
        if pool.is_closed() {
            return;
        }
        rate_limiters.forget_idle().await;
        match persistence::jobs::discard_abandoned_uploads(&pool).await {
            Ok(discarded) if discarded > 0 => tracing::info!(discarded, "abandoned import uploads discarded"),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "could not discard abandoned import uploads"),
        }
        match persistence::assessments::purge_expired_idempotency_keys(&pool).await {
            Ok(purged) if purged > 0 => tracing::info!(purged, "expired idempotency keys purged"),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "could not purge expired idempotency keys"),
        }
    }
}

/// How often a listener sends itself a heartbeat on the key-change channel.
const KEY_CHANGES_HEARTBEAT: Duration = Duration::from_secs(1);
/// A listener that has not heard its own heartbeat for this long is treated as lost: a revoked
/// key can be served from the cache for at most about this long when announcements stop arriving
/// without an error (a half-open connection), instead of the cache's whole time to live.
const KEY_CHANGES_SILENCE: Duration = Duration::from_secs(3);

/// Keeps the cache of verified keys in step with the database: it is used only while the database
/// announces key changes to this process, each announced key is dropped from it at once, and it
/// is emptied whenever announcements may have been missed. `listening`, when the service starts
/// with one, has already turned the cache on. Ends when `pool` is closed.
async fn follow_key_changes(pool: PgPool, cache: web::Data<KeyCache>, mut listening: Option<KeyChanges>) {
    loop {
        if let Some(changes) = listening.take() {
            follow_until_silent(&pool, &cache, changes).await;
            cache.reset(false);
            if !pool.is_closed() {
                tracing::warn!(
                    "key changes are not announced: every key is verified in the database until they are"
                );
            }
        }
        if pool.is_closed() {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        listening = KeyChanges::listen(&pool).await.ok();
        if listening.is_some() {
            cache.reset(true);
            tracing::info!("key changes are announced again: verified keys are cached");
        }
    }
}

/// Applies announced key changes to `cache` until the connection fails or falls silent: no
/// heartbeat of this process heard for [`KEY_CHANGES_SILENCE`].
async fn follow_until_silent(pool: &PgPool, cache: &KeyCache, mut changes: KeyChanges) {
    // The listener reads in a task of its own, so that the heartbeat timer never cancels a read
    // half-way through a message.
    let (sender, mut received) = tokio::sync::mpsc::channel(64);
    let reader = tokio::spawn(async move {
        loop {
            let change = changes.next().await;
            let lost = !matches!(change, Ok(KeyChange::Changed(_) | KeyChange::Heartbeat(_)));
            if sender.send(change).await.is_err() || lost {
                return;
            }
        }
    });
    let token = Uuid::now_v7();
    let mut last_heard = tokio::time::Instant::now();
    let mut ticks = tokio::time::interval(KEY_CHANGES_HEARTBEAT);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            change = received.recv() => match change {
                Some(Ok(KeyChange::Changed(id))) => cache.forget(id),
                Some(Ok(KeyChange::Heartbeat(heard))) => {
                    if heard == token {
                        last_heard = tokio::time::Instant::now();
                    }
                }
                Some(Ok(KeyChange::Missed) | Err(_)) | None => break,
            },
            _ = ticks.tick() => {
                if last_heard.elapsed() > KEY_CHANGES_SILENCE {
                    tracing::warn!("the key-change listener stopped hearing its heartbeats; it reconnects");
                    break;
                }
                // Sent from the pool's other connection; a send that hangs is abandoned, and its
                // heartbeat counts as unheard.
                let pool = pool.clone();
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(KEY_CHANGES_SILENCE, announce_heartbeat(&pool, token)).await;
                });
            }
        }
    }
    reader.abort();
}

/// How long a read waits for a replica connection, and a measurement for the replica's answer.
const REPLICA_ACQUIRE_TIMEOUT: Duration = Duration::from_millis(500);
/// How often the replica's lag is measured.
const REPLICA_MEASURE_INTERVAL: Duration = Duration::from_secs(1);

/// Measures the replica's lag every second, for as long as the primary's pool is open.
async fn measure_replica(reads: ReadPools) {
    let mut ticks = tokio::time::interval(REPLICA_MEASURE_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if reads.primary_closed() {
            return;
        }
        reads.measure(REPLICA_ACQUIRE_TIMEOUT).await;
    }
}

/// Every few seconds: forgets the failed-authentication state of clients that stopped failing,
/// so a spray of addresses or key ids leaves no lasting state.
async fn forget_idle_auth_failures(pool: PgPool, throttle: web::Data<AuthThrottle>) {
    let mut ticks = tokio::time::interval(auth_throttle::HOUSEKEEPING_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if pool.is_closed() {
            return;
        }
        throttle.forget_idle();
    }
}

/// Folds the queued score changes into the statistics rollup every `interval`: reads add what is
/// still queued, so this bounds their work, not their correctness. A failure (the database away)
/// is logged once, and the queue waits for the next round.
async fn fold_score_counts(pool: PgPool, interval: Duration) {
    let mut rounds = tokio::time::interval(interval);
    rounds.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        rounds.tick().await;
        if pool.is_closed() {
            return;
        }
        match persistence::score_counts::fold(&pool).await {
            Ok(folded) => {
                failing = false;
                if folded > 0 {
                    tracing::debug!(folded, "score changes folded into the statistics rollup");
                }
            }
            Err(error) if !failing => {
                failing = true;
                tracing::warn!(%error, "could not fold score changes into the statistics rollup");
            }
            Err(_) => {}
        }
    }
}

/// Runs the service until SIGINT, SIGTERM or SIGHUP: provides the database (embedded unless
/// `DATABASE_URL` is set), serves, drains in-flight requests, and stops what it started. An
/// embedded server that dies is restarted; one that cannot be restarted stops the service with an
/// error, rather than leaving it answering 503 forever.
pub async fn serve(settings: Settings) -> Result<(), StartupError> {
    let model = crate::scoring::Model::load()?;
    tracing::info!(model_version = model.version(), "scoring model loaded");
    let database = Database::provide(&settings).await?;

    let application = Application::build(&settings, database.options.clone()).await?;
    tracing::info!(
        "listening on http://{host}:{port} (Swagger UI: http://{host}:{port}/docs/)",
        host = settings.host,
        port = application.port()
    );
    let handle = application.handle();
    let supervisor = database.embedded.clone().map(|server| tokio::spawn(supervise(server, handle.clone())));
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutdown requested: draining in-flight requests");
        handle.stop(true).await;
    });
    let served = application.run_until_stopped().await;
    let supervised = match supervisor {
        Some(supervisor) if supervisor.is_finished() => supervisor.await?,
        Some(supervisor) => {
            supervisor.abort();
            Ok(())
        }
        None => Ok(()),
    };
    database.release().await?;
    supervised?;
    served.map_err(|source| StartupError::Bind { address: settings.host.clone(), source })
}

/// Restarts of the embedded server that may fail in a row before the service gives up.
const RESTART_ATTEMPTS: u32 = 3;

/// Checks the embedded server every second and starts it again when it has died (a crash, an
/// out-of-memory kill, an operator's mistake); the pool's next connections reach the new server
/// on the same socket. After [`RESTART_ATTEMPTS`] failed restarts in a row, stops the service and
/// returns why.
async fn supervise(server: Arc<Mutex<EmbeddedPostgres>>, service: ServerHandle) -> Result<(), StartupError> {
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failures = 0;
    loop {
        ticks.tick().await;
        let server = server.clone();
        let checked = tokio::task::spawn_blocking(move || {
            let mut server = server.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if server.is_running() {
                return Ok(false);
            }
            tracing::error!(
                data_dir = %server.data_dir().display(),
                "the embedded PostgreSQL is not running (see server.log in its data directory); restarting it"
            );
            server.restart().map(|()| true)
        })
        .await?;
        match checked {
            Ok(false) => failures = 0,
            Ok(true) => {
                failures = 0;
                tracing::warn!("the embedded PostgreSQL was restarted");
            }
            Err(error) => {
                failures += 1;
                tracing::error!(%error, attempt = failures, "could not restart the embedded PostgreSQL");
                if failures >= RESTART_ATTEMPTS {
                    tracing::error!("the embedded PostgreSQL cannot be restarted: the service stops");
                    service.stop(true).await;
                    return Err(error.into());
                }
            }
        }
    }
}

/// The service's database: the server `DATABASE_URL` names, or the embedded one, started (or
/// adopted, when a killed service left it running) for as long as the service needs it.
pub struct Database {
    pub options: PgConnectOptions,
    embedded: Option<Arc<Mutex<EmbeddedPostgres>>>,
}

impl Database {
    /// The service's database: with the embedded server, this process owns its data directory.
    pub async fn provide(settings: &Settings) -> Result<Self, StartupError> {
        Self::provide_as(settings, false).await
    }

    /// A command's database (`keys create`): the embedded server of a running service is used
    /// without taking it over; without a service, the command starts the server and stops it.
    pub async fn provide_for_command(settings: &Settings) -> Result<Self, StartupError> {
        Self::provide_as(settings, true).await
    }

    async fn provide_as(settings: &Settings, beside_a_service: bool) -> Result<Self, StartupError> {
        match &settings.database {
            DatabaseSource::Url(url) => Ok(Self {
                options: url.parse::<PgConnectOptions>().map_err(StartupError::DatabaseUrl)?,
                embedded: None,
            }),
            DatabaseSource::Embedded(embedded_settings) => {
                let embedded_settings = embedded_settings.clone();
                let server = tokio::task::spawn_blocking(move || {
                    let data_dir = &embedded_settings.data_dir;
                    let search = ProgramSearch::new(embedded_settings.bin_dir.as_deref());
                    match EmbeddedPostgres::start(data_dir, &search) {
                        Err(EmbeddedPostgresError::InUse { .. }) if beside_a_service => {
                            EmbeddedPostgres::attach_shared(data_dir, &search)
                        }
                        started => started,
                    }
                })
                .await??;
                let options = server.connect_options();
                let admin = server.connect_options_for("postgres");
                persistence::ensure_database(admin, crate::embedded_postgres::DATABASE_NAME).await?;
                Ok(Self { options, embedded: Some(Arc::new(Mutex::new(server))) })
            }
        }
    }

    /// Stops the embedded server if this process owns it.
    pub async fn release(self) -> Result<(), StartupError> {
        if let Some(server) = self.embedded {
            tokio::task::spawn_blocking(move || {
                server.lock().unwrap_or_else(std::sync::PoisonError::into_inner).stop()
            })
            .await??;
        }
        Ok(())
    }
}

/// SIGINT (Ctrl-C), SIGTERM, or SIGHUP: the terminal closing is a request to stop like the others,
/// and gets the same drain and the same orderly stop of the embedded server.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (signal(SignalKind::terminate()), signal(SignalKind::hangup())) {
        (Ok(mut terminate), Ok(mut hangup)) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
                _ = hangup.recv() => {}
            }
        }
        (Err(error), _) | (_, Err(error)) => {
            tracing::warn!(%error, "cannot listen for SIGTERM and SIGHUP; only Ctrl-C stops the service");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
