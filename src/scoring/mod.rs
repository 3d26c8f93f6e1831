//! The scoring model: a pure function from an MSC therapy program profile to an explained,
//! evidence-cited assessment of the seven translational barriers (no I/O, no async).
//!
//! - [`profile`]: the input schema; [`parse_profile`] rejects unknown fields and out-of-range
//!   numbers with the field path, every error of a profile at once ([`parse_errors`]).
//! - `model_data/`: the versioned model data, one file per concern (weights, value maps, caps, evidence registry,
//!   mitigations, indication profiles), compiled in and validated by [`Model::load`].
//! - [`Model::assess`]: factors → barrier scores with bounds, coverage and confidence → overall
//!   readiness index, mitigations ranked by counterfactual re-scoring, consistency warnings.
//!
//! - [`readiness`]: MSC-TRL 1-9 readiness levels, gated rather than averaged, read from the same
//!   normalised facts and added to the [`Assessment`] with the roadmap to the next level,
//!   regression events and MRL-lite.
//! - [`registry_import`]: one `clinical.trials[]` item from a ClinicalTrials.gov study record,
//!   with the fields read and those it could not map.

mod assessment;
pub mod backtest;
mod document;
mod engine;
mod factors;
mod facts;
mod input_types;
pub mod jurisdictions;
pub mod labels;
mod list_limits;
mod model;
pub mod parse_errors;
pub mod profile;
pub mod readiness;
mod reference;
pub mod registry_import;
mod shared;
pub mod trials;
pub mod upgrade;

#[cfg(test)]
mod tests;

use std::sync::LazyLock;

pub use assessment::{
    Assessment, Band, BarrierAssessment, BarrierChange, BonusApplied, CapApplied, ChecklistItemStatus,
    EvidenceCitation, EvidenceItem, FactorAssessment, FactorState, IndicationProfileUsed, ItemState,
    Mitigation, Modifier, Overall, Warning, with_citations_as_claim_ids,
};
pub use document::{
    BarrierDefinition, BarrierWeights, BonusCode, BonusDefinition, CapCode, CapDefinition, ChangelogEntry,
    ChecklistItemDefinition, Constants, Effort, Evidence, EvidenceLink, EvidenceRole, EvidenceWeights,
    FactorDefinition, Hostility, IndicationProfileDefinition, LevelDefinition, Maturity, MechanismDefinition,
    MitigationDefinition, ModelDocument, ProfileMaturity, RegionChecklist, RegionItem, Requirement, RouteFit,
    Severity, SeverityStratifier, Thresholds, ValidationSummary, VerificationStatus, WarningCode,
    WarningDefinition,
};
pub use factors::{Barrier, Criticality, FactorCode};
pub use input_types::{Label, forbidden_characters};
pub use model::{Model, ModelError};
pub use profile::{Profile, ProfileError, ProfileErrors, ProfileSummary, parse_profile};
pub use readiness::{
    GateDefinition, GateMitigation, GateState, GateStatus, GateTest, ImpliedBy, LevelState, LevelStatus,
    MilestoneKind, MrlCriterionDefinition, MrlCriterionStatus, MrlDefinition, MrlLevelDefinition, MrlLite,
    PotencyTier, Readiness, ReadinessDefinition, ReadinessLevelDefinition, RegressionApplied,
    RegressionDefinition, RegressionEvent, RoadmapItem, ScoreCheck, Stream, StreamLevels,
};
pub use reference::{REFERENCE_PROGRAMS, REFERENCE_PROGRAMS_V1, reference_programs};
pub use shared::{Shared, Text};

static CURRENT: LazyLock<Model> = LazyLock::new(|| {
    Model::load()
        .expect("the embedded model data is valid: the the_embedded_model_data_is_valid test loads it")
});

impl Model {
    /// The model compiled into this binary.
    pub fn current() -> &'static Model {
        &CURRENT
    }

    /// Assesses a profile. Deterministic: the same profile gives the same assessment.
    pub fn assess(&self, profile: &Profile) -> Assessment {
        assessment::assess(self, &upgrade::to_version2(profile))
    }
}
