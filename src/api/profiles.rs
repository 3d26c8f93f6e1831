//! Helpers for writing profiles: a trial from a ClinicalTrials.gov record.

use actix_web::{HttpRequest, post, web};
use utoipa::ToSchema;

use super::caller::Caller;
use super::json_body;
use super::problem::{ApiError, FieldError, Problem};
use crate::scoring::parse_errors;
use crate::scoring::registry_import::{self, TrialImport};

/// A study record exactly as the ClinicalTrials.gov API v2 returns it for one study: a free-form
/// object, documented with an example record.
pub struct ClinicalTrialsGovStudy;

impl utoipa::PartialSchema for ClinicalTrialsGovStudy {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        // The fields the import reads, with their types: a body of another shape is a 422, so the
        // schema says so (`protocolSection` and its `nctId` are required; other fields may be
        // absent or null, and fields not read are free).
        // A field that is null is read as absent, as in profiles.
        let text = serde_json::json!({"type": ["string", "null"]});
        let texts = serde_json::json!({"type": ["array", "null"], "items": {"type": "string"}});
        let object = |properties: serde_json::Value| serde_json::json!({"type": ["object", "null"], "properties": properties});
        let schema = serde_json::json!({
            "type": "object",
            "description": "A study record exactly as the ClinicalTrials.gov API v2 returns it for one study \
        (`https://clinicaltrials.gov/api/v2/studies/<NCT number>`, format `json`): an object with `protocolSection` \
        (and `hasResults`). The properties below are the ones the import reads; sections and fields it does not read \
        are ignored. The example is an illustrative record, shortened, not a real trial.",
            "required": ["protocolSection"],
            "properties": {
                "protocolSection": {
                    "type": "object",
                    "required": ["identificationModule"],
                    "properties": {
                        "identificationModule": {
                            "type": "object",
                            "required": ["nctId"],
                            "properties": {
                                "nctId": {"type": "string", "pattern": "^NCT[0-9]{8}$"},
                                "acronym": text,
                                "briefTitle": text,
                            },
                        },
                        "statusModule": object(serde_json::json!({
                            "overallStatus": text,
                            "lastUpdatePostDateStruct": object(serde_json::json!({"date": text})),
                        })),
                        "designModule": object(serde_json::json!({
                            "phases": texts,
                            "designInfo": object(serde_json::json!({
                                "allocation": text,
                                "maskingInfo": object(serde_json::json!({"masking": text, "whoMasked": texts})),
                            })),
                            "enrollmentInfo": object(serde_json::json!({
                                "count": {"type": ["integer", "null"], "minimum": 0},
                                "type": text,
                            })),
                        })),
                        "armsInterventionsModule": object(serde_json::json!({
                            "armGroups": {"type": ["array", "null"], "items": {"type": "object", "properties": {"type": text}}},
                        })),
                        "outcomesModule": object(serde_json::json!({
                            "primaryOutcomes": {
                                "type": ["array", "null"],
                                "items": {"type": "object", "properties": {"measure": text, "timeFrame": text}},
                            },
                        })),
                    },
                },
                "hasResults": {"type": ["boolean", "null"]},
            },
            "example": registry_import::example_record(),
        });
        // The JSON above is a valid schema object; a failure would be a bug caught by the
        // committed-spec test, which compares this schema with openapi/openapi.json.
        let schema: utoipa::openapi::schema::Schema =
            serde_json::from_value(schema).unwrap_or_else(|_| utoipa::openapi::schema::Object::new().into());
        schema.into()
    }
}

impl ToSchema for ClinicalTrialsGovStudy {}

/// Draft a trial from a ClinicalTrials.gov record
///
/// Reads a study record as downloaded from the ClinicalTrials.gov API v2 (the service fetches
/// nothing) and answers the `clinical.trials[]` item it implies, ready to paste into a version 2
/// profile, with the record fields it read (`read`) and those it could not map, each with the
/// reason (`not_mapped`). Nothing is stored or scored. Only what the record states is mapped;
/// whatever it leaves undecided stays `null` (unknown) and is listed in `not_mapped`:
///
/// | Record field | Trial field |
/// |---|---|
/// | `protocolSection.identificationModule.nctId` (required) | `registry_id`, and `sources`: citation "ClinicalTrials.gov record <NCT number>", kind `registry` |
/// | `identificationModule.acronym`, else `.briefTitle` | `title` (cut to 200 characters, noted) |
/// | `statusModule.overallStatus` | `status`: NOT_YET_RECRUITING `planned`; RECRUITING, ACTIVE_NOT_RECRUITING, ENROLLING_BY_INVITATION and SUSPENDED (noted) `ongoing`; COMPLETED `completed`; TERMINATED `terminated`; WITHDRAWN `withdrawn`; UNKNOWN and expanded-access statuses not mapped |
/// | `statusModule.lastUpdatePostDateStruct.date` | the source's `as_of` (a YYYY-MM date: its first day, noted) |
/// | `designModule.phases` | `phase`: PHASE1 (EARLY_PHASE1 too, noted), PHASE2, PHASE3, PHASE4; PHASE1+PHASE2 `phase1_2`; PHASE2+PHASE3 `phase2_3`; NA not mapped |
/// | `designModule.designInfo.allocation` | `randomised`: RANDOMIZED true; NON_RANDOMIZED and NA (a single-arm study) false |
/// | `designInfo.maskingInfo.masking` with `.whoMasked` | `blinding`, the strongest level whose roles are all masked: NONE `open_label`; OUTCOMES_ASSESSOR `assessor_blinded`; PARTICIPANT and INVESTIGATOR `double_blind`; all four roles (QUADRUPLE) `quadruple` (the registry has no role for analysts). SINGLE, DOUBLE or TRIPLE without `whoMasked`, or only participants and/or care providers masked: not mapped |
/// | `designModule.enrollmentInfo.count` and `.type` | ESTIMATED `planned_participants`; ACTUAL `enrolled_participants` |
/// | `armsInterventionsModule.armGroups[].type` | `control`, the strongest comparator: PLACEBO_COMPARATOR or SHAM_COMPARATOR `placebo_or_sham`; ACTIVE_COMPARATOR `active_comparator`; NO_INTERVENTION `standard_of_care` (a no-intervention arm is read as patients left on their usual care); only EXPERIMENTAL arms `none_single_arm`; an OTHER arm leaves it unset unless a placebo or sham arm is present |
/// | `outcomesModule.primaryOutcomes[0]` | `primary_endpoint.description` (`measure`) and `.time_frame_months` (`timeFrame`, when it is one plain time such as "Day 28", "24 weeks", "12 months" or "1 year"; a month is 30.4375 days); further primary outcomes are listed in `not_mapped` |
/// | `hasResults` | noted in `read`; `result` is never set: whether the primary endpoint was met is a judgement on the results |
///
/// Never set, since a registry record does not state them: `pivotal`,
/// `powered_for_primary_endpoint`, `result`, `effect`, `efficacy_follow_up_months`, `regulators`,
/// and the primary endpoint's `measure`, `responder_definition_prespecified` and
/// `indication_standard`.
///
/// A body that is not a study record (no `protocolSection`, no `nctId`) or has a field read here
/// of the wrong JSON type (e.g. `"phases": "PHASE2"`) gets a 422 naming each such field. A record
/// with posted results can be larger than the body limit (64 KiB by default); the import reads
/// only `protocolSection` and `hasResults`, so send those: `jq '{protocolSection, hasResults}'`.
#[utoipa::path(
    security(("api_key" = ["read"])),
    tag = "profiles",
    request_body(content = ClinicalTrialsGovStudy, content_type = "application/json"),
    responses(
        (status = 200, description = "The trial the record implies, the fields read, and those not mapped with the reason", body = TrialImport),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the size limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a ClinicalTrials.gov study record, or a field read here of the wrong type: every such field is named, with its path in the record and the reason", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/profiles/trial-from-registry")]
pub async fn trial_from_registry(
    _caller: Caller,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<web::Json<TrialImport>, ApiError> {
    let record = json_body::parse_unstored(&request, &body)?;
    registry_import::trial_from_registry(&record).map(web::Json).map_err(|mut errors| {
        parse_errors::sort_in_document_order(&mut errors, &body);
        ApiError::invalid_fields(
            errors
                .into_iter()
                .map(|error| FieldError { field: error.field, message: error.message })
                .collect(),
        )
    })
}
