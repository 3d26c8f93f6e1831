//! Charts as SVG images: an assessment's radar and a program's trend, rendered server-side.

use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use sqlx::PgPool;
use uuid::Uuid;

use super::caller::Caller;
use super::problem::{ApiError, Problem};
use crate::charts::{self, Radar, RadarAxis, Trend, TrendSeries};
use crate::persistence::assessments as assessment_store;
use crate::persistence::charts::{self as store, TrendPoint};
use crate::persistence::programs as program_store;
use crate::persistence::replica::ReadPools;
use crate::scoring::{Band, Barrier};

/// The trend shows at most this many of a program's latest assessments.
const TREND_POINTS: u32 = 200;

/// What the radar reads of a stored result: only these fields, so results of every model
/// version that has them can be drawn.
#[derive(Deserialize)]
struct RadarResult {
    overall: StoredOverall,
    barriers: Vec<StoredBarrier>,
}

#[derive(Deserialize)]
struct StoredOverall {
    readiness_index: f64,
    pessimistic: f64,
    optimistic: f64,
    limiting_barrier: Barrier,
}

#[derive(Deserialize)]
struct StoredBarrier {
    barrier: Barrier,
    /// Null when nothing is known about the barrier; results stored before scores could be null
    /// hold 0 there, so the band says whether there is a score to draw.
    score: Option<f64>,
    band: Band,
    pessimistic: f64,
    optimistic: f64,
}

/// A barrier's name as a chart prints it.
fn label(barrier: Barrier) -> &'static str {
    match barrier {
        Barrier::Survival => "Survival",
        Barrier::Retention => "Retention",
        Barrier::Variability => "Variability",
        Barrier::Scalability => "Scalability",
        Barrier::Safety => "Safety",
        Barrier::Outcomes => "Outcomes",
        Barrier::Regulatory => "Regulatory",
    }
}

fn svg_response(svg: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/svg+xml")
        // Per organisation, and gone once the assessment is deleted: revalidate every time.
        .insert_header(CacheControl(vec![CacheDirective::Private, CacheDirective::NoCache]))
        // Opened on its own, the image may run nothing and load nothing.
        .insert_header((header::CONTENT_SECURITY_POLICY, "default-src 'none'"))
        .body(svg)
}

/// Radar chart of an assessment
///
/// The seven barrier scores on a radar (rings at 0, 25, 50, 75 and 100) with the band between
/// the pessimistic and optimistic scores: how far the unknowns could still move each barrier. A
/// barrier with nothing known has no score: the outline has a gap at its axis, labelled `unknown`.
/// An accessible SVG image (`role="img"`, `<title>` and a `<desc>` giving the scores in words).
#[utoipa::path(
    security(("api_key" = ["read"])),
    tag = "charts",
    params(("id" = Uuid, Path, description = "Assessment id")),
    responses(
        (status = 200, description = "The radar chart", body = String, content_type = "image/svg+xml"),
        (status = 404, description = "No such assessment", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The stored result is of a model version this service cannot draw", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/assessments/{id}/chart.svg")]
pub async fn assessment_chart(
    caller: Caller,
    id: web::Path<Uuid>,
    pool: web::Data<PgPool>,
) -> Result<HttpResponse, ApiError> {
    let stored = assessment_store::fetch(&pool, caller.organisation, *id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no assessment {id}")))?;
    let result: RadarResult = serde_json::from_value(stored.result.into_value()?).map_err(|_| {
        ApiError::Conflict(format!(
            "assessment {id} was scored by model version {}, whose results this service cannot draw; re-score it first",
            stored.model_version
        ))
    })?;
    let overall = &result.overall;
    let chart = Radar {
        title: format!("Barrier scores, assessment of {}", stored.created_at.format("%Y-%m-%d")),
        summary: format!(
            "Overall readiness index {:.1} of 100 ({:.1} to {:.1}); limiting barrier: {}.",
            overall.readiness_index,
            overall.pessimistic,
            overall.optimistic,
            label(overall.limiting_barrier)
        ),
        axes: result
            .barriers
            .iter()
            .map(|barrier| RadarAxis {
                label: label(barrier.barrier).to_owned(),
                score: barrier.score.filter(|_| barrier.band != Band::Unknown),
                pessimistic: barrier.pessimistic,
                optimistic: barrier.optimistic,
            })
            .collect(),
    };
    Ok(svg_response(charts::radar(&chart)))
}

/// Trend chart of a program
///
/// The overall readiness index and each barrier score over the program's assessments (the latest
/// 200, oldest left), with a legend giving each line's latest value. An assessment with nothing
/// known about a barrier is a gap in that barrier's line (`unknown` in the legend), not a 0. An
/// accessible SVG image.
#[utoipa::path(
    security(("api_key" = ["read"])),
    tag = "charts",
    params(("id" = Uuid, Path, description = "Program id")),
    responses(
        (status = 200, description = "The trend chart", body = String, content_type = "image/svg+xml"),
        (status = 404, description = "No such program", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/programs/{id}/trend.svg")]
pub async fn program_trend(
    caller: Caller,
    id: web::Path<Uuid>,
    reads: web::Data<ReadPools>,
) -> Result<HttpResponse, ApiError> {
    let program = reads
        .find(async |pool| program_store::fetch(pool, caller.organisation, *id).await)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no program {id}")))?;
    let points = reads
        .read(async |pool| store::program_trend(pool, caller.organisation, *id, TREND_POINTS).await)
        .await?;
    let series = |label: &str, score: fn(&TrendPoint) -> Option<f64>| TrendSeries {
        label: label.to_owned(),
        values: points.iter().map(score).collect(),
    };
    // Assessments of one day would all read the same date: then the time tells them apart.
    let same_day =
        points.windows(2).any(|pair| pair[0].created_at.date_naive() == pair[1].created_at.date_naive());
    let date_format = if same_day { "%Y-%m-%d %H:%M" } else { "%Y-%m-%d" };
    let chart = Trend {
        title: format!("{} ({}): readiness over time", program.name, program.key),
        dates: points.iter().map(|point| point.created_at.format(date_format).to_string()).collect(),
        series: vec![
            series("Overall readiness index", |point| Some(point.overall_index)),
            series(label(Barrier::Survival), |point| point.survival),
            series(label(Barrier::Retention), |point| point.retention),
            series(label(Barrier::Variability), |point| point.variability),
            series(label(Barrier::Scalability), |point| point.scalability),
            series(label(Barrier::Safety), |point| point.safety),
            series(label(Barrier::Outcomes), |point| point.outcomes),
            series(label(Barrier::Regulatory), |point| point.regulatory),
        ],
    };
    Ok(svg_response(charts::trend(&chart)))
}
