//! Prometheus metrics: HTTP metrics from `actix-web-prom`, plus the database pool read at scrape time.

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntGauge, Opts, Registry};
use sqlx::PgPool;

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

/// The registry and the HTTP metrics middleware, created once and shared by all workers.
pub fn build(pool: &PgPool) -> Result<(Registry, actix_web_prom::PrometheusMetrics), prometheus::Error> {
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
    let http = actix_web_prom::PrometheusMetricsBuilder::new("msc_readiness")
        .registry(registry.clone())
        // Unmatched paths share one label, so scanners cannot blow up the label cardinality.
        .mask_unmatched_patterns("(unmatched)")
        // The Swagger UI's static files are not API traffic.
        .exclude_regex("^/docs")
        .build()
        .map_err(|error| prometheus::Error::Msg(error.to_string()))?;
    Ok((registry, http))
}
