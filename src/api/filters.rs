//! The filters every view of the stored assessments shares (the list, the statistics, the
//! exports), and the reading of query strings into them: a parameter that is unknown, malformed or
//! out of range is a 400 naming it.

use actix_web::HttpRequest;
use chrono::{DateTime, Datelike, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa::IntoParams;
use utoipa::openapi::path::ParameterIn;
use uuid::Uuid;

use super::problem::ApiError;
use crate::persistence::assessments::Filters;
use crate::scoring::profile::{DevelopmentStage, Indication, Route, TissueSource};
use crate::scoring::{Barrier, parse_errors};

/// Which assessments a list, statistic or export covers; all optional, combined with AND.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FilterParameters {
    /// Only this program's assessments.
    pub program_id: Option<Uuid>,
    /// Only this indication (`labels.indication` of `GET /v1/model` names each value).
    pub indication: Option<Indication>,
    /// Development stage.
    pub stage: Option<DevelopmentStage>,
    /// Only this tissue source of the cells.
    pub tissue_source: Option<TissueSource>,
    /// Only this route of administration.
    pub route: Option<Route>,
    /// Only results of this model version (text without NUL characters).
    #[param(pattern = r"^[^\u0000]*$")]
    pub model_version: Option<String>,
    /// Created at or after (RFC 3339, so a four-digit year: 0000-9999).
    pub created_from: Option<DateTime<Utc>>,
    /// Created before (RFC 3339, so a four-digit year: 0000-9999).
    pub created_before: Option<DateTime<Utc>>,
    /// Minimum overall readiness index (0-100).
    #[param(minimum = 0, maximum = 100)]
    pub min_overall: Option<f64>,
    /// Maximum overall readiness index (0-100).
    #[param(minimum = 0, maximum = 100)]
    pub max_overall: Option<f64>,
    /// Minimum `survival` score (0-100).
    #[param(minimum = 0, maximum = 100)]
    pub min_survival: Option<f64>,
    /// Maximum `survival` score (0-100).
    #[param(minimum = 0, maximum = 100)]
    pub max_survival: Option<f64>,
    /// Minimum `retention` score (0-100).
    #[param(minimum = 0, maximum = 100)]
    pub min_retention: Option<f64>,
    /// Maximum `retention` score (0-100).
    #[param(minimum = 0, maximum = 100)]
    pub max_retention: Option<f64>,
    /// Minimum `variability` score (0-100).
    #[param(minimum = 0, maximum = 100)]
    pub min_variability: Option<f64>,
    /// Maximum `variability` score (0-100).
    #[param(minimum = 0, maximum = 100)]
    pub max_variability: Option<f64>,
    /// Minimum `scalability` score (0-100).
    #[param(minimum = 0, maximum = 100)]
    pub min_scalability: Option<f64>,
    /// Maximum `scalability` score (0-100).
    #[param(minimum = 0, maximum = 100)]
    pub max_scalability: Option<f64>,
    /// Minimum `safety` score (0-100).
    #[param(minimum = 0, maximum = 100)]
    pub min_safety: Option<f64>,
    /// Maximum `safety` score (0-100).
    #[param(minimum = 0, maximum = 100)]
    pub max_safety: Option<f64>,
    /// Minimum `outcomes` score (0-100).
    #[param(minimum = 0, maximum = 100)]
    pub min_outcomes: Option<f64>,
    /// Maximum `outcomes` score (0-100).
    #[param(minimum = 0, maximum = 100)]
    pub max_outcomes: Option<f64>,
    /// Minimum `regulatory` score (0-100).
    #[param(minimum = 0, maximum = 100)]
    pub min_regulatory: Option<f64>,
    /// Maximum `regulatory` score (0-100).
    #[param(minimum = 0, maximum = 100)]
    pub max_regulatory: Option<f64>,
    /// Only assessments limited by this barrier.
    pub limiting_barrier: Option<Barrier>,
    /// `true`: only each program's latest assessment (by creation time), plus the assessments
    /// filed under no program; `false` (default): every assessment, so a program's history too.
    pub latest: Option<bool>,
    /// Only this MSC-TRL readiness level (0-9; 0: not yet at level 1).
    #[param(minimum = 0, maximum = 9)]
    pub readiness_level: Option<i16>,
}

fn invalid(parameter: &str, message: impl Into<String>) -> ApiError {
    ApiError::InvalidParameter { parameter: parameter.to_owned(), message: message.into() }
}

fn score_bound(name: &str, value: Option<f64>) -> Result<Option<f64>, ApiError> {
    match value {
        Some(value) if !(0.0..=100.0).contains(&value) => {
            Err(invalid(name, format!("must be between 0 and 100, not {value}")))
        }
        other => Ok(other),
    }
}

/// RFC 3339 writes a year in four digits; chrono also reads six-digit years down to -262143, which
/// PostgreSQL cannot hold (its times start in 4713 BC) and answers with an error. A time outside
/// RFC 3339's years is refused here, naming the parameter, rather than failing in the database.
fn time_bound(name: &str, value: Option<DateTime<Utc>>) -> Result<Option<DateTime<Utc>>, ApiError> {
    match value {
        Some(time) if !(0..=9999).contains(&time.year()) => Err(invalid(
            name,
            format!(
                "must be an RFC 3339 time with a four-digit year (0000-9999), not the year {}",
                time.year()
            ),
        )),
        other => Ok(other),
    }
}

/// PostgreSQL cannot hold NUL in text, so a NUL in a text filter could never match and would fail
/// in the database; it is refused here, naming the parameter.
pub(super) fn text_filter(name: &str, value: Option<String>) -> Result<Option<String>, ApiError> {
    match value {
        Some(text) if text.contains('\0') => {
            Err(invalid(name, "text must not contain NUL characters (%00, \\u0000)"))
        }
        other => Ok(other),
    }
}

impl FilterParameters {
    /// The persistence filters; bounds and combinations are checked here.
    pub fn into_filters(self) -> Result<Filters, ApiError> {
        // One parameter per bound, so that every combination is valid on its own (a barrier
        // named apart from its bounds would depend on them, which OpenAPI cannot state).
        let bounds = [
            (Barrier::Survival, self.min_survival, self.max_survival),
            (Barrier::Retention, self.min_retention, self.max_retention),
            (Barrier::Variability, self.min_variability, self.max_variability),
            (Barrier::Scalability, self.min_scalability, self.max_scalability),
            (Barrier::Safety, self.min_safety, self.max_safety),
            (Barrier::Outcomes, self.min_outcomes, self.max_outcomes),
            (Barrier::Regulatory, self.min_regulatory, self.max_regulatory),
        ];
        let mut barrier_ranges = Vec::new();
        for (barrier, min, max) in bounds {
            let min = score_bound(&format!("min_{}", barrier.as_str()), min)?;
            let max = score_bound(&format!("max_{}", barrier.as_str()), max)?;
            if min.is_some() || max.is_some() {
                barrier_ranges.push((barrier, min, max));
            }
        }
        if let Some(level) = self.readiness_level.filter(|level| !(0..=9).contains(level)) {
            return Err(invalid("readiness_level", format!("must be between 0 and 9, not {level}")));
        }
        Ok(Filters {
            program_id: self.program_id,
            indication: self.indication.map(|value| value.as_str()),
            stage: self.stage.map(|value| value.as_str()),
            tissue_source: self.tissue_source.map(|value| value.as_str()),
            route: self.route.map(|value| value.as_str()),
            model_version: text_filter("model_version", self.model_version)?,
            created_from: time_bound("created_from", self.created_from)?,
            created_before: time_bound("created_before", self.created_before)?,
            min_overall: score_bound("min_overall", self.min_overall)?,
            max_overall: score_bound("max_overall", self.max_overall)?,
            barrier_ranges,
            limiting_barrier: self.limiting_barrier,
            readiness_level: self.readiness_level,
            latest_only: self.latest.unwrap_or(false),
        })
    }
}

/// Reads the query string into the shared filters and an endpoint's own parameters `T`.
///
/// Both are read from the whole query string, each ignoring the other's names; a name that neither
/// documents is rejected, so the parameters in the OpenAPI document are exactly those accepted.
pub fn parse_query<T: DeserializeOwned + IntoParams>(
    request: &HttpRequest,
) -> Result<(FilterParameters, T), ApiError> {
    let own = T::into_params(|| Some(ParameterIn::Query)).into_iter().map(|parameter| parameter.name);
    let query = request.query_string();
    reject_unknown(query, own.collect())?;
    Ok((deserialize(query)?, deserialize(query)?))
}

/// Reads a query string of filters only.
pub fn parse_filters(request: &HttpRequest) -> Result<FilterParameters, ApiError> {
    let query = request.query_string();
    reject_unknown(query, Vec::new())?;
    deserialize(query)
}

/// Reads a query string of an endpoint's own parameters `T` only (no filters): a name that `T`
/// does not document is rejected, naming it.
pub fn parse_parameters<T: DeserializeOwned + IntoParams>(request: &HttpRequest) -> Result<T, ApiError> {
    let known: Vec<String> =
        T::into_params(|| Some(ParameterIn::Query)).into_iter().map(|parameter| parameter.name).collect();
    let query = request.query_string();
    if let Some((name, _)) =
        form_urlencoded::parse(query.as_bytes()).find(|(name, _)| !known.iter().any(|known| known == name))
    {
        return Err(invalid(&name, format!("unknown parameter; accepted: {}", known.join(", "))));
    }
    deserialize(query)
}

fn reject_unknown(query: &str, mut known: Vec<String>) -> Result<(), ApiError> {
    known.extend(
        FilterParameters::into_params(|| Some(ParameterIn::Query))
            .into_iter()
            .map(|parameter| parameter.name),
    );
    match form_urlencoded::parse(query.as_bytes()).find(|(name, _)| !known.iter().any(|known| known == name))
    {
        Some((name, _)) => Err(invalid(&name, format!("unknown parameter; accepted: {}", known.join(", ")))),
        None => Ok(()),
    }
}

fn deserialize<T: DeserializeOwned + IntoParams>(query: &str) -> Result<T, ApiError> {
    let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let parameter = error.path().to_string();
        let message = error.into_inner().to_string();
        if let Some(missing) = message.strip_prefix("missing field `").and_then(|rest| rest.strip_suffix('`'))
        {
            let description = T::into_params(|| Some(ParameterIn::Query))
                .into_iter()
                .find(|candidate| candidate.name == missing)
                .and_then(|candidate| candidate.description);
            let message = match description {
                Some(description) => format!("this parameter is required: {description}"),
                None => "this parameter is required".to_owned(),
            };
            return invalid(missing, message);
        }
        let value = form_urlencoded::parse(query.as_bytes())
            .find(|(name, _)| *name == parameter)
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default();
        invalid(&parameter, parse_errors::plain_words_for_text(&message, &value))
    })
}
