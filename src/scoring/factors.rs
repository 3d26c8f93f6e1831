//! The seven barriers and the factor catalogue (research §9.3): which inputs each factor reads and
//! which level of its scale the program reaches. What each level is worth is model data.

use super::engine::FactorResult;
use super::facts::{Facts, Field, mask};
use super::input_types::{Scale, Set, categorical, scale};
use super::jurisdictions::DeficiencyReason;
use super::model::{CompiledProfile, Model};
use super::profile::*;
use super::trials::EfficacyEvidence;

categorical! {
    /// A translational barrier. Every listing uses this order: the five the disc seed names first.
    pub enum Barrier {
        /// Cell survival after administration in the target microenvironment.
        Survival => "survival",
        /// Retention, engraftment and homing at the target.
        Retention => "retention",
        /// Variability of source and manufacturing, potency and quality control.
        Variability => "variability",
        /// Manufacturing scale, cost and logistics.
        Scalability => "scalability",
        /// Safety, including immunogenicity.
        Safety => "safety",
        /// Outcome-measure standardisation and trial design.
        Outcomes => "outcomes",
        /// Regulatory readiness.
        Regulatory => "regulatory",
    }
}

impl Barrier {
    /// Position in [`Barrier::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The barrier's factors: [`FactorCode::ALL`] lists them barrier by barrier.
    pub(crate) fn factors(self) -> &'static [FactorCode] {
        let all = FactorCode::ALL;
        match self {
            Self::Survival => &all[0..5],
            Self::Retention => &all[5..9],
            Self::Variability => &all[9..16],
            Self::Scalability => &all[16..21],
            Self::Safety => &all[21..30],
            Self::Outcomes => &all[30..38],
            Self::Regulatory => &all[38..43],
        }
    }
}

categorical! {
    /// A scored factor, by its research §9.3 code.
    pub enum FactorCode {
        /// Preconditioning.
        Sv1 => "SV1",
        /// Protective carrier.
        Sv2 => "SV2",
        /// Viability at release / post-thaw.
        Sv3 => "SV3",
        /// Donor age (senescence).
        Sv4 => "SV4",
        /// Survival evidence in target-like conditions.
        Sv5 => "SV5",
        /// Route-indication fit.
        Rt1 => "RT1",
        /// Retention enhancement.
        Rt2 => "RT2",
        /// Dose rationale.
        Rt3 => "RT3",
        /// Biodistribution / retention evidence.
        Rt4 => "RT4",
        /// Donor strategy.
        Va1 => "VA1",
        /// Tissue source - mechanism fit.
        Va2 => "VA2",
        /// Culture media.
        Va3 => "VA3",
        /// Potency assay.
        Va4 => "VA4",
        /// Release-specification completeness.
        Va5 => "VA5",
        /// Comparability across process changes.
        Va6 => "VA6",
        /// Lot-to-lot consistency.
        Va7 => "VA7",
        /// Culture format versus required scale.
        Mf1 => "MF1",
        /// Cost per dose.
        Mf2 => "MF2",
        /// Storage and shelf life.
        Mf3 => "MF3",
        /// GMP status.
        Mf4 => "MF4",
        /// Automation and in-process analytics.
        Mf5 => "MF5",
        /// Genetic stability testing.
        Sf1 => "SF1",
        /// Tumorigenicity study.
        Sf2 => "SF2",
        /// Expansion extent.
        Sf3 => "SF3",
        /// Route-related safety.
        Sf4 => "SF4",
        /// Immunogenicity plan.
        Sf5 => "SF5",
        /// Genetic-modification risk.
        Sf6 => "SF6",
        /// Long-term safety follow-up.
        Sf7 => "SF7",
        /// Donor eligibility.
        Sf8 => "SF8",
        /// Hemocompatibility.
        Sf9 => "SF9",
        /// Validated outcome measures.
        Om1 => "OM1",
        /// Structural or mechanistic endpoint.
        Om2 => "OM2",
        /// Control arm.
        Om3 => "OM3",
        /// Blinding.
        Om4 => "OM4",
        /// Prespecified MCID and powered sample size.
        Om5 => "OM5",
        /// Patient selection.
        Om6 => "OM6",
        /// Efficacy durability follow-up.
        Om7 => "OM7",
        /// Strength of the efficacy evidence.
        Om8 => "OM8",
        /// Classification and pathway.
        Rg1 => "RG1",
        /// Regulator interaction.
        Rg2 => "RG2",
        /// Target-region requirements.
        Rg4 => "RG4",
        /// CMC documentation.
        Rg5 => "RG5",
        /// Nonclinical package.
        Rg6 => "RG6",
    }
}

/// Number of factors.
pub(crate) const FACTOR_COUNT: usize = FactorCode::ALL.len();

/// When a factor is critical, i.e. counts as worst case while unknown (research §9.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Criticality {
    /// Never critical.
    Never,
    /// Always critical.
    Always,
    /// Critical when the target microenvironment is severely hostile.
    WhenHostilitySevere,
    /// Critical when the microenvironment is severely hostile and the route is not systemic.
    WhenHostilitySevereAndRouteLocal,
}

/// How a factor's value is read from its grade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScaleKind {
    /// Named levels with values in the model data.
    Levels(&'static [&'static str]),
    /// Levels are routes; values come from the indication profile's route-fit table.
    RouteFit,
    /// The share of checklist items met.
    Checklist(&'static [&'static str]),
}

/// Where a factor's main input lives; that section's evidence level sets the factor's confidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    CellSource,
    Manufacturing,
    Quality,
    Formulation,
    Delivery,
    Nonclinical,
    Clinical,
    Regulatory,
}

impl Section {
    /// The evidence level the client gave for this section.
    pub fn evidence_level(self, facts: &Facts) -> Option<EvidenceLevel> {
        match self {
            Self::CellSource => facts.cell_source_evidence,
            Self::Manufacturing => facts.manufacturing_evidence,
            Self::Quality => facts.quality_evidence,
            Self::Formulation => facts.formulation_evidence,
            Self::Delivery => facts.delivery_evidence,
            Self::Nonclinical => facts.nonclinical_evidence,
            Self::Clinical => facts.clinical_evidence,
            Self::Regulatory => facts.regulatory_evidence,
        }
    }
}

scale!(
    /// SV1.
    PreconditioningLevel {
        None => "none",
        Mechanical => "mechanical",
        Pharmacological => "pharmacological",
        CytokinePriming => "cytokine_priming",
        CytokinePrimingMoaMatched => "cytokine_priming_moa_matched",
        Spheroid3d => "spheroid_3d",
        ProSurvivalEngineering => "pro_survival_engineering",
        Hypoxia => "hypoxia",
        HypoxiaCombined => "hypoxia_combined",
        HypoxiaTargetMatched => "hypoxia_target_matched",
    }
);
scale!(
    /// SV2.
    CarrierLevel {
        None => "none",
        Hydrogel => "hydrogel",
        Encapsulation => "encapsulation",
        Scaffold => "scaffold",
        PrecedentCarrier => "precedent_carrier",
    }
);
scale!(
    /// SV3.
    ViabilityLevel {
        Below70 => "below_70_pct",
        From70To79 => "70_to_79_pct",
        From80To89 => "80_to_89_pct",
        AtLeast90 => "90_pct_or_more",
    }
);
scale!(
    /// SV4.
    SenescenceLevel {
        Old => "donor_over_60",
        Middle => "donor_41_to_60",
        Young => "donor_40_or_younger",
    }
);
scale!(
    /// RT2.
    RetentionLevel {
        None => "none",
        HomingPriming => "homing_priming",
        MagneticTargeting => "magnetic_targeting",
        HomingEngineering => "homing_engineering",
        RetentionCatheter => "retention_catheter",
        Carrier => "carrier",
        CarrierWithLeakageControl => "carrier_with_leakage_control",
    }
);
scale!(
    /// VA1.
    DonorStrategyLevel {
        Autologous => "autologous",
        AllogeneicWithoutBank => "allogeneic_without_gmp_bank",
        AllogeneicPooled => "allogeneic_pooled",
        AllogeneicBanked => "allogeneic_gmp_banked",
    }
);
scale!(
    /// VA2.
    SourceFitLevel {
        Neutral => "neutral",
        Fit => "fit",
    }
);
scale!(
    /// VA4.
    PotencyLevel {
        None => "none",
        IdentityOnly => "identity_only",
        FunctionalNotMoaLinked => "functional_not_moa_linked",
        MoaLinkedExploratory => "moa_linked_exploratory",
        MoaLinkedQualified => "moa_linked_qualified",
        MoaLinkedLotRelease => "moa_linked_validated_lot_release",
        MoaLinkedClinicallyAnchored => "moa_linked_lot_release_clinically_anchored",
    }
);
scale!(
    /// VA6.
    ComparabilityLevel {
        NotShown => "changed_comparability_not_shown",
        Pending => "changed_comparability_pending",
        Shown => "changed_comparability_shown",
        Unchanged => "unchanged_since_clinical_lots",
    }
);
scale!(
    /// VA7.
    LotConsistencyLevel {
        NoLots => "no_lots",
        OneOrTwoLots => "one_or_two_lots",
        ThreeOrMoreLots => "three_or_more_lots",
        ThreeOrMoreWithinLimit => "three_or_more_lots_potency_cv_within_limit",
    }
);
scale!(
    /// MF1.
    ScaleFitLevel {
        FlaskBelowNeed => "2d_flask_below_need",
        FlaskMeetsNeed => "2d_flask_meets_need",
        Multilayer => "multilayer",
        Microcarrier => "microcarrier_bioreactor",
        ClosedHighDensity => "closed_high_density",
    }
);
scale!(
    /// MF2.
    CostLevel {
        Over50k => "over_50k_usd",
        From20kTo50k => "20k_to_50k_usd",
        From5kTo20k => "5k_to_20k_usd",
        Under5k => "under_5k_usd",
    }
);
scale!(
    /// MF3.
    StorageLevel {
        Fresh => "fresh",
        Lyophilized => "lyophilized",
        CryopreservedWithoutStability => "cryopreserved_without_stability_data",
        CryopreservedWithStability => "cryopreserved_with_stability_data",
    }
);
scale!(
    /// SF1.
    GeneticStabilityLevel {
        None => "none",
        Karyotype => "karyotype",
        MolecularOnly => "cgh_or_ngs_only",
        KaryotypeAndMolecular => "karyotype_and_cgh_or_ngs",
    }
);
scale!(
    /// SF3.
    ExpansionLevel {
        OverTen => "passage_over_10",
        SixToTen => "passage_6_to_10",
        FiveOrLess => "passage_5_or_less",
    }
);
scale!(
    /// SF4.
    RouteSafetyLevel {
        SystemicInfusion => "systemic_infusion",
        CardiacProcedure => "cardiac_procedure",
        CnsParenchymal => "cns_parenchymal",
        Intradiscal => "intradiscal",
        IntradiscalWithPrecautions => "intradiscal_with_precautions",
        LocalInjection => "local_injection",
    }
);
scale!(
    /// SF5.
    ImmunogenicityLevel {
        RepeatUnmonitoredPrimed => "allogeneic_repeat_unmonitored_ifn_primed",
        RepeatUnmonitored => "allogeneic_repeat_unmonitored",
        RepeatMonitoredPrimed => "allogeneic_repeat_monitored_ifn_primed",
        SingleDose => "allogeneic_single_dose",
        RepeatMonitored => "allogeneic_repeat_monitored",
        HlaMatched => "allogeneic_hla_matched",
        Autologous => "autologous",
    }
);
scale!(
    /// SF6.
    ModificationRiskLevel {
        IntegratingVector => "integrating_vector",
        CrisprWithoutOffTarget => "crispr_without_off_target_analysis",
        CrisprWithOffTarget => "crispr_with_off_target_analysis",
        IntegratingWithSafeguards => "integrating_vector_with_safeguards",
        MrnaTransient => "mrna_transient",
    }
);
scale!(
    /// SF7.
    FollowUpYearsLevel {
        None => "none",
        UnderOneYear => "under_1_year",
        OneToTwoYears => "1_to_2_years",
        TwoToFiveYears => "2_to_5_years",
        FiveYearsOrMore => "5_years_or_more",
    }
);
scale!(
    /// OM1.
    PromLevel {
        None => "none",
        NonValidatedOnly => "non_validated_only",
        SomeValidated => "some_validated",
        IndicationStandardSet => "indication_standard_set",
    }
);
scale!(
    /// OM2.
    StructuralLevel {
        None => "none",
        QualitativeOrBiomarkerOnly => "qualitative_imaging_or_biomarker_only",
        Quantitative => "quantitative_imaging",
        QuantitativeWithBiomarker => "quantitative_imaging_and_mechanistic_biomarker",
    }
);
scale!(
    /// OM3.
    ControlLevel {
        NoneSingleArm => "none_single_arm",
        HistoricalExternal => "historical_external",
        HistoricalExternalOrphanLethal => "historical_external_orphan_lethal",
        StandardOfCare => "standard_of_care",
        ActiveComparator => "active_comparator",
        PlaceboOrSham => "placebo_or_sham",
    }
);
scale!(
    /// OM4.
    BlindingLevel {
        OpenLabel => "open_label",
        AssessorBlinded => "assessor_blinded",
        DoubleBlindOrMore => "double_blind_or_more",
    }
);
scale!(
    /// OM5.
    PrespecificationLevel {
        Neither => "neither",
        One => "one_of_mcid_and_power",
        Both => "mcid_and_power",
    }
);
scale!(
    /// OM7.
    DurabilityLevel {
        UnderSixMonths => "under_6_months",
        SixToElevenMonths => "6_to_11_months",
        TwelveToTwentyThreeMonths => "12_to_23_months",
        TwentyFourMonthsOrMore => "24_months_or_more",
    }
);
scale!(
    /// RG2.
    InteractionLevel {
        None => "none",
        EarlyAdvice => "early_advice",
        PreIndOrFormalAdvice => "pre_ind_or_formal_advice",
        IndCtaOpen => "ind_cta_open",
        PivotalDesignAgreed => "pivotal_design_agreed",
    }
);
scale!(
    /// RG6.
    NonclinicalLevel {
        None => "none",
        ProofOfConceptOnly => "proof_of_concept_only",
        RelevantModel => "relevant_model_clinical_route",
        RelevantWithGlp => "relevant_model_and_glp",
        RelevantGlpLargeOrAged => "relevant_model_glp_and_large_or_aged",
    }
);

/// VA5 checklist items, in order.
pub(crate) const RELEASE_ITEMS: &[&str] = &[
    "viability_at_least_70_pct",
    "sterility",
    "endotoxin",
    "mycoplasma",
    "identity",
    "karyotype",
    "potency",
];

impl FactorCode {
    /// Position in [`FactorCode::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The barrier the factor belongs to.
    pub fn barrier(self) -> Barrier {
        use FactorCode::*;
        match self {
            Sv1 | Sv2 | Sv3 | Sv4 | Sv5 => Barrier::Survival,
            Rt1 | Rt2 | Rt3 | Rt4 => Barrier::Retention,
            Va1 | Va2 | Va3 | Va4 | Va5 | Va6 | Va7 => Barrier::Variability,
            Mf1 | Mf2 | Mf3 | Mf4 | Mf5 => Barrier::Scalability,
            Sf1 | Sf2 | Sf3 | Sf4 | Sf5 | Sf6 | Sf7 | Sf8 | Sf9 => Barrier::Safety,
            Om1 | Om2 | Om3 | Om4 | Om5 | Om6 | Om7 | Om8 => Barrier::Outcomes,
            Rg1 | Rg2 | Rg4 | Rg5 | Rg6 => Barrier::Regulatory,
        }
    }

    /// How the factor's value is read.
    pub(crate) fn scale(self) -> ScaleKind {
        use FactorCode::*;
        use ScaleKind::{Checklist, Levels, RouteFit};
        match self {
            Sv1 => Levels(PreconditioningLevel::KEYS),
            Sv2 => Levels(CarrierLevel::KEYS),
            Sv3 => Levels(ViabilityLevel::KEYS),
            Sv4 => Levels(SenescenceLevel::KEYS),
            Sv5 => Levels(SurvivalEvidence::KEYS),
            Rt1 => RouteFit,
            Rt2 => Levels(RetentionLevel::KEYS),
            Rt3 => Levels(DoseRationale::KEYS),
            Rt4 => Levels(BiodistributionEvidence::KEYS),
            Va1 => Levels(DonorStrategyLevel::KEYS),
            Va2 => Levels(SourceFitLevel::KEYS),
            Va3 => Levels(CultureMedia::KEYS),
            Va4 => Levels(PotencyLevel::KEYS),
            Va5 => Checklist(RELEASE_ITEMS),
            Va6 => Levels(ComparabilityLevel::KEYS),
            Va7 => Levels(LotConsistencyLevel::KEYS),
            Mf1 => Levels(ScaleFitLevel::KEYS),
            Mf2 => Levels(CostLevel::KEYS),
            Mf3 => Levels(StorageLevel::KEYS),
            Mf4 => Levels(GmpStatus::KEYS),
            Mf5 => Levels(AutomationLevel::KEYS),
            Sf1 => Levels(GeneticStabilityLevel::KEYS),
            Sf2 => Levels(TumorigenicityStudy::KEYS),
            Sf3 => Levels(ExpansionLevel::KEYS),
            Sf4 => Levels(RouteSafetyLevel::KEYS),
            Sf5 => Levels(ImmunogenicityLevel::KEYS),
            Sf6 => Levels(ModificationRiskLevel::KEYS),
            Sf7 => Levels(FollowUpYearsLevel::KEYS),
            Sf8 => Levels(DonorEligibility::KEYS),
            Sf9 => Levels(Hemocompatibility::KEYS),
            Om1 => Levels(PromLevel::KEYS),
            Om2 => Levels(StructuralLevel::KEYS),
            Om3 => Levels(ControlLevel::KEYS),
            Om4 => Levels(BlindingLevel::KEYS),
            Om5 => Levels(PrespecificationLevel::KEYS),
            Om6 => Levels(PatientSelection::KEYS),
            Om7 => Levels(DurabilityLevel::KEYS),
            Om8 => Levels(EfficacyEvidence::KEYS),
            Rg1 => Levels(ClassificationStatus::KEYS),
            Rg2 => Levels(InteractionLevel::KEYS),
            // The checklist items come from the targeted regions' checklists in the model data.
            Rg4 => Checklist(&[]),
            Rg5 => Levels(CmcDocumentation::KEYS),
            Rg6 => Levels(NonclinicalLevel::KEYS),
        }
    }

    /// The facts the factor reads, besides the context (indication, Pfirrmann grade,
    /// mechanisms) and, for RG4, other factors. Re-scoring after a change re-reads a factor
    /// only when these change; the incremental re-scoring property test checks the table.
    pub(crate) const fn reads(self) -> u128 {
        use FactorCode::*;
        use Field::*;
        match self {
            Sv1 => mask(&[preconditioning, culture_oxygen, modification_kind, gene_targets]),
            Sv2 => mask(&[route, carrier]),
            Sv3 => mask(&[post_thaw_viability_pct, presentation, viability_at_release_pct]),
            Sv4 => mask(&[donor_age_years]),
            Sv5 => mask(&[survival_evidence]),
            Rt1 => mask(&[route]),
            Rt2 => {
                mask(&[route, carrier, retention_adjuncts, preconditioning, modification_kind, gene_targets])
            }
            Rt3 => mask(&[dose_rationale]),
            Rt4 => mask(&[biodistribution_evidence]),
            Va1 => mask(&[donor_type, cell_bank]),
            Va2 => mask(&[tissue_source]),
            Va3 => mask(&[culture_media]),
            Va4 => mask(&[
                potency,
                isct_identity_testing,
                deficiencies,
                approval,
                marketing_application,
                trial_authorisation,
                completed_phase,
            ]),
            Va5 => mask(&[
                release_viability_min_pct,
                release_sterility,
                release_endotoxin,
                release_mycoplasma,
                release_identity,
                release_karyotype,
                release_potency,
            ]),
            Va6 => mask(&[process_changes]),
            Va7 => mask(&[lots_characterised, potency_cv_within_limit]),
            Mf1 => mask(&[culture_format, cells_per_lot, dose_cells, doses_per_lot]),
            Mf2 => mask(&[cogs_per_dose_usd, media_liters_per_dose, presentation]),
            Mf3 => mask(&[presentation, stability_data]),
            Mf4 => mask(&[gmp_status]),
            Mf5 => mask(&[automation]),
            Sf1 => mask(&[genetic_stability_tests, approval, marketing_application]),
            Sf2 => mask(&[tumorigenicity_study]),
            Sf3 => mask(&[passage]),
            Sf4 => mask(&[route, procedure_safety_measures]),
            Sf5 => mask(&[donor_type, hla_matching, n_doses, immunogenicity_monitoring, preconditioning]),
            Sf6 => mask(&[
                modification_kind,
                product_class,
                off_target_analysis,
                safety_switch,
                integration_site_analysis,
            ]),
            Sf7 => mask(&[ltfu_safety_years]),
            Sf8 => mask(&[donor_type, donor_eligibility, approval, marketing_application, deficiencies]),
            Sf9 => mask(&[route, hemocompatibility]),
            Om1 => mask(&[proms]),
            Om2 => mask(&[structural_endpoints]),
            Om3 => mask(&[control_arm]),
            Om4 => mask(&[blinding]),
            Om5 => mask(&[mcid_prespecified, sample_size_powered]),
            Om6 => mask(&[patient_selection]),
            Om7 => mask(&[efficacy_follow_up_months]),
            Om8 => mask(&[efficacy, stage]),
            Rg1 => mask(&[classification_status]),
            Rg2 => mask(&[regulatory_interactions, regulatory_status]),
            Rg4 => mask(&[target_regulators, completed_phase]),
            Rg5 => mask(&[cmc_documentation]),
            Rg6 => mask(&[animal_models, glp_tox_biodistribution]),
        }
    }

    /// The section whose evidence level sets this factor's confidence.
    pub(crate) fn section(self) -> Section {
        use FactorCode::*;
        match self {
            Sv1 | Va3 | Va6 | Va7 | Mf1 | Mf2 | Mf4 | Mf5 | Sf3 | Sf6 => Section::Manufacturing,
            Sv2 | Rt1 | Rt2 | Rt3 | Sf4 => Section::Delivery,
            Sv3 | Va4 | Va5 | Sf9 => Section::Quality,
            Sv4 | Va1 | Va2 | Sf5 | Sf8 => Section::CellSource,
            Sv5 | Rt4 | Sf1 | Sf2 | Rg6 => Section::Nonclinical,
            Mf3 => Section::Formulation,
            Sf7 | Om1 | Om2 | Om3 | Om4 | Om5 | Om6 | Om7 | Om8 => Section::Clinical,
            Rg1 | Rg2 | Rg4 | Rg5 => Section::Regulatory,
        }
    }

    /// The input fields the factor reads, as profile paths.
    pub fn inputs(self) -> &'static [&'static str] {
        use FactorCode::*;
        match self {
            Sv1 => &[
                "manufacturing.preconditioning",
                "manufacturing.culture_oxygen",
                "manufacturing.genetic_modification.targets",
                "program.intended_mechanism",
            ],
            Sv2 => &["delivery.carrier", "delivery.route"],
            Sv3 => &[
                "quality.post_thaw_viability_pct",
                "quality.viability_at_release_pct",
                "formulation.presentation",
            ],
            Sv4 => &["cell_source.donor_age_years"],
            Sv5 => &["nonclinical.survival_evidence"],
            Rt1 => &["delivery.route", "program.indication"],
            Rt2 => &[
                "delivery.carrier",
                "delivery.retention_adjuncts",
                "manufacturing.preconditioning",
                "manufacturing.genetic_modification.targets",
            ],
            Rt3 => &["delivery.dose_rationale"],
            Rt4 => &["nonclinical.biodistribution_evidence"],
            Va1 => &["cell_source.donor_type", "cell_source.cell_bank"],
            Va2 => &["cell_source.tissue_source", "program.intended_mechanism"],
            Va3 => &["manufacturing.culture_media"],
            Va4 => &["quality.potency_assays", "quality.isct_identity_testing"],
            Va5 => &["quality.release_criteria"],
            Va6 => &["manufacturing.process_changes"],
            Va7 => &["manufacturing.lot_consistency"],
            Mf1 => &[
                "manufacturing.culture_format",
                "manufacturing.cells_per_lot",
                "manufacturing.doses_per_lot",
                "delivery.dose_cells",
            ],
            Mf2 => &[
                "manufacturing.estimated_cogs_per_dose_usd",
                "manufacturing.media_liters_per_dose",
                "formulation.presentation",
            ],
            Mf3 => &["formulation.presentation", "formulation.stability_data"],
            Mf4 => &["manufacturing.gmp_status"],
            Mf5 => &["manufacturing.automation_level"],
            Sf1 => &["nonclinical.genetic_stability_tests"],
            Sf2 => &["nonclinical.tumorigenicity_study"],
            Sf3 => &["manufacturing.passage_at_release"],
            Sf4 => &["delivery.route", "delivery.procedure_safety_measures"],
            Sf5 => &[
                "cell_source.donor_type",
                "cell_source.hla_matching",
                "delivery.n_doses",
                "clinical.immunogenicity_monitoring",
                "manufacturing.preconditioning",
            ],
            Sf6 => &["manufacturing.genetic_modification", "program.product_class"],
            Sf7 => &["clinical.ltfu_safety_years"],
            Sf8 => &["cell_source.donor_eligibility", "cell_source.donor_type"],
            Sf9 => &["quality.hemocompatibility", "delivery.route"],
            Om1 => &["clinical.proms"],
            Om2 => &["clinical.structural_endpoints"],
            Om3 => &["clinical.control_arm"],
            Om4 => &["clinical.blinding"],
            Om5 => &["clinical.mcid_prespecified", "clinical.sample_size_powered"],
            Om6 => &["clinical.patient_selection"],
            Om7 => &["clinical.efficacy_follow_up_months"],
            Om8 => &["clinical.trials"],
            Rg1 => &["regulatory.classification_status"],
            Rg2 => &["regulatory.interactions", "regulatory.status"],
            Rg4 => &["regulatory.target_regulators"],
            Rg5 => &["regulatory.cmc_documentation"],
            Rg6 => &["nonclinical.animal_models", "nonclinical.glp_tox_biodistribution"],
        }
    }
}

/// Which point on a factor's scale: a named level, or a share of checklist items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Grade {
    Level(u8),
    Fraction { met: u8, of: u8 },
}

fn grade<S: Scale>(level: S) -> Grade {
    Grade::Level(level.position())
}

/// What the program's inputs say about a factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reading {
    /// The factor does not apply to this program.
    NotApplicable,
    /// The grade is known.
    Known(Grade),
    /// Not enough is known. `worst` is the lowest grade the known part allows (`None` when
    /// nothing about the factor is known: value 0), `best` the highest (`None`: value 1).
    Unknown { worst: Option<Grade>, best: Option<Grade> },
}

const NOTHING_KNOWN: Reading = Reading::Unknown { worst: None, best: None };

/// Everything about the program that changes how factors read, derived from its facts.
#[derive(Clone, Copy)]
pub(crate) struct Context<'m> {
    pub model: &'m Model,
    pub profile: &'m CompiledProfile,
    /// The target microenvironment is severely hostile (research §9.3 hostility modifier).
    pub severe: bool,
    /// The intended mechanisms, or the indication profile's defaults when unknown.
    pub mechanisms: Set<Mechanism>,
    /// Potency analytes that are markers of those mechanisms.
    pub moa_markers: Set<PotencyAnalyte>,
    /// Tissue sources that fit those mechanisms.
    pub fitting_sources: Set<TissueSource>,
    /// The profile's route fit for the program's phase (RT1), in permille by route.
    pub route_fit: &'m [u16],
}

impl Context<'_> {
    /// Whether the factor is critical for this program.
    pub fn is_critical(&self, factor: FactorCode, facts: &Facts) -> bool {
        match self.model.factor(factor).criticality {
            Criticality::Never => false,
            Criticality::Always => true,
            Criticality::WhenHostilitySevere => self.severe,
            Criticality::WhenHostilitySevereAndRouteLocal => {
                self.severe && !facts.route.is_some_and(Route::is_systemic)
            }
        }
    }

    /// Value of a grade in permille.
    pub fn value(&self, factor: FactorCode, grade: Grade) -> u16 {
        match grade {
            // RT1 is the only route-fit factor (see `FactorCode::scale`).
            Grade::Level(position) if factor == FactorCode::Rt1 => self.route_fit[usize::from(position)],
            Grade::Level(position) => self.model.factor(factor).level_values[usize::from(position)],
            Grade::Fraction { met, of } => {
                let (met, of) = (u32::from(met), u32::from(of).max(1));
                // Round half up to whole permille.
                ((1000 * met + of / 2) / of) as u16
            }
        }
    }

    /// The reading for a set of equally possible grades: known when they are worth the same,
    /// otherwise unknown between the lowest and the highest.
    fn range(&self, factor: FactorCode, grades: impl IntoIterator<Item = Grade>) -> Reading {
        let mut lowest: Option<(u16, Grade)> = None;
        let mut highest: Option<(u16, Grade)> = None;
        for candidate in grades {
            let value = self.value(factor, candidate);
            if lowest.is_none_or(|(low, _)| value < low) {
                lowest = Some((value, candidate));
            }
            if highest.is_none_or(|(high, _)| value > high) {
                highest = Some((value, candidate));
            }
        }
        match (lowest, highest) {
            (Some((low, worst)), Some((high, best))) if low < high => {
                Reading::Unknown { worst: Some(worst), best: Some(best) }
            }
            (Some((_, worst)), _) => Reading::Known(worst),
            _ => NOTHING_KNOWN,
        }
    }

    /// The most valuable of the grades the program reaches.
    fn best(&self, factor: FactorCode, grades: impl IntoIterator<Item = Grade>) -> Option<Grade> {
        grades
            .into_iter()
            .fold(None, |best: Option<(u16, Grade)>, candidate| {
                let value = self.value(factor, candidate);
                match best {
                    Some((high, _)) if high >= value => best,
                    _ => Some((value, candidate)),
                }
            })
            .map(|(_, grade)| grade)
    }
}

/// Both values a boolean can take when it is unknown, else the known one.
fn possible(value: Option<bool>) -> &'static [bool] {
    match value {
        Some(true) => &[true],
        Some(false) => &[false],
        None => &[false, true],
    }
}

fn direct<S: Scale>(value: Option<S>) -> Reading {
    value.map_or(NOTHING_KNOWN, |level| Reading::Known(grade(level)))
}

/// Reads one factor; `prior` holds the results of the factors listed before it.
pub(crate) fn evaluate(factor: FactorCode, facts: &Facts, ctx: &Context, prior: &[FactorResult]) -> Reading {
    let reading = evaluate_inputs(factor, facts, ctx, prior);
    let Some(floor) = implied_floor(factor, facts) else {
        return reading;
    };
    let value = |grade: Grade| ctx.value(factor, grade);
    let raise = |grade: Grade| if value(grade) < value(floor) { floor } else { grade };
    match reading {
        Reading::Known(grade) => Reading::Known(raise(grade)),
        Reading::Unknown { worst, best } => {
            Reading::Unknown { worst: Some(worst.map_or(floor, raise)), best: best.map(raise) }
        }
        Reading::NotApplicable => Reading::NotApplicable,
    }
}

/// The least level a regulatory milestone guarantees for a factor, whatever the profile says:
/// a regulator does not authorise a trial, accept an application for review or approve a
/// product without what the milestone requires (the same milestones credit the readiness gates).
/// - VA4: a marketing application or approval needs a potency test for lot release (21 CFR
///   610.10; EU Directive 2001/83/EC Annex I Part IV for ATMPs), so at least a functional assay,
///   unless a complete response cited potency; a trial authorisation needs identity testing of
///   the clinical lots (ISCT identity, EXT-ISCT-2006).
/// - SF1: an application or approval of a culture-expanded cell product addresses genetic
///   stability, at least by karyotype (SF-03).
/// - SF8: an application or approval of an allogeneic product rests on donors screened and tested
///   for relevant communicable disease agents (21 CFR 1271 subpart C; EU Directive 2006/17/EC).
pub(crate) fn implied_floor(factor: FactorCode, facts: &Facts) -> Option<Grade> {
    let dossier = facts.approval.is_some() || facts.standing_application().is_some();
    let trial = facts.trial_authorised().is_some();
    let potency_cited =
        facts.deficiencies.is_some_and(|reasons| reasons.contains(DeficiencyReason::CmcPotency));
    match factor {
        FactorCode::Va4 if dossier && !potency_cited => Some(grade(PotencyLevel::FunctionalNotMoaLinked)),
        FactorCode::Va4 if dossier || trial => Some(grade(PotencyLevel::IdentityOnly)),
        FactorCode::Sf1 if dossier => Some(grade(GeneticStabilityLevel::Karyotype)),
        FactorCode::Sf8 if dossier => Some(grade(DonorEligibility::ScreenedAndTested)),
        _ => None,
    }
}

/// Reads one factor from the program's own inputs.
fn evaluate_inputs(factor: FactorCode, facts: &Facts, ctx: &Context, prior: &[FactorResult]) -> Reading {
    use FactorCode::*;
    match factor {
        Sv1 => preconditioning(facts, ctx),
        Sv2 => protective_carrier(facts, ctx),
        Sv3 => viability(facts),
        Sv4 => donor_age(facts),
        Sv5 => direct(facts.survival_evidence),
        Rt1 => match (facts.route, facts.indication) {
            (Some(route), Some(_)) => Reading::Known(grade(route)),
            _ => NOTHING_KNOWN,
        },
        Rt2 => retention_enhancement(facts, ctx),
        Rt3 => direct(facts.dose_rationale),
        Rt4 => direct(facts.biodistribution_evidence),
        Va1 => donor_strategy(facts, ctx),
        Va2 => match facts.tissue_source {
            Some(source) if ctx.fitting_sources.contains(source) => {
                Reading::Known(grade(SourceFitLevel::Fit))
            }
            Some(_) => Reading::Known(grade(SourceFitLevel::Neutral)),
            None => NOTHING_KNOWN,
        },
        Va3 => direct(facts.culture_media),
        Va4 => potency_assay(facts, ctx),
        Va5 => release_specification(facts),
        Va6 => comparability(facts),
        Va7 => lot_consistency(facts, ctx),
        Mf1 => format_versus_scale(facts, ctx),
        Mf2 => cost_per_dose(facts, ctx),
        Mf3 => storage(facts, ctx),
        Mf4 => direct(facts.gmp_status),
        Mf5 => direct(facts.automation),
        Sf1 => facts.genetic_stability_tests.map_or(NOTHING_KNOWN, |tests| {
            let karyotype = tests.contains(GeneticStabilityTest::Karyotype);
            let molecular = tests.contains_any(&[GeneticStabilityTest::CghArray, GeneticStabilityTest::Ngs]);
            Reading::Known(grade(match (karyotype, molecular) {
                (true, true) => GeneticStabilityLevel::KaryotypeAndMolecular,
                (false, true) => GeneticStabilityLevel::MolecularOnly,
                (true, false) => GeneticStabilityLevel::Karyotype,
                (false, false) => GeneticStabilityLevel::None,
            }))
        }),
        Sf2 => direct(facts.tumorigenicity_study),
        Sf3 => direct(facts.passage.map(|passage| match passage {
            0..=5 => ExpansionLevel::FiveOrLess,
            6..=10 => ExpansionLevel::SixToTen,
            _ => ExpansionLevel::OverTen,
        })),
        Sf4 => route_safety(facts, ctx),
        Sf5 => immunogenicity(facts, ctx),
        Sf6 => modification_risk(facts, ctx),
        Sf7 => direct(facts.ltfu_safety_years.map(|years| {
            if years <= 0.0 {
                FollowUpYearsLevel::None
            } else if years < 1.0 {
                FollowUpYearsLevel::UnderOneYear
            } else if years < 2.0 {
                FollowUpYearsLevel::OneToTwoYears
            } else if years < 5.0 {
                FollowUpYearsLevel::TwoToFiveYears
            } else {
                FollowUpYearsLevel::FiveYearsOrMore
            }
        })),
        Sf8 => donor_eligibility(facts),
        Sf9 => hemocompatibility(facts),
        Om1 => outcome_measures(facts, ctx),
        Om2 => structural_endpoint(facts, ctx),
        // In a lethal orphan setting a single-arm trial is read against the natural history, as an
        // external control is (the level-7 and level-8 gates read it alike).
        Om3 => direct(facts.control_arm.map(|arm| match arm {
            ControlArm::NoneSingleArm | ControlArm::HistoricalExternal if ctx.profile.orphan_lethal => {
                ControlLevel::HistoricalExternalOrphanLethal
            }
            ControlArm::NoneSingleArm => ControlLevel::NoneSingleArm,
            ControlArm::HistoricalExternal => ControlLevel::HistoricalExternal,
            ControlArm::StandardOfCare => ControlLevel::StandardOfCare,
            ControlArm::ActiveComparator => ControlLevel::ActiveComparator,
            ControlArm::PlaceboOrSham => ControlLevel::PlaceboOrSham,
        })),
        Om4 => direct(facts.blinding.map(|blinding| match blinding {
            Blinding::OpenLabel => BlindingLevel::OpenLabel,
            Blinding::AssessorBlinded => BlindingLevel::AssessorBlinded,
            Blinding::DoubleBlind | Blinding::Quadruple => BlindingLevel::DoubleBlindOrMore,
        })),
        Om5 if facts.mcid_prespecified.is_none() && facts.sample_size_powered.is_none() => NOTHING_KNOWN,
        Om5 => ctx.range(
            factor,
            possible(facts.mcid_prespecified).iter().flat_map(|&mcid| {
                possible(facts.sample_size_powered).iter().map(move |&powered| {
                    grade(match (mcid, powered) {
                        (true, true) => PrespecificationLevel::Both,
                        (false, false) => PrespecificationLevel::Neither,
                        _ => PrespecificationLevel::One,
                    })
                })
            }),
        ),
        Om6 => direct(facts.patient_selection),
        // Durability is asked of local, chronic targets (disc, joint, heart); in acute or systemic
        // indications the primary endpoint's own time frame is the standard (day-28 response in
        // acute GVHD), as the level-8 durability gate already reads.
        Om7 if !ctx.profile.local_target => Reading::NotApplicable,
        Om7 => direct(facts.efficacy_follow_up_months.map(|months| {
            if months < 6.0 {
                DurabilityLevel::UnderSixMonths
            } else if months < 12.0 {
                DurabilityLevel::SixToElevenMonths
            } else if months < 24.0 {
                DurabilityLevel::TwelveToTwentyThreeMonths
            } else {
                DurabilityLevel::TwentyFourMonthsOrMore
            }
        })),
        Om8 => efficacy_evidence(facts, ctx),
        Rg1 => direct(facts.classification_status),
        Rg2 => regulator_interaction(facts, ctx),
        Rg4 => region_requirements(facts, ctx, prior, |_| {}),
        Rg5 => direct(facts.cmc_documentation),
        Rg6 => nonclinical_package(facts, ctx),
    }
}

fn preconditioning(facts: &Facts, ctx: &Context) -> Reading {
    use PreconditioningLevel as L;
    let hypoxic_culture = facts.culture_oxygen == Some(CultureOxygen::Physioxic25pct);
    let engineered_for_survival = facts.modification_kind.is_some_and(|kind| kind != ModificationKind::None)
        && facts.gene_targets.is_some_and(|targets| targets.contains(GeneTarget::ProSurvival));
    let hypoxia_level = |combined: bool| {
        if ctx.profile.target_tissue_hypoxic {
            L::HypoxiaTargetMatched
        } else if combined {
            L::HypoxiaCombined
        } else {
            L::Hypoxia
        }
    };
    let Some(steps) = facts.preconditioning else {
        // Only what is known to be done bounds the level from below.
        let known_positives =
            [(hypoxic_culture, hypoxia_level(false)), (engineered_for_survival, L::ProSurvivalEngineering)];
        let worst = ctx.best(
            FactorCode::Sv1,
            known_positives.iter().filter(|(done, _)| *done).map(|(_, level)| grade(*level)),
        );
        if worst == Some(grade(L::HypoxiaTargetMatched)) {
            return Reading::Known(grade(L::HypoxiaTargetMatched));
        }
        let partly_known = facts.culture_oxygen.is_some() || worst.is_some();
        return Reading::Unknown { worst: worst.or(partly_known.then_some(grade(L::None))), best: None };
    };
    let hypoxic = steps.contains(Preconditioning::Hypoxia) || hypoxic_culture;
    let others = steps.len() - u32::from(steps.contains(Preconditioning::Hypoxia));
    let cytokine = if ctx.mechanisms.contains(Mechanism::Immunomodulation) {
        L::CytokinePrimingMoaMatched
    } else {
        L::CytokinePriming
    };
    let candidates = [
        (true, L::None),
        (hypoxic, hypoxia_level(others > 0 || engineered_for_survival)),
        (steps.contains(Preconditioning::Mechanical), L::Mechanical),
        (steps.contains(Preconditioning::Pharmacological), L::Pharmacological),
        (
            steps.contains_any(&[
                Preconditioning::IfnGamma,
                Preconditioning::TnfAlpha,
                Preconditioning::IfnGammaPlusTnfAlpha,
            ]),
            cytokine,
        ),
        (steps.contains(Preconditioning::Spheroid3d), L::Spheroid3d),
        (engineered_for_survival, L::ProSurvivalEngineering),
    ];
    let reached = candidates.iter().filter(|(done, _)| *done).map(|(_, level)| grade(*level));
    ctx.best(FactorCode::Sv1, reached).map_or(NOTHING_KNOWN, Reading::Known)
}

fn protective_carrier(facts: &Facts, ctx: &Context) -> Reading {
    if facts.route.is_some_and(Route::is_systemic) {
        return Reading::NotApplicable;
    }
    direct(facts.carrier.map(|carrier| match carrier {
        Carrier::NoneSaline => CarrierLevel::None,
        _ if ctx.profile.carrier_precedent == Some(carrier) => CarrierLevel::PrecedentCarrier,
        Carrier::AlginateEncapsulation => CarrierLevel::Encapsulation,
        Carrier::Printed3dScaffold | Carrier::ElectrospunScaffold => CarrierLevel::Scaffold,
        Carrier::HyaluronicAcid
        | Carrier::Collagen
        | Carrier::Fibrin
        | Carrier::ChitosanThermoresponsive
        | Carrier::DecellularizedEcm
        | Carrier::OtherHydrogel => CarrierLevel::Hydrogel,
    }))
}

fn viability(facts: &Facts) -> Reading {
    let frozen = facts.presentation.is_some_and(|p| p != Presentation::Fresh);
    // A frozen product is injected as thawed, so only the post-thaw value speaks for it.
    let pct = match facts.post_thaw_viability_pct {
        Some(pct) => Some(pct),
        None if frozen => None,
        None => facts.viability_at_release_pct,
    };
    direct(pct.map(|pct| {
        if pct < 70.0 {
            ViabilityLevel::Below70
        } else if pct < 80.0 {
            ViabilityLevel::From70To79
        } else if pct < 90.0 {
            ViabilityLevel::From80To89
        } else {
            ViabilityLevel::AtLeast90
        }
    }))
}

/// SV4 reads the donor's age only: the passage at release is SF3's input (expansion extent), so
/// that each input is counted once (model 2.0.0).
fn donor_age(facts: &Facts) -> Reading {
    use SenescenceLevel as L;
    direct(facts.donor_age_years.map(|age| {
        if age <= 40.0 {
            L::Young
        } else if age <= 60.0 {
            L::Middle
        } else {
            L::Old
        }
    }))
}

fn retention_enhancement(facts: &Facts, ctx: &Context) -> Reading {
    use RetentionLevel as L;
    let adjuncts = facts.retention_adjuncts.unwrap_or(Set::EMPTY);
    let with_carrier = facts.carrier.is_some_and(|carrier| carrier != Carrier::NoneSaline);
    let leakage_control =
        adjuncts.contains_any(&[RetentionAdjunct::AnnularSealant, RetentionAdjunct::SmallGaugeNeedle]);
    // A carrier only retains cells where they are placed locally.
    let level = |local: bool| {
        let candidates = [
            (true, L::None),
            (
                facts.preconditioning.is_some_and(|steps| {
                    steps.contains_any(&[Preconditioning::TnfAlpha, Preconditioning::IfnGammaPlusTnfAlpha])
                }),
                L::HomingPriming,
            ),
            (adjuncts.contains(RetentionAdjunct::MagneticTargeting), L::MagneticTargeting),
            (
                facts.modification_kind.is_some_and(|kind| kind != ModificationKind::None)
                    && facts.gene_targets.is_some_and(|targets| targets.contains(GeneTarget::Cxcr4)),
                L::HomingEngineering,
            ),
            (adjuncts.contains(RetentionAdjunct::RetentionCatheter), L::RetentionCatheter),
            (local && with_carrier && !leakage_control, L::Carrier),
            (local && with_carrier && leakage_control, L::CarrierWithLeakageControl),
        ];
        ctx.best(
            FactorCode::Rt2,
            candidates.iter().filter(|(reached, _)| *reached).map(|(_, level)| grade(*level)),
        )
    };
    let local = facts.route.map(|route| !route.is_systemic());
    let reachable = possible(local).iter().filter_map(|&local| level(local));
    let carrier_matters = local != Some(false);
    if facts.retention_adjuncts.is_some() && (facts.carrier.is_some() || !carrier_matters) {
        return ctx.range(FactorCode::Rt2, reachable);
    }
    // Only enhancements known to be in place bound the level from below.
    let worst = possible(local)
        .iter()
        .filter_map(|&local| level(local))
        .min_by_key(|level| ctx.value(FactorCode::Rt2, *level));
    let partly_known =
        facts.carrier.is_some() || facts.retention_adjuncts.is_some() || worst != Some(grade(L::None));
    Reading::Unknown { worst: worst.filter(|_| partly_known), best: None }
}

fn donor_strategy(facts: &Facts, ctx: &Context) -> Reading {
    use DonorStrategyLevel as L;
    match facts.donor_type {
        None => NOTHING_KNOWN,
        Some(DonorType::Autologous) => Reading::Known(grade(L::Autologous)),
        Some(DonorType::AllogeneicPooled) => Reading::Known(grade(L::AllogeneicPooled)),
        Some(DonorType::AllogeneicSingleDonor) => match facts.cell_bank {
            Some(CellBank::GmpMasterAndWorkingBank) => Reading::Known(grade(L::AllogeneicBanked)),
            Some(_) => Reading::Known(grade(L::AllogeneicWithoutBank)),
            None => ctx.range(FactorCode::Va1, [grade(L::AllogeneicWithoutBank), grade(L::AllogeneicBanked)]),
        },
        // One donor or a pool, not public: the level lies between the two; a GMP bank rules out
        // the unbanked single donor.
        Some(DonorType::AllogeneicDonorModelNotPublic) => match facts.cell_bank {
            Some(CellBank::GmpMasterAndWorkingBank) => {
                ctx.range(FactorCode::Va1, [grade(L::AllogeneicPooled), grade(L::AllogeneicBanked)])
            }
            _ => ctx.range(
                FactorCode::Va1,
                [grade(L::AllogeneicWithoutBank), grade(L::AllogeneicPooled), grade(L::AllogeneicBanked)],
            ),
        },
    }
}

/// OM8: what the trials showed. Before any efficacy trial has reported no result is expected, so
/// none is not held against the program; an uncontrolled positive trial counts as a controlled one
/// in a lethal orphan setting, as OM3 and the level-7 and level-8 gates accept there.
fn efficacy_evidence(facts: &Facts, ctx: &Context) -> Reading {
    use EfficacyEvidence as E;
    let Some(reading) = facts.efficacy else {
        return NOTHING_KNOWN;
    };
    let level = match reading.level {
        E::UncontrolledPositive if ctx.profile.orphan_lethal => E::ControlledPositive,
        level => level,
    };
    match (level, reading.certain) {
        (E::NoResultYet, true) if facts.stage.is_none_or(|stage| stage < DevelopmentStage::Phase2) => {
            Reading::NotApplicable
        }
        (level, true) => Reading::Known(grade(level)),
        (worst, false) => Reading::Unknown { worst: Some(grade(worst)), best: None },
    }
}

fn potency_assay(facts: &Facts, ctx: &Context) -> Reading {
    use PotencyLevel as L;
    let Some(tiers) = facts.potency else {
        return NOTHING_KNOWN;
    };
    let markers = ctx.moa_markers;
    // A regulator that cited potency in a complete response did not accept the assay as the top
    // level asks (the complete-response evidence VA4 cites in model_data/factors.toml).
    let potency_cited =
        facts.deficiencies.is_some_and(|reasons| reasons.contains(DeficiencyReason::CmcPotency));
    let level = if tiers.linked_at_least(3, markers) && !potency_cited {
        L::MoaLinkedClinicallyAnchored
    } else if tiers.linked_at_least(2, markers) {
        L::MoaLinkedLotRelease
    } else if tiers.linked_at_least(1, markers) {
        L::MoaLinkedQualified
    } else if tiers.linked_at_least(0, markers) {
        L::MoaLinkedExploratory
    } else if !tiers.all().is_empty() {
        L::FunctionalNotMoaLinked
    } else {
        match facts.isct_identity_testing {
            Some(true) => L::IdentityOnly,
            Some(false) => L::None,
            None => {
                return Reading::Unknown { worst: Some(grade(L::None)), best: Some(grade(L::IdentityOnly)) };
            }
        }
    };
    Reading::Known(grade(level))
}

fn release_specification(facts: &Facts) -> Reading {
    checklist(&release_items(facts))
}

/// VA5: whether each release item of [`RELEASE_ITEMS`] is in the specification.
pub(crate) fn release_items(facts: &Facts) -> [Option<bool>; 7] {
    [
        facts.release_viability_min_pct.map(|pct| pct >= RELEASE_VIABILITY_MIN_PCT),
        facts.release_sterility,
        facts.release_endotoxin,
        facts.release_mycoplasma,
        facts.release_identity,
        facts.release_karyotype,
        facts.release_potency,
    ]
}

/// The seed's release criterion: viability above 70 % (VA-13).
pub(crate) const RELEASE_VIABILITY_MIN_PCT: f64 = 70.0;

/// Reads a checklist whose items may be unknown.
fn checklist(items: &[Option<bool>]) -> Reading {
    let count = |wanted: Option<bool>| items.iter().filter(|item| **item == wanted).count() as u8;
    fraction_reading(count(Some(true)), count(None), items.len() as u8)
}

fn fraction_reading(met: u8, unknown: u8, of: u8) -> Reading {
    if unknown == 0 {
        Reading::Known(Grade::Fraction { met, of })
    } else if unknown == of {
        NOTHING_KNOWN
    } else {
        Reading::Unknown {
            worst: Some(Grade::Fraction { met, of }),
            best: Some(Grade::Fraction { met: met + unknown, of }),
        }
    }
}

/// VA6: a product made by a changed process is the clinically tested product only if
/// comparability is shown (EXT-CMC-COMPARABILITY); before any clinical lot there is nothing to be
/// comparable to.
fn comparability(facts: &Facts) -> Reading {
    use ComparabilityLevel as L;
    match facts.process_changes {
        None => NOTHING_KNOWN,
        Some(ProcessChanges::NoClinicalLotsYet) => Reading::NotApplicable,
        Some(ProcessChanges::ChangedComparabilityNotShown) => Reading::Known(grade(L::NotShown)),
        Some(ProcessChanges::ChangedComparabilityPending) => Reading::Known(grade(L::Pending)),
        Some(ProcessChanges::ChangedComparabilityShown) => Reading::Known(grade(L::Shown)),
        Some(ProcessChanges::UnchangedSinceClinicalLots) => Reading::Known(grade(L::Unchanged)),
    }
}

/// SF8: autologous cells are exempt from the donor-eligibility determination (21 CFR
/// 1271.90(a)(1)); every allogeneic donor needs one (EXT-DONOR-ELIGIBILITY).
fn donor_eligibility(facts: &Facts) -> Reading {
    match facts.donor_type {
        Some(DonorType::Autologous) => Reading::NotApplicable,
        _ => direct(facts.donor_eligibility),
    }
}

/// SF9: tissue factor matters where cells meet flowing blood (EXT-HEMOCOMPATIBILITY); a local
/// injection is not read. An unknown route leaves the factor unknown.
fn hemocompatibility(facts: &Facts) -> Reading {
    match facts.route {
        Some(route) if !route.is_intravascular() => Reading::NotApplicable,
        _ => direct(facts.hemocompatibility),
    }
}

fn lot_consistency(facts: &Facts, ctx: &Context) -> Reading {
    use LotConsistencyLevel as L;
    match facts.lots_characterised {
        None => NOTHING_KNOWN,
        Some(0) => Reading::Known(grade(L::NoLots)),
        Some(1..=2) => Reading::Known(grade(L::OneOrTwoLots)),
        Some(_) => ctx.range(
            FactorCode::Va7,
            possible(facts.potency_cv_within_limit)
                .iter()
                .map(|&within| grade(if within { L::ThreeOrMoreWithinLimit } else { L::ThreeOrMoreLots })),
        ),
    }
}

fn format_versus_scale(facts: &Facts, ctx: &Context) -> Reading {
    use ScaleFitLevel as L;
    let cells_needed = facts
        .cells_per_lot
        .or_else(|| facts.dose_cells.zip(facts.doses_per_lot).map(|(cells, doses)| cells * f64::from(doses)));
    match facts.culture_format {
        None => NOTHING_KNOWN,
        Some(CultureFormat::Flask2d) => match cells_needed {
            Some(cells) if cells > ctx.model.constants().flask_batch_capacity_cells => {
                Reading::Known(grade(L::FlaskBelowNeed))
            }
            Some(_) => Reading::Known(grade(L::FlaskMeetsNeed)),
            None => ctx.range(FactorCode::Mf1, [grade(L::FlaskBelowNeed), grade(L::FlaskMeetsNeed)]),
        },
        Some(CultureFormat::MultilayerFlaskCellFactory) => Reading::Known(grade(L::Multilayer)),
        Some(CultureFormat::MicrocarrierBioreactor) => Reading::Known(grade(L::Microcarrier)),
        Some(CultureFormat::HollowFiberOrFixedBedClosed | CultureFormat::ClosedAutomatedSystem) => {
            Reading::Known(grade(L::ClosedHighDensity))
        }
    }
}

fn cost_per_dose(facts: &Facts, ctx: &Context) -> Reading {
    let band = |usd: f64| {
        grade(if usd < 5_000.0 {
            CostLevel::Under5k
        } else if usd < 20_000.0 {
            CostLevel::From5kTo20k
        } else if usd <= 50_000.0 {
            CostLevel::From20kTo50k
        } else {
            CostLevel::Over50k
        })
    };
    if let Some(usd) = facts.cogs_per_dose_usd {
        return Reading::Known(band(usd));
    }
    let Some(litres) = facts.media_liters_per_dose else {
        return NOTHING_KNOWN;
    };
    let constants = ctx.model.constants();
    let media_usd = litres * constants.media_usd_per_litre;
    let cold_chain = match facts.presentation {
        Some(Presentation::Cryopreserved) => &[true][..],
        Some(_) => &[false][..],
        None => &[false, true][..],
    };
    ctx.range(
        FactorCode::Mf2,
        cold_chain.iter().map(|&frozen| {
            band(if frozen { media_usd * constants.cold_chain_cost_multiplier } else { media_usd })
        }),
    )
}

fn storage(facts: &Facts, ctx: &Context) -> Reading {
    use StorageLevel as L;
    match facts.presentation {
        None => NOTHING_KNOWN,
        Some(Presentation::Fresh) => Reading::Known(grade(L::Fresh)),
        Some(Presentation::Lyophilized) => Reading::Known(grade(L::Lyophilized)),
        Some(Presentation::Cryopreserved) => ctx.range(
            FactorCode::Mf3,
            possible(facts.stability_data).iter().map(|&stable| {
                grade(if stable { L::CryopreservedWithStability } else { L::CryopreservedWithoutStability })
            }),
        ),
    }
}

fn route_safety(facts: &Facts, ctx: &Context) -> Reading {
    use RouteSafetyLevel as L;
    let Some(route) = facts.route else {
        return NOTHING_KNOWN;
    };
    let level = match route {
        Route::Intravenous | Route::IntraArterial => L::SystemicInfusion,
        Route::Intramyocardial | Route::EndomyocardialCatheter | Route::Intracoronary => L::CardiacProcedure,
        Route::IntraparenchymalCns => L::CnsParenchymal,
        Route::Intradiscal => {
            let all_precautions = |measures: Set<ProcedureSafetyMeasure>| {
                ProcedureSafetyMeasure::ALL.iter().all(|measure| measures.contains(*measure))
            };
            return match facts.procedure_safety_measures {
                Some(measures) if all_precautions(measures) => {
                    Reading::Known(grade(L::IntradiscalWithPrecautions))
                }
                Some(_) => Reading::Known(grade(L::Intradiscal)),
                None => {
                    ctx.range(FactorCode::Sf4, [grade(L::Intradiscal), grade(L::IntradiscalWithPrecautions)])
                }
            };
        }
        Route::IntraArticular
        | Route::Intrathecal
        | Route::Intramuscular
        | Route::Intranasal
        | Route::LocalPerilesionalInjection
        | Route::SurgicalImplantationWithScaffold
        | Route::InhaledAerosol
        | Route::Intratracheal
        | Route::Topical => L::LocalInjection,
    };
    Reading::Known(grade(level))
}

fn immunogenicity(facts: &Facts, ctx: &Context) -> Reading {
    use ImmunogenicityLevel as L;
    let Some(donor) = facts.donor_type else {
        return NOTHING_KNOWN;
    };
    if donor == DonorType::Autologous {
        return Reading::Known(grade(L::Autologous));
    }
    let fully_matched = facts.hla_matching.map(|hla| hla == HlaMatching::Full);
    let repeat = facts.n_doses.map(|doses| doses > 1);
    let monitored = facts.immunogenicity_monitoring.map(|set| !set.is_empty());
    // IFN-γ priming can make allogeneic cells immunogenic (SF-11).
    let primed = facts
        .preconditioning
        .map(|steps| steps.contains_any(&[Preconditioning::IfnGamma, Preconditioning::IfnGammaPlusTnfAlpha]));
    let grades = possible(fully_matched).iter().flat_map(|&matched| {
        possible(repeat).iter().flat_map(move |&repeat| {
            possible(monitored).iter().flat_map(move |&monitored| {
                possible(primed).iter().map(move |&primed| {
                    grade(match (matched, repeat, monitored, primed) {
                        (true, ..) => L::HlaMatched,
                        (false, false, ..) => L::SingleDose,
                        (false, true, true, false) => L::RepeatMonitored,
                        (false, true, true, true) => L::RepeatMonitoredPrimed,
                        (false, true, false, false) => L::RepeatUnmonitored,
                        (false, true, false, true) => L::RepeatUnmonitoredPrimed,
                    })
                })
            })
        })
    });
    ctx.range(FactorCode::Sf5, grades)
}

fn modification_risk(facts: &Facts, ctx: &Context) -> Reading {
    use ModificationRiskLevel as L;
    let kind = match facts.modification_kind {
        Some(ModificationKind::None) => return Reading::NotApplicable,
        Some(kind) => kind,
        None => {
            return match facts.product_class {
                Some(ProductClass::GeneModifiedMsc) | None => NOTHING_KNOWN,
                Some(_) => Reading::NotApplicable,
            };
        }
    };
    let level = |off_target: bool, safeguards: bool| match kind {
        ModificationKind::MrnaTransient => L::MrnaTransient,
        ModificationKind::CrisprKnockout | ModificationKind::CrisprKnockin if off_target => {
            L::CrisprWithOffTarget
        }
        ModificationKind::CrisprKnockout | ModificationKind::CrisprKnockin => L::CrisprWithoutOffTarget,
        _ if safeguards => L::IntegratingWithSafeguards,
        _ => L::IntegratingVector,
    };
    let switch = facts.safety_switch.map(|switch| switch != SafetySwitch::None);
    let safeguards = match (switch, facts.integration_site_analysis) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    };
    let grades = possible(facts.off_target_analysis).iter().flat_map(|&off_target| {
        possible(safeguards).iter().map(move |&safeguarded| grade(level(off_target, safeguarded)))
    });
    ctx.range(FactorCode::Sf6, grades)
}

/// Outcome measures that are not validated instruments.
const NON_VALIDATED_PROMS: &[Prom] = &[Prom::OtherNonValidated];

fn outcome_measures(facts: &Facts, ctx: &Context) -> Reading {
    use PromLevel as L;
    direct(facts.proms.map(|proms| {
        let validated = Prom::ALL
            .iter()
            .filter(|prom| !NON_VALIDATED_PROMS.contains(prom) && proms.contains(**prom))
            .count();
        let standard_set = if ctx.profile.standard_proms.is_empty() {
            // Without an indication standard, ask for two validated instruments.
            validated >= 2
        } else {
            ctx.profile.standard_proms.iter().all(|group| group.intersects(proms))
        };
        if validated == 0 {
            if proms.is_empty() { L::None } else { L::NonValidatedOnly }
        } else if standard_set {
            L::IndicationStandardSet
        } else {
            L::SomeValidated
        }
    }))
}

/// Endpoints that quantify structure.
pub(crate) const QUANTITATIVE_ENDPOINTS: &[StructuralEndpoint] = &[
    StructuralEndpoint::MriT2Mapping,
    StructuralEndpoint::MriT1rho,
    StructuralEndpoint::DiscHeightIndex,
    StructuralEndpoint::CmrLvef,
    StructuralEndpoint::InfarctSize,
    StructuralEndpoint::CartilageMri,
    StructuralEndpoint::LesionMri,
    StructuralEndpoint::ChestCt,
];

fn structural_endpoint(facts: &Facts, ctx: &Context) -> Reading {
    use StructuralLevel as L;
    if !ctx.profile.structural_endpoint_relevant {
        return Reading::NotApplicable;
    }
    direct(facts.structural_endpoints.map(|endpoints| {
        let quantitative = endpoints.contains_any(QUANTITATIVE_ENDPOINTS);
        let biomarker = endpoints.contains(StructuralEndpoint::MechanisticBiomarker);
        match (quantitative, biomarker) {
            (true, true) => L::QuantitativeWithBiomarker,
            (true, false) => L::Quantitative,
            (false, _) if !endpoints.is_empty() => L::QualitativeOrBiomarkerOnly,
            (false, _) => L::None,
        }
    }))
}

fn regulator_interaction(facts: &Facts, ctx: &Context) -> Reading {
    use InteractionLevel as L;
    // An open IND/CTA, or anything that requires one, shows the regulator has reviewed the program.
    let trial_authorised = facts.regulatory_status.map(|status| {
        matches!(
            status,
            RegulatoryStatus::IndCtaOpen
                | RegulatoryStatus::MarketingApplicationSubmitted
                | RegulatoryStatus::ConditionalApproval
                | RegulatoryStatus::Approved
        )
    });
    let Some(held) = facts.regulatory_interactions else {
        return Reading::Unknown {
            worst: trial_authorised.map(|authorised| grade(if authorised { L::IndCtaOpen } else { L::None })),
            best: None,
        };
    };
    let reached = |authorised: bool| {
        let candidates = [
            (true, L::None),
            (
                held.contains_any(&[
                    RegulatoryInteraction::Interact,
                    RegulatoryInteraction::EarlyScientificAdvice,
                ]),
                L::EarlyAdvice,
            ),
            (
                // Type A, B and C meetings answer the sponsor's questions formally, as a pre-IND
                // meeting or formal scientific advice does.
                held.contains_any(&[
                    RegulatoryInteraction::PreInd,
                    RegulatoryInteraction::FormalScientificAdvice,
                    RegulatoryInteraction::TypeA,
                    RegulatoryInteraction::TypeB,
                    RegulatoryInteraction::TypeC,
                    RegulatoryInteraction::AdvisoryCommittee,
                ]),
                L::PreIndOrFormalAdvice,
            ),
            (authorised, L::IndCtaOpen),
            (
                // A pre-application meeting comes after the pivotal design was settled.
                held.contains_any(&[
                    RegulatoryInteraction::EndOfPhase2,
                    RegulatoryInteraction::SpaOrProtocolAssistance,
                    RegulatoryInteraction::PreMarketingApplication,
                ]),
                L::PivotalDesignAgreed,
            ),
        ];
        ctx.best(FactorCode::Rg2, candidates.iter().filter(|(done, _)| *done).map(|(_, level)| grade(*level)))
    };
    ctx.range(
        FactorCode::Rg2,
        possible(trial_authorised).iter().filter_map(|&authorised| reached(authorised)),
    )
}

/// One region checklist item and whether the program meets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ItemStatus {
    /// Index of the region in the model's region checklists.
    pub region: usize,
    /// Index of the item within the region.
    pub item: usize,
    /// Met, unmet, or unknown.
    pub met: Option<bool>,
}

/// RG4: the items of every targeted region, pooled; `on_item` sees each item's status.
pub(crate) fn region_requirements(
    facts: &Facts,
    ctx: &Context,
    prior: &[FactorResult],
    mut on_item: impl FnMut(ItemStatus),
) -> Reading {
    let Some(regulators) = facts.target_regulators.filter(|set| !set.is_empty()) else {
        return NOTHING_KNOWN;
    };
    let (mut met, mut unknown, mut of) = (0u8, 0u8, 0u8);
    for region in ctx.model.regions_for(regulators) {
        for (item, requirement) in ctx.model.region(region).requirements.iter().enumerate() {
            let status = requirement.met(facts, prior);
            of += 1;
            match status {
                Some(true) => met += 1,
                Some(false) => {}
                None => unknown += 1,
            }
            on_item(ItemStatus { region, item, met: status });
        }
    }
    fraction_reading(met, unknown, of)
}

fn nonclinical_package(facts: &Facts, ctx: &Context) -> Reading {
    use NonclinicalLevel as L;
    let Some(models) = facts.animal_models else {
        return NOTHING_KNOWN;
    };
    if !models.any {
        return Reading::Known(grade(L::None));
    }
    if !models.relevant {
        return Reading::Known(grade(L::ProofOfConceptOnly));
    }
    ctx.range(
        FactorCode::Rg6,
        possible(facts.glp_tox_biodistribution).iter().map(|&glp| {
            grade(match (glp, models.large_or_aged) {
                (false, _) => L::RelevantModel,
                (true, false) => L::RelevantWithGlp,
                (true, true) => L::RelevantGlpLargeOrAged,
            })
        }),
    )
}
