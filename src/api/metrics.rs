//! Prometheus metrics: requests by route, method and status with their latency, plus the database
//! pool and, with a read replica, its lag, read at scrape time.
//!
//! Every label takes a bounded set of values, whatever clients send: the route is a documented
//! pattern or `(unmatched)`, the method one of the nine standard ones or `other`, the status one of
//! the codes the service answers. A request line such as `XQZKWPAHBNEL /x HTTP/1.1` would otherwise
//! make a new series that is never dropped (issue 20, finding 1: 200,000 such requests kept 360 MB).
//! When metrics are off (no `METRICS_TOKEN`) nothing is recorded at all.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{Gauge, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry};
use sqlx::PgPool;

use crate::persistence::replica::ReadPools;

/// Reports the pool's connections in use and idle whenever metrics are gathered.
struct PoolCollector {
    pool: PgPool,
    in_use: IntGauge,
    idle: IntGauge,
}

impl Collector for PoolCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.in_use.desc().into_iter().chain(self.idle.desc()).collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let idle = i64::try_from(self.pool.num_idle()).unwrap_or(i64::MAX);
        self.in_use.set(i64::from(self.pool.size()) - idle);
        self.idle.set(idle);
        self.in_use.collect().into_iter().chain(self.idle.collect()).collect()
    }
}

/// Reports the read replica's lag and whether it serves reads whenever metrics are gathered.
struct ReplicaCollector {
    reads: ReadPools,
    lag: Gauge,
    in_use: IntGauge,
}

impl Collector for ReplicaCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.lag.desc().into_iter().chain(self.in_use.desc()).collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        // Unknown (the replica does not answer): NaN, which Prometheus reads as no value.
        self.lag.set(self.reads.replica_lag().map_or(f64::NAN, |lag| lag.as_secs_f64()));
        self.in_use.set(i64::from(self.reads.replica_in_use().unwrap_or(false)));
        self.lag.collect().into_iter().chain(self.in_use.collect()).collect()
    }
}

/// The label every request whose path matched no route shares.
const UNMATCHED: &str = "(unmatched)";
/// The label of every method outside RFC 9110's and RFC 5789's standard ones.
const OTHER_METHOD: &str = "other";

/// The method as a label: one of a fixed set.
pub fn method_label(method: &Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "CONNECT" => "CONNECT",
        "OPTIONS" => "OPTIONS",
        "TRACE" => "TRACE",
        "PATCH" => "PATCH",
        _ => OTHER_METHOD,
    }
}

/// The HTTP request counter and latency histogram, shared by all workers.
#[derive(Clone)]
pub struct HttpMetrics {
    requests: IntCounterVec,
    duration: HistogramVec,
}

impl HttpMetrics {
    fn record(&self, route: &str, method: &'static str, status: u16, started: Instant) {
        let status = status.to_string();
        let labels = [route, method, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.duration.with_label_values(&labels).observe(started.elapsed().as_secs_f64());
    }
}

/// The registry (with the pool collector) and the HTTP metrics, created once.
pub fn build(pool: &PgPool, reads: &ReadPools) -> Result<(Registry, HttpMetrics), prometheus::Error> {
    let registry = Registry::new();
    let collector = PoolCollector {
        pool: pool.clone(),
        in_use: IntGauge::with_opts(Opts::new(
            "db_pool_connections_in_use",
            "Database connections checked out of the pool",
        ))?,
        idle: IntGauge::with_opts(Opts::new(
            "db_pool_connections_idle",
            "Open database connections idle in the pool",
        ))?,
    };
    registry.register(Box::new(collector))?;
    if reads.replica_in_use().is_some() {
        registry.register(Box::new(ReplicaCollector {
            reads: reads.clone(),
            lag: Gauge::with_opts(Opts::new(
                "db_replica_lag_seconds",
                "Replay lag of the read replica behind the primary, as last measured (NaN: not answering)",
            ))?,
            in_use: IntGauge::with_opts(Opts::new(
                "db_replica_in_use",
                "1 while the read replica serves reads that may lag, 0 while they go to the primary",
            ))?,
        }))?;
    }
    let labels = ["endpoint", "method", "status"];
    let requests = IntCounterVec::new(
        Opts::new("http_requests_total", "Total number of HTTP requests").namespace("msc_readiness"),
        &labels,
    )?;
    let duration = HistogramVec::new(
        HistogramOpts::new(
            "http_requests_duration_seconds",
            "HTTP request duration in seconds, until the last byte of the response body",
        )
        .namespace("msc_readiness"),
        &labels,
    )?;
    registry.register(Box::new(requests.clone()))?;
    registry.register(Box::new(duration.clone()))?;
    Ok((registry, HttpMetrics { requests, duration }))
}

/// Records each request once its response body has been sent (or dropped: a client gone, a
/// stream cut). The Swagger UI's static files are not API traffic and are not counted.
pub async fn record(
    metrics: HttpMetrics,
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<TimedBody>, actix_web::Error> {
    let started = Instant::now();
    let method = method_label(request.method());
    let response = next.call(request).await?;
    let route = response.request().match_pattern().unwrap_or_else(|| UNMATCHED.to_owned());
    let status = response.status().as_u16();
    let recording =
        (!route.starts_with("/docs")).then_some(Recording { metrics, route, method, status, started });
    Ok(response.map_body(|_, body| TimedBody { body: body.boxed(), recording }))
}

struct Recording {
    metrics: HttpMetrics,
    route: String,
    method: &'static str,
    status: u16,
    started: Instant,
}

/// A response body that records its request's metrics when it is done.
pub struct TimedBody {
    body: BoxBody,
    recording: Option<Recording>,
}

impl Drop for TimedBody {
    fn drop(&mut self) {
        if let Some(Recording { metrics, route, method, status, started }) = self.recording.take() {
            metrics.record(&route, method, status, started);
        }
    }
}

impl MessageBody for TimedBody {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.body).poll_next(context)
    }
}
