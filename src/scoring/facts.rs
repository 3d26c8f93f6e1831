//! The profile normalised into one flat, `Copy` record. Factors read it instead of walking the
//! nested profile, and a mitigation's counterfactual is an overlay of two records, so re-scoring
//! "what if" costs no allocation.

use super::input_types::{Member, Set};
use super::jurisdictions::{DeficiencyReason, Milestone, regulatory_facts};
use super::profile::*;
use super::trials::{EfficacyReading, trial_facts};

/// Combines a value with the value a counterfactual change supplies.
pub(crate) trait Merge: Copy {
    /// The combined value: the change wins for single values; sets and summaries are unioned,
    /// because a mitigation adds to what the program already does.
    fn merge(self, change: Self) -> Self;
}

fn merge<T: Merge>(base: Option<T>, change: Option<T>) -> Option<T> {
    match (base, change) {
        (Some(base), Some(change)) => Some(base.merge(change)),
        (base, change) => change.or(base),
    }
}

macro_rules! replaced_on_merge {
    ($($ty:ty),+) => {
        $(impl Merge for $ty {
            fn merge(self, change: Self) -> Self {
                change
            }
        })+
    };
}

replaced_on_merge!(
    f64,
    u32,
    bool,
    Indication,
    ProductClass,
    DevelopmentStage,
    TissueSource,
    DonorType,
    CellBank,
    HlaMatching,
    CultureMedia,
    CultureFormat,
    CultureOxygen,
    Substrate,
    ModificationKind,
    SafetySwitch,
    GmpStatus,
    AutomationLevel,
    ProcessChanges,
    DonorEligibility,
    Hemocompatibility,
    Presentation,
    Route,
    Carrier,
    DoseRationale,
    SurvivalEvidence,
    BiodistributionEvidence,
    TumorigenicityStudy,
    TrialPhase,
    ControlArm,
    Blinding,
    PatientSelection,
    PivotalResult,
    ClassificationStatus,
    RegulatoryStatus,
    CmcDocumentation,
    ConditionalApprovalOutcome,
    EvidenceLevel,
    EfficacyReading,
    Milestone
);

impl<T: Member> Merge for Set<T> {
    fn merge(self, change: Self) -> Self {
        self.union(change)
    }
}

/// Potency assays summarised as the analytes measured at each maturity tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PotencyTiers {
    /// Analytes measured only qualitatively (or not known to be quantitative).
    pub qualitative: Set<PotencyAnalyte>,
    /// Quantitative, exploratory (or of unknown stage).
    pub exploratory: Set<PotencyAnalyte>,
    /// Quantitative and qualified, or validated but not a lot-release test with a criterion.
    pub qualified: Set<PotencyAnalyte>,
    /// Validated, used for lot release, with an acceptance criterion.
    pub lot_release: Set<PotencyAnalyte>,
    /// Lot release as above, with a readout correlated with clinical activity, run on clinical and
    /// commercial lots alike, and (for frozen products) on thawed product.
    pub clinically_anchored: Set<PotencyAnalyte>,
    /// Tiers of assays the sponsor declares linked to a stated mechanism whatever their analyte
    /// (an assay matrix): bit 0 exploratory, 1 qualified, 2 lot release, 3 clinically anchored.
    pub declared_linked: u8,
}

impl PotencyTiers {
    fn from_assays(assays: &[PotencyAssay], frozen: Option<bool>) -> Self {
        let mut tiers = Self {
            qualitative: Set::EMPTY,
            exploratory: Set::EMPTY,
            qualified: Set::EMPTY,
            lot_release: Set::EMPTY,
            clinically_anchored: Set::EMPTY,
            declared_linked: 0,
        };
        for assay in assays {
            // An assay declared not linked to the mechanism counts as functional, whatever it measures.
            let analyte = match assay.mechanism_linked {
                Some(false) => PotencyAnalyte::Other,
                _ => assay.analyte.unwrap_or(PotencyAnalyte::Other),
            };
            let lot_release = assay.stage == Some(AssayStage::Validated)
                && assay.used_for_lot_release == Some(true)
                && assay.acceptance_criterion.is_some();
            // A validated lot-release assay has an acceptance criterion on a measured value
            // (ICH Q6B: potency is a quantitative measure of biological activity), so it is
            // quantitative unless the profile says otherwise.
            let quantitative =
                assay.quantitative == Some(true) || (lot_release && assay.quantitative.is_none());
            let (tier, bit) = if !quantitative {
                (&mut tiers.qualitative, None)
            } else {
                match assay.stage {
                    None | Some(AssayStage::Exploratory) => (&mut tiers.exploratory, Some(0)),
                    Some(AssayStage::Qualified) => (&mut tiers.qualified, Some(1)),
                    Some(AssayStage::Validated) if !lot_release => (&mut tiers.qualified, Some(1)),
                    Some(AssayStage::Validated) => {
                        let thawed = frozen == Some(false) || assay.tested_after_thaw == Some(true);
                        if assay.correlated_with_clinical_activity == Some(true)
                            && assay.bridges_clinical_and_commercial_lots == Some(true)
                            && thawed
                        {
                            (&mut tiers.clinically_anchored, Some(3))
                        } else {
                            (&mut tiers.lot_release, Some(2))
                        }
                    }
                }
            };
            tier.insert(analyte);
            if let (Some(bit), Some(true)) = (bit, assay.mechanism_linked) {
                tiers.declared_linked |= 1 << bit;
            }
        }
        tiers
    }

    /// Every analyte measured at any tier.
    pub fn all(self) -> Set<PotencyAnalyte> {
        self.qualitative
            .union(self.exploratory)
            .union(self.qualified)
            .union(self.lot_release)
            .union(self.clinically_anchored)
    }

    /// Whether an assay at `tier` (0 exploratory .. 3 clinically anchored) or above is linked to
    /// the mechanism: by its analyte being a marker of it, or by the sponsor's declaration.
    pub fn linked_at_least(self, tier: u8, markers: Set<PotencyAnalyte>) -> bool {
        let sets = [self.exploratory, self.qualified, self.lot_release, self.clinically_anchored];
        (usize::from(tier)..sets.len())
            .any(|t| sets[t].intersects(markers) || self.declared_linked & (1 << t) != 0)
    }
}

impl Merge for PotencyTiers {
    fn merge(self, change: Self) -> Self {
        Self {
            qualitative: self.qualitative.union(change.qualitative),
            exploratory: self.exploratory.union(change.exploratory),
            qualified: self.qualified.union(change.qualified),
            lot_release: self.lot_release.union(change.lot_release),
            clinically_anchored: self.clinically_anchored.union(change.clinically_anchored),
            declared_linked: self.declared_linked | change.declared_linked,
        }
    }
}

/// Animal efficacy models summarised by the properties the nonclinical package is judged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AnimalModels {
    /// At least one model.
    pub any: bool,
    /// A highly disease-relevant model using the clinical route.
    pub relevant: bool,
    /// A large-animal or aged/comorbid model.
    pub large_or_aged: bool,
}

impl AnimalModels {
    fn from_models(models: &[AnimalModel]) -> Self {
        Self {
            any: !models.is_empty(),
            relevant: models.iter().any(|m| {
                m.disease_relevance == Some(DiseaseRelevance::High) && m.route_matches_clinical == Some(true)
            }),
            large_or_aged: models
                .iter()
                .any(|m| m.large_animal == Some(true) || m.aged_or_comorbid == Some(true)),
        }
    }
}

impl Merge for AnimalModels {
    fn merge(self, change: Self) -> Self {
        Self {
            any: self.any || change.any,
            relevant: self.relevant || change.relevant,
            large_or_aged: self.large_or_aged || change.large_or_aged,
        }
    }
}

macro_rules! facts {
    ($($(#[$doc:meta])* $field:ident: $ty:ty,)+) => {
        /// Every scored input, each `None` when unknown.
        #[derive(Debug, Clone, Copy, PartialEq)]
        pub(crate) struct Facts {
            $($(#[$doc])* pub $field: Option<$ty>,)+
        }

        /// A field of [`Facts`], named as the field, for the masks of what a factor reads.
        #[allow(non_camel_case_types)]
        #[derive(Debug, Clone, Copy)]
        pub(crate) enum Field {
            $($field,)+
        }

        // Field masks are u128.
        const _: () = assert!([$(Field::$field),+].len() <= 128);

        impl Facts {
            /// Nothing known.
            pub const UNKNOWN: Self = Self { $($field: None,)+ };

            /// These facts with a counterfactual change applied on top.
            pub fn overlay(self, change: &Self) -> Self {
                Self { $($field: merge(self.$field, change.$field),)+ }
            }

            /// The mask of the fields in which these facts differ from `other`.
            pub fn differing(&self, other: &Self) -> u128 {
                let mut mask = 0;
                $(if self.$field != other.$field {
                    mask |= 1 << Field::$field as u32;
                })+
                mask
            }
        }
    };
}

/// The mask of some fields.
pub(crate) const fn mask(fields: &[Field]) -> u128 {
    let mut mask = 0;
    let mut i = 0;
    while i < fields.len() {
        mask |= 1 << fields[i] as u32;
        i += 1;
    }
    mask
}

facts! {
    indication: Indication,
    pfirrmann_grade: u32,
    kellgren_lawrence_grade: u32,
    rutherford_category: u32,
    days_since_onset: u32,
    mechanisms: Set<Mechanism>,
    product_class: ProductClass,
    stage: DevelopmentStage,

    tissue_source: TissueSource,
    donor_type: DonorType,
    donor_age_years: f64,
    cell_bank: CellBank,
    hla_matching: HlaMatching,
    donor_eligibility: DonorEligibility,
    cell_source_evidence: EvidenceLevel,

    culture_media: CultureMedia,
    culture_format: CultureFormat,
    culture_oxygen: CultureOxygen,
    substrate: Substrate,
    passage: u32,
    preconditioning: Set<Preconditioning>,
    modification_kind: ModificationKind,
    gene_targets: Set<GeneTarget>,
    safety_switch: SafetySwitch,
    off_target_analysis: bool,
    integration_site_analysis: bool,
    gmp_status: GmpStatus,
    lots_characterised: u32,
    potency_cv_within_limit: bool,
    cells_per_lot: f64,
    doses_per_lot: u32,
    media_liters_per_dose: f64,
    cogs_per_dose_usd: f64,
    automation: AutomationLevel,
    process_changes: ProcessChanges,
    manufacturing_evidence: EvidenceLevel,

    isct_identity_testing: bool,
    release_viability_min_pct: f64,
    release_sterility: bool,
    release_endotoxin: bool,
    release_mycoplasma: bool,
    release_identity: bool,
    release_karyotype: bool,
    release_potency: bool,
    viability_at_release_pct: f64,
    post_thaw_viability_pct: f64,
    potency: PotencyTiers,
    quality_evidence: EvidenceLevel,

    presentation: Presentation,
    stability_data: bool,
    formulation_evidence: EvidenceLevel,

    route: Route,
    carrier: Carrier,
    retention_adjuncts: Set<RetentionAdjunct>,
    dose_cells: f64,
    n_doses: u32,
    injection_volume_ml: f64,
    dose_rationale: DoseRationale,
    procedure_safety_measures: Set<ProcedureSafetyMeasure>,
    delivery_evidence: EvidenceLevel,

    animal_models: AnimalModels,
    survival_evidence: SurvivalEvidence,
    biodistribution_evidence: BiodistributionEvidence,
    genetic_stability_tests: Set<GeneticStabilityTest>,
    tumorigenicity_study: TumorigenicityStudy,
    glp_tox_biodistribution: bool,
    nonclinical_evidence: EvidenceLevel,

    completed_phase: TrialPhase,
    proms: Set<Prom>,
    structural_endpoints: Set<StructuralEndpoint>,
    mcid_prespecified: bool,
    sample_size_powered: bool,
    control_arm: ControlArm,
    blinding: Blinding,
    patient_selection: PatientSelection,
    efficacy_follow_up_months: f64,
    ltfu_safety_years: f64,
    immunogenicity_monitoring: Set<ImmunogenicityMonitoring>,
    pivotal_result: PivotalResult,
    pharmacovigilance: bool,
    long_term_follow_up_in_place: bool,
    efficacy: EfficacyReading,
    clinical_evidence: EvidenceLevel,

    target_regulators: Set<Regulator>,
    classification_status: ClassificationStatus,
    regulatory_interactions: Set<RegulatoryInteraction>,
    regulatory_status: RegulatoryStatus,
    designations: Set<Designation>,
    cmc_documentation: CmcDocumentation,
    conditional_approval: ConditionalApprovalOutcome,
    market_access_plan: bool,
    trial_authorisation: Milestone,
    marketing_application: Milestone,
    approval: Milestone,
    deficiencies: Set<DeficiencyReason>,
    release_specification_accepted: bool,
    hemocompatibility: Hemocompatibility,
    nonclinical_package_accepted: bool,
    regulatory_evidence: EvidenceLevel,
}

fn set_of<T: Member>(values: &Option<Vec<T>>) -> Option<Set<T>> {
    values.as_ref().map(|values| values.iter().copied().collect())
}

impl Facts {
    /// The clinical-trial authorisation: stated by a regulator's history, or implied by a
    /// completed trial, which needed one.
    pub fn trial_authorised(&self) -> Option<Milestone> {
        self.trial_authorisation.or_else(|| {
            self.completed_phase.filter(|phase| *phase >= TrialPhase::Phase1).map(|_| Milestone {
                regulator: None,
                date: None,
                pathway: None,
                dossier_deficient: false,
            })
        })
    }

    /// The latest marketing application whose dossier stands: not refused for filing and not
    /// answered with a complete response citing CMC.
    pub fn standing_application(&self) -> Option<Milestone> {
        self.marketing_application.filter(|application| !application.dossier_deficient)
    }

    /// Normalises a profile, converting version 1 to version 2 first.
    pub fn from_profile(profile: &Profile) -> Self {
        let profile = &*super::upgrade::to_version2(profile);
        let mut facts = Self::UNKNOWN;
        if let Some(p) = &profile.program {
            facts.indication = p.indication;
            let detail = p.indication_detail.unwrap_or_default();
            facts.pfirrmann_grade = detail.pfirrmann_grade.map(PfirrmannGrade::get);
            facts.kellgren_lawrence_grade = detail.kellgren_lawrence_grade.map(KellgrenLawrenceGrade::get);
            facts.rutherford_category = detail.rutherford_category.map(RutherfordCategory::get);
            facts.days_since_onset = detail.days_since_onset.map(DaysSinceOnset::get);
            facts.mechanisms = set_of(&p.intended_mechanism);
            facts.product_class = p.product_class;
            facts.stage = p.stage;
        }
        if let Some(c) = &profile.cell_source {
            facts.tissue_source = c.tissue_source;
            facts.donor_type = c.donor_type;
            facts.donor_age_years = c.donor_age_years.map(AgeYears::get);
            facts.cell_bank = c.cell_bank;
            facts.hla_matching = c.hla_matching;
            facts.donor_eligibility = c.donor_eligibility;
            facts.cell_source_evidence = c.evidence_level;
        }
        if let Some(m) = &profile.manufacturing {
            facts.culture_media = m.culture_media;
            facts.culture_format = m.culture_format;
            facts.culture_oxygen = m.culture_oxygen;
            facts.substrate = m.substrate;
            facts.passage = m.passage_at_release.map(Passage::get);
            facts.preconditioning = set_of(&m.preconditioning);
            if let Some(g) = &m.genetic_modification {
                facts.modification_kind = g.kind;
                facts.gene_targets = set_of(&g.targets);
                facts.safety_switch = g.safety_switch;
                facts.off_target_analysis = g.off_target_analysis;
                facts.integration_site_analysis = g.integration_site_analysis;
            }
            facts.gmp_status = m.gmp_status;
            if let Some(lots) = m.lot_consistency {
                facts.lots_characterised = lots.lots_characterised.map(LotCount::get);
                facts.potency_cv_within_limit = lots.potency_cv_within_limit;
            }
            facts.cells_per_lot = m.cells_per_lot.map(CellCount::get);
            facts.doses_per_lot = m.doses_per_lot.map(DoseCount::get);
            facts.media_liters_per_dose = m.media_liters_per_dose.map(Litres::get);
            facts.cogs_per_dose_usd = m.estimated_cogs_per_dose_usd.map(Usd::get);
            facts.automation = m.automation_level;
            facts.process_changes = m.process_changes;
            facts.manufacturing_evidence = m.evidence_level;
        }
        if let Some(q) = &profile.quality {
            facts.isct_identity_testing = q.isct_identity_testing;
            if let Some(r) = q.release_criteria {
                facts.release_viability_min_pct = r.viability_min_pct.map(Percent::get);
                facts.release_sterility = r.sterility;
                facts.release_endotoxin = r.endotoxin;
                facts.release_mycoplasma = r.mycoplasma;
                facts.release_identity = r.identity;
                facts.release_karyotype = r.karyotype;
                facts.release_potency = r.potency;
            }
            facts.viability_at_release_pct = q.viability_at_release_pct.map(Percent::get);
            facts.post_thaw_viability_pct = q.post_thaw_viability_pct.map(Percent::get);
            let frozen =
                profile.formulation.as_ref().and_then(|f| f.presentation).map(|p| p != Presentation::Fresh);
            facts.potency =
                q.potency_assays.as_deref().map(|assays| PotencyTiers::from_assays(assays, frozen));
            facts.release_specification_accepted = q.release_specification_accepted_by_regulator;
            facts.hemocompatibility = q.hemocompatibility;
            facts.quality_evidence = q.evidence_level;
        }
        if let Some(f) = &profile.formulation {
            facts.presentation = f.presentation;
            facts.stability_data = f.stability_data;
            facts.formulation_evidence = f.evidence_level;
        }
        if let Some(d) = &profile.delivery {
            facts.route = d.route;
            facts.carrier = d.carrier;
            facts.retention_adjuncts = set_of(&d.retention_adjuncts);
            facts.dose_cells = d.dose_cells.map(CellCount::get);
            facts.n_doses = d.n_doses.map(DoseCount::get);
            facts.injection_volume_ml = d.injection_volume_ml.map(Millilitres::get);
            facts.dose_rationale = d.dose_rationale;
            facts.procedure_safety_measures = set_of(&d.procedure_safety_measures);
            facts.delivery_evidence = d.evidence_level;
        }
        if let Some(n) = &profile.nonclinical {
            facts.animal_models = n.animal_models.as_deref().map(AnimalModels::from_models);
            facts.survival_evidence = n.survival_evidence;
            facts.biodistribution_evidence = n.biodistribution_evidence;
            facts.genetic_stability_tests = set_of(&n.genetic_stability_tests);
            facts.tumorigenicity_study = n.tumorigenicity_study;
            facts.glp_tox_biodistribution = n.glp_tox_biodistribution;
            facts.nonclinical_package_accepted = n.package_accepted_by_regulator;
            facts.nonclinical_evidence = n.evidence_level;
        }
        if let Some(c) = &profile.clinical {
            if let Some(trials) = &c.trials {
                let read = trial_facts(trials);
                facts.completed_phase = read.completed_phase;
                facts.mcid_prespecified = read.mcid_prespecified;
                facts.sample_size_powered = read.sample_size_powered;
                facts.control_arm = read.control_arm;
                facts.blinding = read.blinding;
                facts.efficacy_follow_up_months = read.efficacy_follow_up_months;
                facts.pivotal_result = read.pivotal_result;
                facts.efficacy = read.efficacy;
            }
            facts.proms = set_of(&c.proms);
            facts.structural_endpoints = set_of(&c.structural_endpoints);
            facts.patient_selection = c.patient_selection;
            facts.long_term_follow_up_in_place = c.long_term_follow_up_in_place;
            facts.ltfu_safety_years = c.ltfu_safety_years.map(Years::get);
            facts.immunogenicity_monitoring = set_of(&c.immunogenicity_monitoring);
            facts.pharmacovigilance = c.pharmacovigilance;
            facts.clinical_evidence = c.evidence_level;
        }
        if let Some(r) = &profile.regulatory {
            if let Some(jurisdictions) = &r.jurisdictions {
                let read = regulatory_facts(jurisdictions);
                facts.target_regulators = read.target_regulators;
                facts.regulatory_interactions = read.interactions;
                facts.regulatory_status = read.status;
                facts.designations = read.designations;
                facts.conditional_approval = read.conditional_approval;
                facts.trial_authorisation = read.trial_authorisation;
                facts.marketing_application = read.application;
                facts.approval = read.approval;
                facts.deficiencies = read.deficiencies;
            }
            facts.classification_status = r.classification_status;
            facts.cmc_documentation = r.cmc_documentation;
            facts.market_access_plan = r.market_access_plan;
            facts.regulatory_evidence = r.evidence_level;
        }
        facts
    }
}
