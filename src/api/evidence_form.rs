//! How a response writes the evidence of a result: each citation in full (the default), or only
//! its claim id. A result cites the same few dozen claims hundreds of times, with the same citation
//! text and verification status each time; a client that keeps the evidence registry
//! (`GET /v1/model/evidence`) or resolves a claim when it needs one
//! (`GET /v1/model/evidence/{id}`) can ask for the ids alone and receive a much smaller result.

use actix_web::HttpResponse;
use actix_web::http::header::ContentType;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::problem::ApiError;
use crate::persistence::assessments::StoredResult;

/// How the evidence lists of a result are written.
#[derive(Clone, Copy, Debug, Default, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceForm {
    /// Each citation in full: claim id, citation, verification status and role (the default).
    #[default]
    Full,
    /// Each citation as its claim id only (a string). The citation and verification status are in
    /// the evidence registry of the result's model version; the role of each claim is in the
    /// model document, on the factor, gate or mitigation that cites it.
    Ids,
}

/// The `evidence` query parameter of the endpoints that answer with a result.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EvidenceParameter {
    /// `full` (default): every citation in full; `ids`: each citation as its claim id only, to be
    /// resolved with `GET /v1/model/evidence/{id}` (much smaller responses).
    pub evidence: Option<EvidenceForm>,
}

impl EvidenceParameter {
    pub fn form(&self) -> EvidenceForm {
        self.evidence.unwrap_or_default()
    }
}

/// Room for a whole result, below glibc's threshold (128 KB) for serving an allocation by `mmap`.
const RESULT_CAPACITY: usize = 96 * 1024;

/// The field of every evidence list of a result (factor lines, mitigations, warnings, gates...).
const EVIDENCE_LIST: &str = "evidence";

impl EvidenceForm {
    /// A stored result in this form: as stored for `full`; hydrated and rewritten for `ids`.
    pub fn shape(self, result: StoredResult) -> Result<StoredResult, ApiError> {
        match self {
            Self::Full => Ok(result),
            Self::Ids => {
                let mut value = result.into_value()?;
                replace_citations_by_ids(&mut value);
                Ok(StoredResult::Whole(value))
            }
        }
    }

    /// A typed result as a JSON response body in this form, written directly (no intermediate
    /// JSON value).
    pub fn write<T: Serialize>(self, result: &T) -> Result<Vec<u8>, ApiError> {
        match self {
            Self::Full => write_body(result),
            Self::Ids => crate::scoring::with_citations_as_claim_ids(|| write_body(result)),
        }
    }
}

/// A 200 answer holding whole results (a record, a page of records), written by the service's
/// writer: the bytes `web::Json` (serde_json) writes, but model texts a stored result left to its
/// dictionary are copied rather than written again (`result_codec`), and the rest is escaped a word
/// at a time (`json_writer`).
pub fn ok_with_results<T: Serialize>(body: &T) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().content_type(ContentType::json()).body(write_body(body)?))
}

/// A response body that holds a whole result (a record or a result), as JSON.
pub fn write_body<T: Serialize>(body: &T) -> Result<Vec<u8>, ApiError> {
    // Sized for a whole result at once (40-90 KB): growing from empty copied it about ten times
    // over.
    let mut written = Vec::with_capacity(RESULT_CAPACITY);
    crate::json_writer::write(&mut written, body).map_err(|error| ApiError::Internal(Box::new(error)))?;
    Ok(written)
}

fn replace_citations_by_ids(value: &mut Value) {
    match value {
        Value::Object(object) => {
            for (field, member) in object.iter_mut() {
                if let (EVIDENCE_LIST, Value::Array(items)) = (field.as_str(), &mut *member) {
                    for item in items.iter_mut() {
                        if let Some(Value::String(claim_id)) = item.get_mut("claim_id").map(Value::take) {
                            *item = Value::String(claim_id);
                        }
                    }
                } else {
                    replace_citations_by_ids(member);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(replace_citations_by_ids),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::{Model, Profile};

    #[test]
    fn every_citation_of_a_result_becomes_its_claim_id() {
        let result = Model::current().assess(&Profile::default());
        let full: Value = serde_json::from_slice(&EvidenceForm::Full.write(&result).unwrap()).unwrap();
        let ids: Value = serde_json::from_slice(&EvidenceForm::Ids.write(&result).unwrap()).unwrap();
        let text = ids.to_string();
        let rewritten =
            EvidenceForm::Ids.shape(StoredResult::Whole(full.clone())).unwrap().into_value().unwrap();
        assert_eq!(rewritten, ids, "the stored results' rewrite and the direct writing agree");
        assert!(!text.contains("\"verification_status\""), "a citation was left in full");
        let (ids_bytes, full_bytes) = (text.len(), full.to_string().len());
        assert!(ids_bytes * 10 < full_bytes * 8, "{ids_bytes} of {full_bytes} bytes");
        let first_line = &ids["barriers"][0]["factors"][0];
        let claim_ids: Vec<&str> =
            first_line["evidence"].as_array().unwrap().iter().map(|id| id.as_str().unwrap()).collect();
        let cited: Vec<&str> = full["barriers"][0]["factors"][0]["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .map(|citation| citation["claim_id"].as_str().unwrap())
            .collect();
        assert!(!cited.is_empty());
        assert_eq!(claim_ids, cited);
    }
}
