//! One `clinical.trials[]` item from a ClinicalTrials.gov study record, as the ClinicalTrials.gov
//! API v2 returns it (`GET /api/v2/studies/{nctId}`). Pure: the record is given, nothing is
//! fetched.
//!
//! Only what the record states is mapped; what it cannot decide stays unset and is listed in
//! [`TrialImport::not_mapped`] with the reason, never guessed:
//!
//! | Record field (v2 name) | Trial field |
//! |---|---|
//! | `protocolSection.identificationModule.nctId` (required) | `registry_id`, and a `registry` source |
//! | `...identificationModule.acronym`, else `.briefTitle` | `title` (cut to 200 characters) |
//! | `protocolSection.statusModule.overallStatus` | `status` |
//! | `...statusModule.lastUpdatePostDateStruct.date` | the source's `as_of` |
//! | `protocolSection.designModule.phases` | `phase` |
//! | `...designModule.designInfo.allocation` | `randomised` |
//! | `...designInfo.maskingInfo.masking` and `.whoMasked` | `blinding` |
//! | `...designModule.enrollmentInfo.count` and `.type` | `planned_participants` or `enrolled_participants` |
//! | `protocolSection.armsInterventionsModule.armGroups[].type` | `control` |
//! | `protocolSection.outcomesModule.primaryOutcomes[0]` (`.measure`, `.timeFrame`) | `primary_endpoint` (`description`, `time_frame_months`) |
//! | `hasResults` | noted; `result` is never set |
//!
//! Never set, since a registry record does not state them: `pivotal`, `powered_for_primary_endpoint`,
//! `result`, `effect`, `efficacy_follow_up_months`, `regulators`, and the primary endpoint's
//! `measure`, `responder_definition_prespecified` and `indication_standard`.
//!
//! A body that is not a study record (not an object, no `protocolSection`, no `nctId`), or a field
//! read here holding the wrong JSON type, is refused with every such field named; the fields not
//! read here are ignored.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::input_types::Label;
use super::parse_errors::{InvalidField, describe, quote};
use super::profile::{Blinding, ControlArm, Months, Source, SourceKind};
use super::trials::{Participants, Phase, PrimaryEndpoint, Trial, TrialStatus};

const PROTOCOL_SECTION: &str = "protocolSection";
const NCT_ID: &str = "protocolSection.identificationModule.nctId";
const ACRONYM: &str = "protocolSection.identificationModule.acronym";
const BRIEF_TITLE: &str = "protocolSection.identificationModule.briefTitle";
const OVERALL_STATUS: &str = "protocolSection.statusModule.overallStatus";
const LAST_KNOWN_STATUS: &str = "protocolSection.statusModule.lastKnownStatus";
const LAST_UPDATE: &str = "protocolSection.statusModule.lastUpdatePostDateStruct.date";
const STUDY_TYPE: &str = "protocolSection.designModule.studyType";
const PHASES: &str = "protocolSection.designModule.phases";
const ALLOCATION: &str = "protocolSection.designModule.designInfo.allocation";
const MASKING: &str = "protocolSection.designModule.designInfo.maskingInfo.masking";
const WHO_MASKED: &str = "protocolSection.designModule.designInfo.maskingInfo.whoMasked";
const ENROLLMENT: &str = "protocolSection.designModule.enrollmentInfo";
const ENROLLMENT_COUNT: &str = "protocolSection.designModule.enrollmentInfo.count";
const ENROLLMENT_TYPE: &str = "protocolSection.designModule.enrollmentInfo.type";
const ARM_GROUPS: &str = "protocolSection.armsInterventionsModule.armGroups";
const PRIMARY_OUTCOMES: &str = "protocolSection.outcomesModule.primaryOutcomes";
const HAS_RESULTS: &str = "hasResults";

/// Longest title or endpoint description a trial holds (the limit of a `Label`).
const TEXT_MAX_CHARS: usize = 200;

/// Days in a month: the mean Gregorian month (365.25 / 12).
const DAYS_PER_MONTH: f64 = 30.4375;

/// The trial a ClinicalTrials.gov record implies, with what was read and what could not be mapped.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(example = response_example)]
pub struct TrialImport {
    /// The trial, ready to go into `clinical.trials[]` of a version 2 profile. Fields the record
    /// does not decide are `null` (unknown); complete them from the protocol or the publication.
    pub trial: Trial,
    /// The record's fields whose values are in `trial` (or, for `hasResults`, were noted), by
    /// their path in the record, in the order read.
    pub read: Vec<String>,
    /// The record's fields that could not be mapped, or only in part, each with the reason; a
    /// field the record lacks is listed as "not in the record".
    pub not_mapped: Vec<NotMapped>,
}

/// A field of the record that could not be mapped (or only in part), and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct NotMapped {
    /// The field's path in the record, e.g. `protocolSection.designModule.phases` or
    /// `protocolSection.outcomesModule.primaryOutcomes[0].timeFrame`.
    #[schema(example = "protocolSection.outcomesModule.primaryOutcomes[0].timeFrame")]
    pub field: String,
    /// Why, in plain words, quoting the record's value.
    #[schema(
        example = "\"Baseline and 12 months after injection\" is not a single plain time (such as \"Day 28\", \"24 weeks\" or \"12 months\"); time_frame_months left unset"
    )]
    pub reason: String,
}

/// Maps a ClinicalTrials.gov API v2 study record to one trial. Fails with every field that makes
/// the record unreadable: not a study record, a missing or malformed `nctId`, or a field read here
/// holding the wrong JSON type.
pub fn trial_from_registry(record: &Value) -> Result<TrialImport, Vec<InvalidField>> {
    let Value::Object(top) = record else {
        return Err(vec![InvalidField {
            field: String::new(),
            message: format!(
                "expected a ClinicalTrials.gov API v2 study record (an object with `protocolSection`), got {}",
                describe(record)
            ),
        }]);
    };
    let mut reader = Reader { record, errors: Vec::new() };
    let fields = Fields::read(&mut reader);
    if top.get(PROTOCOL_SECTION).is_none_or(Value::is_null) {
        let hint = if top.get("studies").is_some_and(Value::is_array) {
            "; this looks like a list of studies (the answer of `/api/v2/studies`): send one element of `studies`"
        } else {
            ""
        };
        reader.errors.insert(
            0,
            InvalidField {
                field: PROTOCOL_SECTION.to_owned(),
                message: format!(
                    "this field is required: a ClinicalTrials.gov API v2 study record has `protocolSection`{hint}"
                ),
            },
        );
    } else if fields.nct_id.is_none() && !reader.has_error_at(NCT_ID) {
        reader.errors.push(InvalidField {
            field: NCT_ID.to_owned(),
            message: "this field is required: every ClinicalTrials.gov study record has its NCT number"
                .to_owned(),
        });
    }
    if let Some(nct_id) = fields.nct_id
        && !is_nct_id(nct_id)
    {
        reader.errors.push(InvalidField {
            field: NCT_ID.to_owned(),
            message: format!(
                "expected an NCT number (NCT and 8 digits, e.g. NCT01541579), got {}",
                quote(nct_id)
            ),
        });
    }
    if !reader.errors.is_empty() {
        return Err(reader.errors);
    }
    Ok(fields.map())
}

/// An illustrative record (not a real trial), shortened to the fields the import reads plus a few
/// it ignores, in the ClinicalTrials.gov API v2 format.
pub fn example_record() -> Value {
    json!({
        "protocolSection": {
            "identificationModule": {
                "nctId": "NCT09999999",
                "orgStudyInfo": {"id": "KOA-MSC-301"},
                "briefTitle": "Allogeneic Umbilical Cord MSC Versus Saline Placebo in Knee Osteoarthritis (illustrative record)",
                "acronym": "EXAMPLE-KOA"
            },
            "statusModule": {
                "overallStatus": "COMPLETED",
                "startDateStruct": {"date": "2021-05", "type": "ACTUAL"},
                "lastUpdatePostDateStruct": {"date": "2025-03-14", "type": "ACTUAL"}
            },
            "designModule": {
                "studyType": "INTERVENTIONAL",
                "phases": ["PHASE3"],
                "designInfo": {
                    "allocation": "RANDOMIZED",
                    "interventionModel": "PARALLEL",
                    "primaryPurpose": "TREATMENT",
                    "maskingInfo": {
                        "masking": "TRIPLE",
                        "whoMasked": ["PARTICIPANT", "INVESTIGATOR", "OUTCOMES_ASSESSOR"]
                    }
                },
                "enrollmentInfo": {"count": 240, "type": "ACTUAL"}
            },
            "armsInterventionsModule": {
                "armGroups": [
                    {
                        "label": "Umbilical cord MSC",
                        "type": "EXPERIMENTAL",
                        "interventionNames": ["Biological: allogeneic umbilical cord MSC, 50 million cells"]
                    },
                    {"label": "Placebo", "type": "PLACEBO_COMPARATOR", "interventionNames": ["Other: saline"]}
                ]
            },
            "outcomesModule": {
                "primaryOutcomes": [
                    {
                        "measure": "Change from baseline in WOMAC pain subscale",
                        "description": "WOMAC pain, 0 to 20; lower is better",
                        "timeFrame": "12 months"
                    },
                    {
                        "measure": "Change from baseline in cartilage volume on MRI",
                        "timeFrame": "Baseline and 12 months after injection"
                    }
                ]
            }
        },
        "hasResults": true
    })
}

/// The answer to [`example_record`], shown as the response example.
fn response_example() -> Value {
    trial_from_registry(&example_record())
        .ok()
        .and_then(|import| serde_json::to_value(import).ok())
        .unwrap_or_default()
}

/// Reads typed values from the record by path, recording each value of the wrong JSON type once.
struct Reader<'a> {
    record: &'a Value,
    errors: Vec<InvalidField>,
}

impl<'a> Reader<'a> {
    /// Whether an error was recorded at `path` or at one of the objects on the way to it.
    fn has_error_at(&self, path: &str) -> bool {
        self.errors.iter().any(|error| {
            path == error.field
                || path.strip_prefix(error.field.as_str()).is_some_and(|rest| rest.starts_with(['.', '[']))
        })
    }

    fn wrong(&mut self, path: &str, expected: &str, value: &Value) {
        if !self.has_error_at(path) {
            self.errors.push(InvalidField {
                field: path.to_owned(),
                message: format!("expected {expected}, got {}", describe(value)),
            });
        }
    }

    /// The value at a dotted path of object keys; `None` when it or an object on the way is
    /// absent or `null`, or when a value on the way is not an object (recorded).
    fn get(&mut self, path: &str) -> Option<&'a Value> {
        let mut current = self.record;
        let mut walked = 0; // length of the path walked so far
        for key in path.split('.') {
            let Value::Object(fields) = current else {
                self.wrong(&path[..walked], "an object", current);
                return None;
            };
            current = fields.get(key).filter(|value| !value.is_null())?;
            walked += if walked == 0 { key.len() } else { key.len() + 1 };
        }
        Some(current)
    }

    fn text(&mut self, path: &str) -> Option<&'a str> {
        let value = self.get(path)?;
        let text = value.as_str();
        if text.is_none() {
            self.wrong(path, "text", value);
        }
        text
    }

    fn flag(&mut self, path: &str) -> Option<bool> {
        let value = self.get(path)?;
        let flag = value.as_bool();
        if flag.is_none() {
            self.wrong(path, "true or false", value);
        }
        flag
    }

    fn whole_number(&mut self, path: &str) -> Option<u64> {
        let value = self.get(path)?;
        let number = value.as_u64();
        if number.is_none() {
            self.wrong(path, "a whole number, 0 or more", value);
        }
        number
    }

    fn list(&mut self, path: &str) -> Option<&'a [Value]> {
        let value = self.get(path)?;
        let list = value.as_array().map(Vec::as_slice);
        if list.is_none() {
            self.wrong(path, "a list", value);
        }
        list
    }

    /// A list of texts; `None` when absent or when the list or one of its items has the wrong type.
    fn texts(&mut self, path: &str) -> Option<Vec<&'a str>> {
        let items = self.list(path)?;
        let mut texts = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            match item.as_str() {
                Some(text) => texts.push(text),
                None => self.wrong(&format!("{path}[{index}]"), "text", item),
            }
        }
        (texts.len() == items.len()).then_some(texts)
    }

    /// The text fields `keys` of each object of a list, by position; an item that is not an
    /// object, or a key holding another type, is recorded.
    fn objects(&mut self, path: &str, keys: &[&str]) -> Option<Vec<TextFields<'a>>> {
        let items = self.list(path)?;
        let mut objects = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{index}]");
            let Value::Object(fields) = item else {
                self.wrong(&item_path, "an object", item);
                continue;
            };
            let mut texts = Vec::with_capacity(keys.len());
            for key in keys {
                let value = fields.get(*key).filter(|value| !value.is_null());
                texts.push(value.and_then(|value| {
                    let text = value.as_str();
                    if text.is_none() {
                        self.wrong(&format!("{item_path}.{key}"), "text", value);
                    }
                    text
                }));
            }
            objects.push(texts);
        }
        (objects.len() == items.len()).then_some(objects)
    }
}

/// Text fields of one object of a list, in the order asked for.
type TextFields<'a> = Vec<Option<&'a str>>;

/// Every field of the record the import reads, type-checked.
struct Fields<'a> {
    nct_id: Option<&'a str>,
    acronym: Option<&'a str>,
    brief_title: Option<&'a str>,
    overall_status: Option<&'a str>,
    last_known_status: Option<&'a str>,
    last_update: Option<&'a str>,
    study_type: Option<&'a str>,
    phases: Option<Vec<&'a str>>,
    allocation: Option<&'a str>,
    masking: Option<&'a str>,
    who_masked: Option<Vec<&'a str>>,
    enrollment_count: Option<u64>,
    enrollment_type: Option<&'a str>,
    /// Each arm's `type` and `label`.
    arms: Option<Vec<TextFields<'a>>>,
    /// Each primary outcome's `measure` and `timeFrame`.
    primary_outcomes: Option<Vec<TextFields<'a>>>,
    has_results: Option<bool>,
}

impl<'a> Fields<'a> {
    /// Reads in the order the record's modules come, so errors come in that order too.
    fn read(reader: &mut Reader<'a>) -> Self {
        Self {
            nct_id: reader.text(NCT_ID),
            acronym: reader.text(ACRONYM),
            brief_title: reader.text(BRIEF_TITLE),
            overall_status: reader.text(OVERALL_STATUS),
            last_known_status: reader.text(LAST_KNOWN_STATUS),
            last_update: reader.text(LAST_UPDATE),
            study_type: reader.text(STUDY_TYPE),
            phases: reader.texts(PHASES),
            allocation: reader.text(ALLOCATION),
            masking: reader.text(MASKING),
            who_masked: reader.texts(WHO_MASKED),
            enrollment_count: reader.whole_number(ENROLLMENT_COUNT),
            enrollment_type: reader.text(ENROLLMENT_TYPE),
            arms: reader.objects(ARM_GROUPS, &["type", "label"]),
            primary_outcomes: reader.objects(PRIMARY_OUTCOMES, &["measure", "timeFrame"]),
            has_results: reader.flag(HAS_RESULTS),
        }
    }

    /// Maps the fields of a readable record (its `nctId` checked).
    fn map(self) -> TrialImport {
        let mut import = Import::default();
        let nct_id = self.nct_id.unwrap_or_default();
        import.trial.registry_id = import.label(NCT_ID, nct_id);
        import.trial.title = import.title(self.acronym, self.brief_title);
        import.trial.status = import.status(self.overall_status, self.last_known_status);
        let as_of = import.as_of(self.last_update);
        import.study_type(self.study_type);
        import.trial.phase = import.phase(self.phases.as_deref());
        import.trial.randomised = import.randomised(self.allocation);
        import.trial.blinding = import.blinding(self.masking, self.who_masked.as_deref());
        import.enrollment(self.enrollment_count, self.enrollment_type);
        import.trial.control = import.control(self.arms.as_deref());
        import.trial.primary_endpoint = import.primary_endpoint(self.primary_outcomes.as_deref());
        import.results(self.has_results);
        import.trial.sources = Some(vec![Source {
            citation: Label::try_from(format!("ClinicalTrials.gov record {nct_id}")).ok(),
            identifier: Label::try_from(nct_id.to_owned()).ok(),
            kind: Some(SourceKind::Registry),
            as_of,
        }]);
        TrialImport { trial: import.trial, read: import.read, not_mapped: import.not_mapped }
    }
}

/// The trial being built, with the fields read and those not mapped.
#[derive(Default)]
struct Import {
    trial: Trial,
    read: Vec<String>,
    not_mapped: Vec<NotMapped>,
}

impl Import {
    fn read(&mut self, field: &str) {
        self.read.push(field.to_owned());
    }

    fn not_mapped(&mut self, field: &str, reason: impl Into<String>) {
        self.not_mapped.push(NotMapped { field: field.to_owned(), reason: reason.into() });
    }

    fn absent(&mut self, field: &str, left_unset: &str) {
        self.not_mapped(field, format!("not in the record; {left_unset} left unset"));
    }

    /// Registry text as a label: blanks and line breaks collapsed, cut to 200 characters (noted).
    fn label(&mut self, field: &str, text: &str) -> Option<Label> {
        let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let length = collapsed.chars().count();
        let fitted = if length > TEXT_MAX_CHARS {
            let cut: String = collapsed.chars().take(TEXT_MAX_CHARS - 1).collect();
            self.not_mapped(
                field,
                format!(
                    "{length} characters, cut to the first {} (the limit is {TEXT_MAX_CHARS})",
                    TEXT_MAX_CHARS - 1
                ),
            );
            format!("{}…", cut.trim_end())
        } else {
            collapsed
        };
        match Label::try_from(fitted) {
            Ok(label) => {
                self.read(field);
                Some(label)
            }
            Err(reason) => {
                self.not_mapped(field, format!("{}: {reason}", quote(text)));
                None
            }
        }
    }

    fn title(&mut self, acronym: Option<&str>, brief_title: Option<&str>) -> Option<Label> {
        let acronym = acronym.filter(|acronym| !acronym.trim().is_empty());
        match (acronym, brief_title) {
            (Some(acronym), _) => self.label(ACRONYM, acronym),
            (None, Some(brief_title)) => self.label(BRIEF_TITLE, brief_title),
            (None, None) => {
                self.not_mapped(BRIEF_TITLE, "not in the record, nor an acronym; title left unset");
                None
            }
        }
    }

    fn status(
        &mut self,
        overall_status: Option<&str>,
        last_known_status: Option<&str>,
    ) -> Option<TrialStatus> {
        let Some(value) = overall_status else {
            self.absent(OVERALL_STATUS, "status");
            return None;
        };
        let status = match value {
            "NOT_YET_RECRUITING" => TrialStatus::Planned,
            "RECRUITING" | "ACTIVE_NOT_RECRUITING" | "ENROLLING_BY_INVITATION" => TrialStatus::Ongoing,
            "SUSPENDED" => {
                self.not_mapped(
                    OVERALL_STATUS,
                    "SUSPENDED (halted, may resume) is mapped to `ongoing`: the profile has no suspended \
                     status; check whether the trial has resumed or stopped",
                );
                TrialStatus::Ongoing
            }
            "TERMINATED" => TrialStatus::Terminated,
            "COMPLETED" => TrialStatus::Completed,
            "WITHDRAWN" => TrialStatus::Withdrawn,
            "UNKNOWN" => {
                let last_known = last_known_status
                    .map(|last| format!(" (its last known status, {last}, is not imported)"))
                    .unwrap_or_default();
                self.not_mapped(
                    OVERALL_STATUS,
                    format!(
                        "UNKNOWN: ClinicalTrials.gov has not had the status verified for over two years{last_known}; \
                         status left unset: state it from a current source"
                    ),
                );
                return None;
            }
            "AVAILABLE"
            | "NO_LONGER_AVAILABLE"
            | "TEMPORARILY_NOT_AVAILABLE"
            | "APPROVED_FOR_MARKETING"
            | "WITHHELD" => {
                self.not_mapped(
                    OVERALL_STATUS,
                    format!("{value} is the status of an expanded-access record, not of a trial; status left unset"),
                );
                return None;
            }
            other => {
                self.not_mapped(OVERALL_STATUS, format!("unknown value {}; status left unset", quote(other)));
                return None;
            }
        };
        self.read(OVERALL_STATUS);
        Some(status)
    }

    /// Notes a record that is not of an interventional study: its design does not describe a trial.
    fn study_type(&mut self, study_type: Option<&str>) {
        match study_type {
            None | Some("INTERVENTIONAL") => {}
            Some(kind @ ("OBSERVATIONAL" | "EXPANDED_ACCESS")) => self.not_mapped(
                STUDY_TYPE,
                format!(
                    "{kind}: the record is not of an interventional trial; check that it belongs in clinical.trials"
                ),
            ),
            Some(other) => self.not_mapped(STUDY_TYPE, format!("unknown value {}", quote(other))),
        }
    }

    fn phase(&mut self, phases: Option<&[&str]>) -> Option<Phase> {
        let Some(phases) = phases else {
            self.absent(PHASES, "phase");
            return None;
        };
        let listed = || phases.iter().map(|phase| format!("`{phase}`")).collect::<Vec<_>>().join(", ");
        if phases.is_empty() {
            self.not_mapped(PHASES, "an empty list (observational studies have no phase); phase left unset");
            return None;
        }
        if phases.contains(&"NA") {
            self.not_mapped(
                PHASES,
                format!("[{}]: the record says no phase applies (e.g. a device or behavioural study); phase left unset", listed()),
            );
            return None;
        }
        let mut numbers = BTreeSet::new();
        for phase in phases {
            let number = match *phase {
                "EARLY_PHASE1" | "PHASE1" => 1,
                "PHASE2" => 2,
                "PHASE3" => 3,
                "PHASE4" => 4,
                other => {
                    self.not_mapped(
                        PHASES,
                        format!("unknown value {} in [{}]; phase left unset", quote(other), listed()),
                    );
                    return None;
                }
            };
            numbers.insert(number);
        }
        let phase = match numbers.into_iter().collect::<Vec<_>>().as_slice() {
            [1] => Phase::Phase1,
            [2] => Phase::Phase2,
            [3] => Phase::Phase3,
            [4] => Phase::Phase4,
            [1, 2] => Phase::Phase12,
            [2, 3] => Phase::Phase23,
            _ => {
                self.not_mapped(
                    PHASES,
                    format!("[{}] is not a phase the profile has (phase1_2 and phase2_3 are the combined ones); phase left unset", listed()),
                );
                return None;
            }
        };
        if phases.contains(&"EARLY_PHASE1") {
            self.not_mapped(
                PHASES,
                "EARLY_PHASE1 (formerly \"Phase 0\", exploratory) is mapped to `phase1`, the earliest phase the profile has",
            );
        }
        self.read(PHASES);
        Some(phase)
    }

    fn randomised(&mut self, allocation: Option<&str>) -> Option<bool> {
        let randomised = match allocation {
            None => {
                self.absent(ALLOCATION, "randomised");
                return None;
            }
            Some("RANDOMIZED") => true,
            // ClinicalTrials.gov gives NA for a single-arm study: nobody is allocated at random.
            Some("NON_RANDOMIZED" | "NA") => false,
            Some(other) => {
                self.not_mapped(ALLOCATION, format!("unknown value {}; randomised left unset", quote(other)));
                return None;
            }
        };
        self.read(ALLOCATION);
        Some(randomised)
    }

    /// The strongest blinding level whose roles are all masked. The profile's levels: outcome
    /// assessors (`assessor_blinded`); participants and investigators (`double_blind`); every
    /// role ClinicalTrials.gov records, participant, care provider, investigator and outcomes
    /// assessor (`quadruple`; the registry has no role for analysts).
    fn blinding(&mut self, masking: Option<&str>, who_masked: Option<&[&str]>) -> Option<Blinding> {
        let Some(masking) = masking else {
            self.absent(MASKING, "blinding");
            return None;
        };
        let who_masked = who_masked.unwrap_or_default();
        let roles_named = if who_masked.is_empty() { 0 } else { who_masked.len() };
        let masked_count = match masking {
            "NONE" => 0,
            "SINGLE" => 1,
            "DOUBLE" => 2,
            "TRIPLE" => 3,
            "QUADRUPLE" => 4,
            other => {
                self.not_mapped(MASKING, format!("unknown value {}; blinding left unset", quote(other)));
                return None;
            }
        };
        let roles_listed =
            || who_masked.iter().map(|role| format!("`{role}`")).collect::<Vec<_>>().join(", ");
        if masked_count == 0 {
            if roles_named > 0 {
                self.not_mapped(
                    MASKING,
                    format!("NONE (open label), yet whoMasked lists {}: the record contradicts itself; blinding left unset", roles_listed()),
                );
                return None;
            }
            self.read(MASKING);
            return Some(Blinding::OpenLabel);
        }
        if roles_named == 0 {
            if masked_count == 4 {
                // Quadruple masking is every one of the four roles the registry records.
                self.read(MASKING);
                return Some(Blinding::Quadruple);
            }
            self.not_mapped(
                MASKING,
                format!(
                    "{masking} masking without whoMasked: which role{} masked is not stated, and the blinding \
                     level depends on it; blinding left unset",
                    if masked_count == 1 { " is" } else { "s are" }
                ),
            );
            return None;
        }
        let distinct: BTreeSet<&str> = who_masked.iter().copied().collect();
        if let Some(unknown) = distinct.iter().find(|role| {
            !["PARTICIPANT", "CARE_PROVIDER", "INVESTIGATOR", "OUTCOMES_ASSESSOR"].contains(role)
        }) {
            self.not_mapped(WHO_MASKED, format!("unknown role {}; blinding left unset", quote(unknown)));
            return None;
        }
        if distinct.len() != masked_count {
            self.not_mapped(
                MASKING,
                format!(
                    "{masking} masking, yet whoMasked lists {} role{} ({}): the record contradicts itself; blinding left unset",
                    distinct.len(),
                    if distinct.len() == 1 { "" } else { "s" },
                    roles_listed()
                ),
            );
            return None;
        }
        let masked = |role: &str| distinct.contains(role);
        let blinding = if distinct.len() == 4 {
            Blinding::Quadruple
        } else if masked("PARTICIPANT") && masked("INVESTIGATOR") {
            Blinding::DoubleBlind
        } else if masked("OUTCOMES_ASSESSOR") {
            Blinding::AssessorBlinded
        } else {
            self.not_mapped(
                WHO_MASKED,
                format!(
                    "only {} masked: the profile's blinding levels need the outcome assessors, or the participants \
                     and the investigators, masked; blinding left unset",
                    roles_listed()
                ),
            );
            return None;
        };
        // Say why a level below the usual reading of the masking word was chosen.
        let usual = match masked_count {
            1 => Blinding::AssessorBlinded,
            2 => Blinding::DoubleBlind,
            _ => Blinding::Quadruple,
        };
        if blinding < usual {
            self.not_mapped(
                WHO_MASKED,
                format!(
                    "{masking} masking of {}: mapped to `{}`, the strongest level whose roles are all masked \
                     (`double_blind` needs participants and investigators; `quadruple` needs all four roles)",
                    roles_listed(),
                    blinding.as_str()
                ),
            );
        }
        self.read(MASKING);
        self.read(WHO_MASKED);
        Some(blinding)
    }

    fn enrollment(&mut self, count: Option<u64>, kind: Option<&str>) {
        let (count, kind) = match (count, kind) {
            (None, None) => return self.absent(ENROLLMENT, "planned_participants and enrolled_participants"),
            (None, Some(_)) => return self.absent(ENROLLMENT_COUNT, "the number of participants"),
            (Some(count), None) => {
                return self.not_mapped(
                    ENROLLMENT_TYPE,
                    format!(
                        "not in the record: whether {count} participants is the planned (ESTIMATED) or the actual \
                         (ACTUAL) enrolment is not stated; both left unset"
                    ),
                );
            }
            (Some(count), Some(kind)) => (count, kind),
        };
        let planned = match kind {
            "ESTIMATED" => true,
            "ACTUAL" => false,
            other => {
                return self.not_mapped(
                    ENROLLMENT_TYPE,
                    format!(
                        "unknown value {} (expected ESTIMATED or ACTUAL); the count {count} is not imported",
                        quote(other)
                    ),
                );
            }
        };
        let participants = match Participants::try_from(count as f64) {
            Ok(participants) => participants,
            Err(_) if count == 0 => {
                return self.not_mapped(
                    ENROLLMENT_COUNT,
                    format!("{kind} enrolment of 0: the profile counts participants from 1; left unset"),
                );
            }
            Err(reason) => return self.not_mapped(ENROLLMENT_COUNT, format!("{reason}; left unset")),
        };
        if planned {
            self.trial.planned_participants = Some(participants);
        } else {
            self.trial.enrolled_participants = Some(participants);
        }
        self.read(ENROLLMENT_COUNT);
        self.read(ENROLLMENT_TYPE);
    }

    /// The strongest control among the arm types. An arm of type OTHER (or without a type) could be
    /// a control of any kind, so the control is decided only when a placebo or sham arm, which
    /// nothing outranks, is present.
    fn control(&mut self, arms: Option<&[TextFields<'_>]>) -> Option<ControlArm> {
        let Some(arms) = arms.filter(|arms| !arms.is_empty()) else {
            self.absent(ARM_GROUPS, "control");
            return None;
        };
        let mut strongest: Option<ControlArm> = None;
        let mut undecided = Vec::new();
        let mut used = Vec::new();
        for (index, arm) in arms.iter().enumerate() {
            let field = format!("{ARM_GROUPS}[{index}].type");
            let control = match arm[0] {
                Some("PLACEBO_COMPARATOR" | "SHAM_COMPARATOR") => Some(ControlArm::PlaceboOrSham),
                Some("ACTIVE_COMPARATOR") => Some(ControlArm::ActiveComparator),
                Some("NO_INTERVENTION") => Some(ControlArm::StandardOfCare),
                Some("EXPERIMENTAL") => None,
                other => {
                    undecided.push((field, other, arm[1]));
                    continue;
                }
            };
            if control.is_some() {
                strongest = strongest.max(control);
            }
            used.push(field);
        }
        let decided = undecided.is_empty() || strongest == Some(ControlArm::PlaceboOrSham);
        for (field, kind, label) in &undecided {
            let label = label.map(|label| format!(" ({})", quote(label))).unwrap_or_default();
            let kind = kind.map_or_else(|| "no type".to_owned(), |kind| format!("type {}", quote(kind)));
            let consequence = if decided {
                "not read: a placebo or sham arm sets the control"
            } else {
                "it could be a control of any kind (standard of care, active, historical); control left unset"
            };
            self.not_mapped(field, format!("an arm{label} of {kind}: {consequence}"));
        }
        if !decided {
            return None;
        }
        for field in &used {
            self.read(field);
        }
        // Only experimental arms: no concurrent control.
        Some(strongest.unwrap_or(ControlArm::NoneSingleArm))
    }

    fn primary_endpoint(&mut self, outcomes: Option<&[TextFields<'_>]>) -> Option<PrimaryEndpoint> {
        let Some((first, others)) = outcomes.and_then(<[_]>::split_first) else {
            self.absent(PRIMARY_OUTCOMES, "primary_endpoint");
            return None;
        };
        let measure_field = format!("{PRIMARY_OUTCOMES}[0].measure");
        let time_frame_field = format!("{PRIMARY_OUTCOMES}[0].timeFrame");
        let description = match first[0] {
            Some(measure) => self.label(&measure_field, measure),
            None => {
                self.absent(&measure_field, "primary_endpoint.description");
                None
            }
        };
        let time_frame_months = match first[1] {
            Some(time_frame) => match months_of(time_frame) {
                Some(months) => match Months::try_from(months) {
                    Ok(months) => {
                        self.read(&time_frame_field);
                        Some(months)
                    }
                    Err(reason) => {
                        self.not_mapped(&time_frame_field, format!("{}: {reason}", quote(time_frame)));
                        None
                    }
                },
                None => {
                    self.not_mapped(
                        &time_frame_field,
                        format!(
                            "{} is not a single plain time (such as \"Day 28\", \"24 weeks\" or \"12 months\"); \
                             time_frame_months left unset",
                            quote(time_frame)
                        ),
                    );
                    None
                }
            },
            None => {
                self.absent(&time_frame_field, "primary_endpoint.time_frame_months");
                None
            }
        };
        for (offset, other) in others.iter().enumerate() {
            let measure = other[0].map(|measure| format!(" {}", quote(measure))).unwrap_or_default();
            self.not_mapped(
                &format!("{PRIMARY_OUTCOMES}[{}]", offset + 1),
                format!(
                    "another primary outcome{measure}: a trial holds one primary endpoint, and the first is imported"
                ),
            );
        }
        (description.is_some() || time_frame_months.is_some()).then(|| PrimaryEndpoint {
            description,
            time_frame_months,
            ..PrimaryEndpoint::default()
        })
    }

    /// `result` is never set: whether the primary endpoint was met is a judgement on the results
    /// and the analysis plan, not a field of the record.
    fn results(&mut self, has_results: Option<bool>) {
        let reason = match has_results {
            Some(true) => {
                "results are posted; whether the primary endpoint was met is a judgement on them and on the \
                 analysis plan, so result is left unset: state it from the posted results or the publication"
            }
            Some(false) => {
                "no results posted; result is left unset: state it from the publication, or `pending` while the \
                 trial runs"
            }
            None => return self.absent(HAS_RESULTS, "result"),
        };
        self.read(HAS_RESULTS);
        self.not_mapped(HAS_RESULTS, reason);
    }

    /// The date of the record's last update: a full date, or a month (the first of it, noted).
    fn as_of(&mut self, date: Option<&str>) -> Option<NaiveDate> {
        let Some(date) = date else {
            self.absent(LAST_UPDATE, "the source's as_of");
            return None;
        };
        if let Ok(day) = NaiveDate::parse_from_str(date, "%Y-%m-%d") {
            self.read(LAST_UPDATE);
            return Some(day);
        }
        if let Ok(first) = NaiveDate::parse_from_str(&format!("{date}-01"), "%Y-%m-%d")
            && date.len() == 7
        {
            self.read(LAST_UPDATE);
            self.not_mapped(
                LAST_UPDATE,
                format!("{} gives only the month; as_of is set to its first day, {first}", quote(date)),
            );
            return Some(first);
        }
        self.not_mapped(LAST_UPDATE, format!("{} is not a date (YYYY-MM-DD); as_of left unset", quote(date)));
        None
    }
}

/// Whether `text` is an NCT number: `NCT` and 8 digits.
fn is_nct_id(text: &str) -> bool {
    text.strip_prefix("NCT")
        .is_some_and(|digits| digits.len() == 8 && digits.bytes().all(|b| b.is_ascii_digit()))
}

/// A time frame written as one plain time: `Day 28`, `28 days`, `Week 24`, `24 weeks`,
/// `12 months`, `1 year` (any case), in months (a month is 30.4375 days), to two decimals.
/// Anything more (`Baseline and 12 months`, `up to 2 years`, `28 days after infusion`) is `None`.
fn months_of(time_frame: &str) -> Option<f64> {
    let lower = time_frame.trim().to_ascii_lowercase();
    let (number, unit) = match lower.split_whitespace().collect::<Vec<_>>().as_slice() {
        [first, second] if first.starts_with(|c: char| c.is_ascii_digit()) => (*first, *second),
        [first, second] => (*second, *first),
        _ => return None,
    };
    let plain_number = !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && number.bytes().filter(|b| *b == b'.').count() <= 1
        && !number.starts_with('.')
        && !number.ends_with('.');
    if !plain_number {
        return None;
    }
    let value: f64 = number.parse().ok()?;
    let months = match unit {
        "day" | "days" => value / DAYS_PER_MONTH,
        "week" | "weeks" => value * 7.0 / DAYS_PER_MONTH,
        "month" | "months" => value,
        "year" | "years" => value * 12.0,
        _ => return None,
    };
    Some((months * 100.0).round() / 100.0)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// A randomised, double-blind, placebo-controlled Phase 3 trial, completed, with results posted.
    fn completed_phase3() -> Value {
        json!({
            "protocolSection": {
                "identificationModule": {
                    "nctId": "NCT01541579",
                    "briefTitle": "Adipose Derived Mesenchymal Stem Cells for Induction of Remission in Perianal Fistulizing Crohn's Disease",
                    "acronym": "ADMIRE-CD"
                },
                "statusModule": {
                    "overallStatus": "COMPLETED",
                    "lastUpdatePostDateStruct": {"date": "2019-02-21", "type": "ACTUAL"}
                },
                "designModule": {
                    "studyType": "INTERVENTIONAL",
                    "phases": ["PHASE3"],
                    "designInfo": {
                        "allocation": "RANDOMIZED",
                        "maskingInfo": {"masking": "DOUBLE", "whoMasked": ["PARTICIPANT", "INVESTIGATOR"]}
                    },
                    "enrollmentInfo": {"count": 212, "type": "ACTUAL"}
                },
                "armsInterventionsModule": {
                    "armGroups": [
                        {"label": "Cx601", "type": "EXPERIMENTAL"},
                        {"label": "Placebo", "type": "PLACEBO_COMPARATOR"}
                    ]
                },
                "outcomesModule": {
                    "primaryOutcomes": [{"measure": "Combined remission", "timeFrame": "24 weeks"}]
                }
            },
            "hasResults": true
        })
    }

    /// A single-arm, open-label Phase 1/2 trial, recruiting, with an estimated enrolment.
    fn recruiting_phase1_2() -> Value {
        json!({
            "protocolSection": {
                "identificationModule": {"nctId": "NCT05000001", "briefTitle": "Umbilical Cord MSC in Knee Osteoarthritis"},
                "statusModule": {
                    "overallStatus": "RECRUITING",
                    "lastUpdatePostDateStruct": {"date": "2024-06"}
                },
                "designModule": {
                    "phases": ["PHASE2", "PHASE1"],
                    "designInfo": {"allocation": "NA", "maskingInfo": {"masking": "NONE"}},
                    "enrollmentInfo": {"count": 30, "type": "ESTIMATED"}
                },
                "armsInterventionsModule": {"armGroups": [{"label": "MSC", "type": "EXPERIMENTAL"}]},
                "outcomesModule": {"primaryOutcomes": [{"measure": "Adverse events", "timeFrame": "Day 28"}]}
            },
            "hasResults": false
        })
    }

    fn import(record: &Value) -> TrialImport {
        match trial_from_registry(record) {
            Ok(import) => import,
            Err(errors) => panic!("record refused: {errors:?}"),
        }
    }

    fn errors(record: &Value) -> Vec<(String, String)> {
        match trial_from_registry(record) {
            Ok(import) => panic!("record accepted: {import:?}"),
            Err(errors) => errors.into_iter().map(|error| (error.field, error.message)).collect(),
        }
    }

    /// The reason given for `field`, failing when it is not listed.
    fn reason<'a>(import: &'a TrialImport, field: &str) -> &'a str {
        import
            .not_mapped
            .iter()
            .find(|entry| entry.field == field)
            .map(|entry| entry.reason.as_str())
            .unwrap_or_else(|| panic!("{field} is not in not_mapped: {:?}", import.not_mapped))
    }

    fn with(mut record: Value, pointer: &str, value: Value) -> Value {
        *record.pointer_mut(pointer).unwrap_or_else(|| panic!("no {pointer}")) = value;
        record
    }

    fn masking(masking: &str, who_masked: &[&str]) -> TrialImport {
        let info = if who_masked.is_empty() {
            json!({"masking": masking})
        } else {
            json!({"masking": masking, "whoMasked": who_masked})
        };
        import(&with(completed_phase3(), "/protocolSection/designModule/designInfo/maskingInfo", info))
    }

    #[test]
    fn a_randomised_double_blind_placebo_phase3_with_results_maps_every_design_field() {
        let import = import(&completed_phase3());
        let trial = &import.trial;

        assert_eq!(trial.registry_id.as_ref().map(Label::as_str), Some("NCT01541579"));
        assert_eq!(trial.title.as_ref().map(Label::as_str), Some("ADMIRE-CD"), "the acronym is preferred");
        assert_eq!(trial.phase, Some(Phase::Phase3));
        assert_eq!(trial.status, Some(TrialStatus::Completed));
        assert_eq!(trial.randomised, Some(true));
        assert_eq!(trial.blinding, Some(Blinding::DoubleBlind));
        assert_eq!(trial.control, Some(ControlArm::PlaceboOrSham));
        assert_eq!(trial.enrolled_participants.map(Participants::get), Some(212));
        assert_eq!(trial.planned_participants, None);
        let endpoint = trial.primary_endpoint.as_ref().expect("primary endpoint");
        assert_eq!(endpoint.description.as_ref().map(Label::as_str), Some("Combined remission"));
        assert_eq!(endpoint.time_frame_months.map(Months::get), Some(5.52), "24 weeks");
        assert_eq!(endpoint.measure, None);
        assert_eq!(trial.result, None, "never derived from the record");
        assert_eq!(trial.pivotal, None);
        assert_eq!(
            trial.sources,
            Some(vec![Source {
                citation: Label::try_from("ClinicalTrials.gov record NCT01541579".to_owned()).ok(),
                identifier: Label::try_from("NCT01541579".to_owned()).ok(),
                kind: Some(SourceKind::Registry),
                as_of: NaiveDate::from_ymd_opt(2019, 2, 21),
            }])
        );
        assert_eq!(
            import.read,
            [
                NCT_ID,
                ACRONYM,
                OVERALL_STATUS,
                LAST_UPDATE,
                PHASES,
                ALLOCATION,
                MASKING,
                WHO_MASKED,
                ENROLLMENT_COUNT,
                ENROLLMENT_TYPE,
                "protocolSection.armsInterventionsModule.armGroups[0].type",
                "protocolSection.armsInterventionsModule.armGroups[1].type",
                "protocolSection.outcomesModule.primaryOutcomes[0].measure",
                "protocolSection.outcomesModule.primaryOutcomes[0].timeFrame",
                HAS_RESULTS,
            ]
        );
        // Only the result is left to the user.
        assert_eq!(import.not_mapped.len(), 1, "{:?}", import.not_mapped);
        assert!(reason(&import, HAS_RESULTS).starts_with("results are posted"));
        // The trial is one a version 2 profile accepts as it is.
        let profile =
            json!({"profile_version": "2", "clinical": {"trials": [serde_json::to_value(trial).unwrap()]}});
        crate::scoring::parse_profile(profile.to_string().as_bytes())
            .expect("the trial is a valid profile trial");
    }

    #[test]
    fn a_recruiting_single_arm_open_label_phase1_2_has_a_planned_enrolment() {
        let import = import(&recruiting_phase1_2());
        let trial = &import.trial;

        assert_eq!(
            trial.title.as_ref().map(Label::as_str),
            Some("Umbilical Cord MSC in Knee Osteoarthritis")
        );
        assert_eq!(trial.phase, Some(Phase::Phase12), "phases in any order");
        assert_eq!(trial.status, Some(TrialStatus::Ongoing));
        assert_eq!(trial.randomised, Some(false), "NA allocation: a single-arm study");
        assert_eq!(trial.blinding, Some(Blinding::OpenLabel));
        assert_eq!(trial.control, Some(ControlArm::NoneSingleArm));
        assert_eq!(trial.planned_participants.map(Participants::get), Some(30));
        assert_eq!(trial.enrolled_participants, None);
        let endpoint = trial.primary_endpoint.as_ref().expect("primary endpoint");
        assert_eq!(endpoint.time_frame_months.map(Months::get), Some(0.92), "Day 28");
        let as_of = trial.sources.as_ref().and_then(|sources| sources[0].as_of);
        assert_eq!(as_of, NaiveDate::from_ymd_opt(2024, 6, 1), "a month: its first day");
        assert!(reason(&import, LAST_UPDATE).contains("only the month"));
        assert!(reason(&import, HAS_RESULTS).starts_with("no results posted"));
        assert!(import.read.iter().any(|field| field == BRIEF_TITLE));
        assert!(!import.read.iter().any(|field| field == ACRONYM));
    }

    #[test]
    fn odd_values_go_to_not_mapped_with_the_reason_and_stay_unset() {
        let mut record = completed_phase3();
        let protocol = &mut record["protocolSection"];
        protocol["statusModule"]["overallStatus"] = json!("UNKNOWN");
        protocol["statusModule"]["lastKnownStatus"] = json!("RECRUITING");
        protocol["statusModule"]["lastUpdatePostDateStruct"]["date"] = json!("last spring");
        protocol["designModule"]["phases"] = json!(["NA"]);
        protocol["designModule"]["designInfo"]["allocation"] = json!("ALTERNATING");
        protocol["designModule"]["designInfo"]["maskingInfo"] =
            json!({"masking": "SINGLE", "whoMasked": ["PARTICIPANT"]});
        protocol["designModule"]["enrollmentInfo"] = json!({"count": 0, "type": "ACTUAL"});
        protocol["armsInterventionsModule"]["armGroups"] = json!([{"label": "MSC", "type": "EXPERIMENTAL"}, {"label": "Usual care cohort", "type": "OTHER"}]);
        protocol["outcomesModule"]["primaryOutcomes"] = json!([
            {"measure": "WOMAC pain", "timeFrame": "Baseline and 12 months"},
            {"measure": "Cartilage volume", "timeFrame": "12 months"}
        ]);

        let import = import(&record);
        let trial = &import.trial;

        assert_eq!(trial.status, None);
        assert!(reason(&import, OVERALL_STATUS).contains("last known status, RECRUITING"));
        assert_eq!(trial.phase, None);
        assert!(reason(&import, PHASES).contains("no phase applies"));
        assert_eq!(trial.randomised, None);
        assert!(reason(&import, ALLOCATION).contains("\"ALTERNATING\""));
        assert_eq!(trial.blinding, None);
        assert!(reason(&import, WHO_MASKED).contains("only `PARTICIPANT` masked"));
        assert_eq!((trial.planned_participants, trial.enrolled_participants), (None, None));
        assert!(reason(&import, ENROLLMENT_COUNT).contains("enrolment of 0"));
        assert_eq!(trial.control, None);
        assert!(
            reason(&import, "protocolSection.armsInterventionsModule.armGroups[1].type")
                .contains("\"Usual care cohort\"")
        );
        let endpoint = trial.primary_endpoint.as_ref().expect("the measure is still mapped");
        assert_eq!(endpoint.description.as_ref().map(Label::as_str), Some("WOMAC pain"));
        assert_eq!(endpoint.time_frame_months, None);
        assert!(
            reason(&import, "protocolSection.outcomesModule.primaryOutcomes[0].timeFrame")
                .starts_with("\"Baseline and 12 months\" is not a single plain time")
        );
        assert!(
            reason(&import, "protocolSection.outcomesModule.primaryOutcomes[1]")
                .contains("\"Cartilage volume\"")
        );
        assert_eq!(trial.sources.as_ref().and_then(|sources| sources[0].as_of), None);
        assert!(reason(&import, LAST_UPDATE).contains("\"last spring\" is not a date"));
        // What was not mapped was not read either.
        for field in [OVERALL_STATUS, LAST_UPDATE, PHASES, ALLOCATION, MASKING, WHO_MASKED, ENROLLMENT_COUNT]
        {
            assert!(!import.read.iter().any(|read| read == field), "{field}");
        }
    }

    #[test]
    fn blinding_is_the_strongest_level_whose_roles_are_all_masked() {
        let all = ["PARTICIPANT", "CARE_PROVIDER", "INVESTIGATOR", "OUTCOMES_ASSESSOR"];
        assert_eq!(masking("NONE", &[]).trial.blinding, Some(Blinding::OpenLabel));
        assert_eq!(masking("SINGLE", &["OUTCOMES_ASSESSOR"]).trial.blinding, Some(Blinding::AssessorBlinded));
        assert_eq!(
            masking("DOUBLE", &["INVESTIGATOR", "PARTICIPANT"]).trial.blinding,
            Some(Blinding::DoubleBlind)
        );
        assert_eq!(masking("QUADRUPLE", &all).trial.blinding, Some(Blinding::Quadruple));
        assert_eq!(
            masking("QUADRUPLE", &[]).trial.blinding,
            Some(Blinding::Quadruple),
            "four roles by definition"
        );

        // Below the usual reading of the word, with the reason.
        let triple = masking("TRIPLE", &["PARTICIPANT", "INVESTIGATOR", "OUTCOMES_ASSESSOR"]);
        assert_eq!(triple.trial.blinding, Some(Blinding::DoubleBlind));
        assert!(reason(&triple, WHO_MASKED).contains("`quadruple` needs all four roles"));
        let double = masking("DOUBLE", &["PARTICIPANT", "OUTCOMES_ASSESSOR"]);
        assert_eq!(double.trial.blinding, Some(Blinding::AssessorBlinded));
        assert!(reason(&double, WHO_MASKED).contains("mapped to `assessor_blinded`"));

        // Undecidable: unset, with the reason.
        for (word, roles, field, expected) in [
            ("SINGLE", &["PARTICIPANT"][..], WHO_MASKED, "only `PARTICIPANT` masked"),
            (
                "DOUBLE",
                &["PARTICIPANT", "CARE_PROVIDER"][..],
                WHO_MASKED,
                "only `PARTICIPANT`, `CARE_PROVIDER`",
            ),
            ("SINGLE", &[][..], MASKING, "which role is masked is not stated"),
            ("DOUBLE", &[][..], MASKING, "which roles are masked is not stated"),
            ("TRIPLE", &[][..], MASKING, "which roles are masked is not stated"),
            ("DOUBLE", &["PARTICIPANT"][..], MASKING, "contradicts itself"),
            ("DOUBLE", &["PARTICIPANT", "ANALYST"][..], WHO_MASKED, "unknown role \"ANALYST\""),
            ("PARTIAL", &[][..], MASKING, "unknown value \"PARTIAL\""),
        ] {
            let import = masking(word, roles);
            assert_eq!(import.trial.blinding, None, "{word} {roles:?}");
            assert!(reason(&import, field).contains(expected), "{word} {roles:?}: {:?}", import.not_mapped);
            assert!(!import.read.iter().any(|read| read == MASKING), "{word} {roles:?}");
        }
    }

    #[test]
    fn statuses_phases_and_arm_types_map_to_the_profile_values() {
        let status = |value: &str| {
            import(&with(completed_phase3(), "/protocolSection/statusModule/overallStatus", json!(value)))
                .trial
                .status
        };
        for (value, expected) in [
            ("NOT_YET_RECRUITING", Some(TrialStatus::Planned)),
            ("WITHDRAWN", Some(TrialStatus::Withdrawn)),
            ("RECRUITING", Some(TrialStatus::Ongoing)),
            ("ACTIVE_NOT_RECRUITING", Some(TrialStatus::Ongoing)),
            ("ENROLLING_BY_INVITATION", Some(TrialStatus::Ongoing)),
            ("SUSPENDED", Some(TrialStatus::Ongoing)),
            ("TERMINATED", Some(TrialStatus::Terminated)),
            ("COMPLETED", Some(TrialStatus::Completed)),
            ("UNKNOWN", None),
            ("AVAILABLE", None),
            ("completed", None),
        ] {
            assert_eq!(status(value), expected, "{value}");
        }

        let phase = |value: Value| {
            import(&with(completed_phase3(), "/protocolSection/designModule/phases", value)).trial.phase
        };
        for (value, expected) in [
            (json!(["EARLY_PHASE1"]), Some(Phase::Phase1)),
            (json!(["PHASE1"]), Some(Phase::Phase1)),
            (json!(["PHASE2"]), Some(Phase::Phase2)),
            (json!(["PHASE4"]), Some(Phase::Phase4)),
            (json!(["PHASE1", "PHASE2"]), Some(Phase::Phase12)),
            (json!(["PHASE2", "PHASE3"]), Some(Phase::Phase23)),
            (json!(["PHASE1", "PHASE3"]), None),
            (json!(["NA"]), None),
            (json!([]), None),
            (json!(["PHASE5"]), None),
        ] {
            assert_eq!(phase(value.clone()), expected, "{value}");
        }

        let control = |types: &[&str]| {
            let arms: Vec<Value> = types.iter().map(|kind| json!({"type": kind})).collect();
            let record =
                with(completed_phase3(), "/protocolSection/armsInterventionsModule/armGroups", json!(arms));
            import(&record).trial.control
        };
        for (types, expected) in [
            (&["EXPERIMENTAL", "SHAM_COMPARATOR"][..], Some(ControlArm::PlaceboOrSham)),
            (&["EXPERIMENTAL", "ACTIVE_COMPARATOR"][..], Some(ControlArm::ActiveComparator)),
            (&["EXPERIMENTAL", "NO_INTERVENTION"][..], Some(ControlArm::StandardOfCare)),
            (&["EXPERIMENTAL", "EXPERIMENTAL"][..], Some(ControlArm::NoneSingleArm)),
            (
                &["EXPERIMENTAL", "ACTIVE_COMPARATOR", "PLACEBO_COMPARATOR"][..],
                Some(ControlArm::PlaceboOrSham),
            ),
            (&["EXPERIMENTAL", "OTHER", "PLACEBO_COMPARATOR"][..], Some(ControlArm::PlaceboOrSham)),
            (&["EXPERIMENTAL", "OTHER"][..], None),
            (&["EXPERIMENTAL", "ACTIVE_COMPARATOR", "OTHER"][..], None),
        ] {
            assert_eq!(control(types), expected, "{types:?}");
        }
    }

    #[test]
    fn plain_time_frames_are_read_as_months_and_nothing_else_is() {
        for (text, months) in [
            ("Day 28", Some(0.92)),
            ("28 days", Some(0.92)),
            ("24 weeks", Some(5.52)),
            ("Week 24", Some(5.52)),
            ("12 months", Some(12.0)),
            ("Month 6", Some(6.0)),
            ("1 year", Some(12.0)),
            ("2 Years", Some(24.0)),
            ("  6 months ", Some(6.0)),
            ("1.5 years", Some(18.0)),
            ("Baseline and 12 months", None),
            ("up to 2 years", None),
            ("28 days after infusion", None),
            ("6 mo", None),
            ("month", None),
            ("1e3 days", None),
            ("", None),
        ] {
            assert_eq!(months_of(text), months, "{text:?}");
        }
    }

    #[test]
    fn a_long_title_is_cut_to_the_label_limit_and_the_cut_is_noted() {
        let long = format!("Mesenchymal Stromal Cells {}", "in\nKnee Osteoarthritis ".repeat(20));
        let mut record = completed_phase3();
        record["protocolSection"]["identificationModule"] =
            json!({"nctId": "NCT01541579", "acronym": " ", "briefTitle": long});

        let import = import(&record);

        let title = import.trial.title.as_ref().expect("title").as_str();
        assert!((190..=200).contains(&title.chars().count()), "{title}");
        assert!(title.starts_with("Mesenchymal Stromal Cells in Knee") && title.ends_with('…'), "{title}");
        assert!(reason(&import, BRIEF_TITLE).contains("cut to the first 199"));
    }

    #[test]
    fn a_record_with_only_an_nct_number_lists_every_other_field_as_not_in_the_record() {
        let import = import(&json!({"protocolSection": {"identificationModule": {"nctId": "NCT01541579"}}}));

        assert_eq!(import.read, [NCT_ID]);
        let absent: Vec<&str> = import.not_mapped.iter().map(|entry| entry.field.as_str()).collect();
        assert_eq!(
            absent,
            [
                BRIEF_TITLE,
                OVERALL_STATUS,
                LAST_UPDATE,
                PHASES,
                ALLOCATION,
                MASKING,
                ENROLLMENT,
                ARM_GROUPS,
                PRIMARY_OUTCOMES,
                HAS_RESULTS
            ]
        );
        assert!(import.not_mapped.iter().all(|entry| entry.reason.starts_with("not in the record")));
        assert_eq!(import.trial.sources.as_ref().map(Vec::len), Some(1));
    }

    #[test]
    fn json_that_is_not_a_study_record_is_refused_naming_what_is_missing() {
        let fields = |record: Value| errors(&record).into_iter().map(|(field, _)| field).collect::<Vec<_>>();

        assert_eq!(fields(json!({})), [PROTOCOL_SECTION]);
        assert_eq!(fields(json!({"name": "Disc program", "hasResults": true})), [PROTOCOL_SECTION]);
        assert_eq!(fields(json!({"protocolSection": {}})), [NCT_ID]);
        assert_eq!(fields(json!({"protocolSection": {"designModule": {"phases": ["PHASE2"]}}})), [NCT_ID]);
        assert!(errors(&json!({"protocolSection": {}}))[0].1.starts_with("this field is required"));
        let list = errors(&json!({"studies": [completed_phase3()], "nextPageToken": "x"}));
        assert!(list[0].1.contains("send one element of `studies`"), "{list:?}");
        assert_eq!(
            errors(&json!([completed_phase3()])),
            [(
                String::new(),
                "expected a ClinicalTrials.gov API v2 study record (an object with `protocolSection`), got a list"
                    .to_owned()
            )]
        );
        let malformed =
            errors(&with(completed_phase3(), "/protocolSection/identificationModule/nctId", json!("NCT123")));
        assert_eq!(
            malformed,
            [(
                NCT_ID.to_owned(),
                "expected an NCT number (NCT and 8 digits, e.g. NCT01541579), got \"NCT123\"".to_owned()
            )]
        );
    }

    #[test]
    fn a_field_read_with_the_wrong_json_type_is_refused_naming_it_and_every_other_one() {
        let mut record = completed_phase3();
        record["protocolSection"]["designModule"]["phases"] = json!("PHASE2");
        record["protocolSection"]["designModule"]["designInfo"]["maskingInfo"]["whoMasked"] =
            json!(["PARTICIPANT", 2]);
        record["protocolSection"]["designModule"]["enrollmentInfo"]["count"] = json!("212");
        record["protocolSection"]["armsInterventionsModule"]["armGroups"][1] = json!("Placebo");
        record["protocolSection"]["outcomesModule"] = json!([]);
        record["hasResults"] = json!("yes");

        assert_eq!(
            errors(&record),
            [
                (PHASES, "expected a list, got the text \"PHASE2\""),
                (
                    "protocolSection.designModule.designInfo.maskingInfo.whoMasked[1]",
                    "expected text, got the number 2"
                ),
                (ENROLLMENT_COUNT, "expected a whole number, 0 or more, got the text \"212\""),
                (
                    "protocolSection.armsInterventionsModule.armGroups[1]",
                    "expected an object, got the text \"Placebo\""
                ),
                ("protocolSection.outcomesModule", "expected an object, got a list"),
                (HAS_RESULTS, "expected true or false, got the text \"yes\""),
            ]
            .map(|(field, message)| (field.to_owned(), message.to_owned()))
        );
        // A wrong object on the way is named once, not once per field under it.
        let module = with(completed_phase3(), "/protocolSection/designModule", json!("PHASE3"));
        assert_eq!(
            errors(&module),
            [(
                "protocolSection.designModule".to_owned(),
                "expected an object, got the text \"PHASE3\"".to_owned()
            )]
        );
        // ... and stands for a missing nctId under it.
        let identification = with(completed_phase3(), "/protocolSection/identificationModule", json!(5));
        assert_eq!(errors(&identification).len(), 1);
    }

    #[test]
    fn the_documented_example_record_is_mapped() {
        let import = import(&example_record());
        assert_eq!(import.trial.phase, Some(Phase::Phase3));
        assert_eq!(import.trial.blinding, Some(Blinding::DoubleBlind));
        assert_eq!(response_example()["trial"]["registry_id"], "NCT09999999");
    }
}
