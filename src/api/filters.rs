//! The filters every view of the stored assessments shares (the list, the statistics, the
//! exports), and the reading of query strings into them: a parameter that is unknown, malformed or
//! out of range is a 400 naming it.

use actix_web::HttpRequest;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa::IntoParams;
use utoipa::openapi::path::ParameterIn;
use uuid::Uuid;

use super::problem::ApiError;
use crate::persistence::assessments::Filters;
use crate::scoring::Barrier;
use crate::scoring::profile::{DevelopmentStage, Indication, Route, TissueSource};

/// Which assessments a list, statistic or export covers; all optional, combined with AND.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FilterParameters {
    /// Only this program's assessments.
    pub program_id: Option<Uuid>,
    pub indication: Option<Indication>,
    /// Development stage.
    pub stage: Option<DevelopmentStage>,
    pub tissue_source: Option<TissueSource>,
    pub route: Option<Route>,
    /// Only results of this model version.
    pub model_version: Option<String>,
    /// Created at or after (RFC 3339).
    pub created_from: Option<DateTime<Utc>>,
    /// Created before (RFC 3339).
    pub created_before: Option<DateTime<Utc>>,
    /// Minimum overall readiness index (0-100).
    #[param(minimum = 0, maximum = 100)]
    pub min_overall: Option<f64>,
    /// Maximum overall readiness index (0-100).
    #[param(minimum = 0, maximum = 100)]
    pub max_overall: Option<f64>,
    /// The barrier `min_score`/`max_score` apply to.
    pub barrier: Option<Barrier>,
    /// Minimum score of `barrier` (0-100).
    #[param(minimum = 0, maximum = 100)]
    pub min_score: Option<f64>,
    /// Maximum score of `barrier` (0-100).
    #[param(minimum = 0, maximum = 100)]
    pub max_score: Option<f64>,
    /// Only assessments limited by this barrier.
    pub limiting_barrier: Option<Barrier>,
    /// Only this MSC-TRL readiness level (1-9).
    #[param(minimum = 1, maximum = 9)]
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

impl FilterParameters {
    /// The persistence filters; bounds and combinations are checked here.
    pub fn into_filters(self) -> Result<Filters, ApiError> {
        let barrier_range = match (self.barrier, self.min_score, self.max_score) {
            (None, None, None) => None,
            (None, min, _) => {
                let parameter = if min.is_some() { "min_score" } else { "max_score" };
                return Err(invalid(parameter, "needs `barrier`"));
            }
            (Some(_), None, None) => return Err(invalid("barrier", "needs min_score and/or max_score")),
            (Some(barrier), min, max) => {
                Some((barrier, score_bound("min_score", min)?, score_bound("max_score", max)?))
            }
        };
        if let Some(level) = self.readiness_level.filter(|level| !(1..=9).contains(level)) {
            return Err(invalid("readiness_level", format!("must be between 1 and 9, not {level}")));
        }
        Ok(Filters {
            program_id: self.program_id,
            indication: self.indication.map(|value| value.as_str()),
            stage: self.stage.map(|value| value.as_str()),
            tissue_source: self.tissue_source.map(|value| value.as_str()),
            route: self.route.map(|value| value.as_str()),
            model_version: self.model_version,
            created_from: self.created_from,
            created_before: self.created_before,
            min_overall: score_bound("min_overall", self.min_overall)?,
            max_overall: score_bound("max_overall", self.max_overall)?,
            barrier_range,
            limiting_barrier: self.limiting_barrier,
            readiness_level: self.readiness_level,
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

fn deserialize<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let parameter = error.path().to_string();
        invalid(if parameter == "." { "" } else { &parameter }, error.into_inner().to_string())
    })
}
