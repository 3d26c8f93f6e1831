//! The program profile: everything a client tells the model about an MSC therapy program
//! (research §6). Every field may be omitted or `null`, which means **unknown**; unknown is never
//! read as "no". Lists are different: an empty list is a known "none of these".

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::input_types::{Label, bounded_count, bounded_real, categorical};
use super::jurisdictions::Jurisdiction;
use super::parse_errors;
use super::trials::Trial;

bounded_real!(
    /// A percentage, 0 to 100.
    Percent, 0.0..=100.0, "%"
);
bounded_real!(
    /// An age in years, 0 to 120.
    AgeYears, 0.0..=120.0, "years"
);
bounded_real!(
    /// A duration in months, 0 to 600.
    Months, 0.0..=600.0, "months"
);
bounded_real!(
    /// A duration in years, 0 to 50.
    Years, 0.0..=50.0, "years"
);
bounded_real!(
    /// A number of cells, 1 to 10^13 (more than a third of the cells in a human body is not a dose).
    CellCount, 1.0..=1e13, "cells"
);
bounded_real!(
    /// A volume of culture medium in litres, 0 to 100,000.
    Litres, 0.0..=100000.0, "litres"
);
bounded_real!(
    /// An amount in US dollars, 0 to 10^9.
    Usd, 0.0..=1e9, "USD"
);
bounded_real!(
    /// An injection volume in millilitres, 0 to 1,000.
    Millilitres, 0.0..=1000.0, "mL"
);
bounded_real!(
    /// A duration in days, 0 to 36,500.
    Days, 0.0..=36500.0, "days"
);
bounded_real!(
    /// A number of cells per kilogram of body weight, 1 to 10^10.
    CellsPerKg, 1.0..=1e10, "cells/kg"
);
bounded_real!(
    /// A number of cells per square centimetre of lesion, 1 to 10^10.
    CellsPerCm2, 1.0..=1e10, "cells/cm²"
);
bounded_count!(
    /// A passage number, 0 to 100.
    Passage, 0..=100, "passages"
);
bounded_count!(
    /// A number of manufactured lots, 0 to 10,000.
    LotCount, 0..=10000, "lots"
);
bounded_count!(
    /// A number of doses (per patient or per lot), 1 to 1,000,000.
    DoseCount, 1..=1000000, "doses"
);
bounded_count!(
    /// A Pfirrmann disc degeneration grade, 1 (healthy) to 5 (collapsed disc).
    PfirrmannGrade, 1..=5, "(Pfirrmann grade)"
);
bounded_count!(
    /// A Kellgren-Lawrence radiographic osteoarthritis grade, 0 (none) to 4 (severe).
    KellgrenLawrenceGrade, 0..=4, "(Kellgren-Lawrence grade)"
);
bounded_count!(
    /// A Rutherford category of limb ischaemia, 0 (none) to 6 (major tissue loss).
    RutherfordCategory, 0..=6, "(Rutherford category)"
);
bounded_count!(
    /// Days from the infarct, stroke or injury to the first dose, 0 to 36,500.
    DaysSinceOnset, 0..=36500, "days"
);

categorical! {
    /// The version of this input schema.
    pub enum ProfileVersion {
        /// Version 1 (2026-11): one regulatory status and one clinical section for the whole
        /// program. Accepted forever; converted to version 2 before scoring.
        V1 => "1",
        /// Version 2: regulatory history per regulator (`regulatory.jurisdictions`), every trial
        /// (`clinical.trials`), sources per section, and the facts version 1 could not state.
        V2 => "2",
    }
}

categorical! {
    /// The indication the program targets; it selects the indication profile (weights, route
    /// fit, microenvironment hostility, potency markers, standard outcomes).
    pub enum Indication {
        /// Intervertebral disc degeneration / discogenic chronic low back pain.
        IntervertebralDiscDegeneration => "intervertebral_disc_degeneration",
        /// Acute graft-versus-host disease.
        GvhdAcute => "gvhd_acute",
        /// Chronic graft-versus-host disease.
        GvhdChronic => "gvhd_chronic",
        /// Perianal fistula in Crohn's disease.
        CrohnsPerianalFistula => "crohns_perianal_fistula",
        /// Knee osteoarthritis.
        OsteoarthritisKnee => "osteoarthritis_knee",
        /// A focal full-thickness cartilage defect of the knee (ICRS grade III-IV), repaired
        /// surgically; scored apart from diffuse osteoarthritis.
        CartilageDefect => "cartilage_defect",
        /// Rheumatoid arthritis.
        RheumatoidArthritis => "rheumatoid_arthritis",
        /// Myocardial infarction.
        MyocardialInfarction => "myocardial_infarction",
        /// Ischaemic heart failure.
        HeartFailureIschemic => "heart_failure_ischemic",
        /// Non-ischaemic heart failure.
        HeartFailureNonischemic => "heart_failure_nonischemic",
        /// Critical limb ischaemia.
        CriticalLimbIschemia => "critical_limb_ischemia",
        /// Ischaemic stroke.
        IschemicStroke => "ischemic_stroke",
        /// Spinal cord injury.
        SpinalCordInjury => "spinal_cord_injury",
        /// Amyotrophic lateral sclerosis.
        Als => "als",
        /// Multiple sclerosis.
        MultipleSclerosis => "ms",
        /// Acute respiratory distress syndrome, including COVID-19.
        ArdsCovid => "ards_covid",
        /// Chronic obstructive pulmonary disease.
        Copd => "copd",
        /// Idiopathic pulmonary fibrosis.
        Ipf => "ipf",
        /// Bronchopulmonary dysplasia of the preterm infant.
        BronchopulmonaryDysplasia => "bronchopulmonary_dysplasia",
        /// Systemic lupus erythematosus.
        Sle => "sle",
        /// Inflammatory bowel disease: luminal Crohn's disease or ulcerative colitis.
        Ibd => "ibd",
        /// Any other indication (scored with the generic profile).
        Other => "other",
    }
}

categorical! {
    /// An intended mechanism of action; it decides which potency assays count as MoA-linked and
    /// which tissue sources fit.
    pub enum Mechanism {
        /// T-cell suppression, macrophage M1→M2 shift, Treg expansion (PGE2, IDO, PD-L1).
        Immunomodulation => "immunomodulation",
        /// New blood vessel formation (VEGF, bFGF).
        Angiogenesis => "angiogenesis",
        /// Limiting fibrosis (HGF).
        Antifibrotic => "antifibrotic",
        /// Protecting resident cells and recruiting repair (IGF-1, SDF-1, HGF).
        TrophicCytoprotection => "trophic_cytoprotection",
        /// Matrix production or differentiation into the target tissue.
        MatrixRegenerationDifferentiation => "matrix_regeneration_differentiation",
        /// Mitochondrial transfer through tunnelling nanotubes.
        MitochondrialTransfer => "mitochondrial_transfer",
        /// Neurotrophic support (BDNF, GDNF).
        Neuroprotection => "neuroprotection",
    }
}

categorical! {
    /// What kind of product the program makes. The model is calibrated for culture-expanded MSCs.
    pub enum ProductClass {
        /// Culture-expanded MSCs.
        CultureExpandedMsc => "culture_expanded_msc",
        /// A minimally manipulated concentrate (e.g. bone marrow aspirate concentrate).
        MinimallyManipulatedConcentrate => "minimally_manipulated_concentrate",
        /// Lineage-primed MSCs (e.g. cardiopoietic cells, as in CHART-1).
        LineagePrimedMsc => "lineage_primed_msc",
        /// Genetically modified MSCs.
        GeneModifiedMsc => "gene_modified_msc",
        /// MSCs derived from induced pluripotent stem cells.
        IpscDerivedMsc => "ipsc_derived_msc",
        /// A cell-free secretome or extracellular-vesicle product.
        MscSecretomeOrEv => "msc_secretome_or_ev",
        /// Multipotent adult progenitor cells or related (e.g. MultiStem), not classic MSCs.
        MapcOrRelated => "mapc_or_related",
    }
}

categorical! {
    /// The most advanced stage the program has started.
    pub enum DevelopmentStage {
        /// Discovery research.
        Discovery => "discovery",
        /// Preclinical development.
        Preclinical => "preclinical",
        /// A Phase 1 trial.
        Phase1 => "phase1",
        /// A Phase 1/2 trial.
        Phase12 => "phase1_2",
        /// A Phase 2 trial.
        Phase2 => "phase2",
        /// A Phase 3 (pivotal) trial.
        Phase3 => "phase3",
        /// A marketing application (BLA/MAA/J-NDA) under review.
        MarketingApplication => "marketing_application",
        /// Marketed (full or conditional approval).
        Marketed => "marketed",
    }
}

categorical! {
    /// The tissue the MSCs come from.
    pub enum TissueSource {
        /// Bone marrow.
        BoneMarrow => "bone_marrow",
        /// Adipose tissue.
        Adipose => "adipose",
        /// Umbilical cord tissue (Wharton's jelly).
        UmbilicalCord => "umbilical_cord",
        /// Umbilical cord blood.
        UmbilicalCordBlood => "umbilical_cord_blood",
        /// Placenta.
        Placenta => "placenta",
        /// Dental pulp.
        DentalPulp => "dental_pulp",
        /// Synovium or synovial fluid.
        Synovial => "synovial",
        /// Menstrual blood.
        MenstrualBlood => "menstrual_blood",
        /// Hair follicle.
        HairFollicle => "hair_follicle",
        /// Peripheral blood.
        PeripheralBlood => "peripheral_blood",
        /// Induced pluripotent stem cells.
        Ipsc => "ipsc",
    }
}

categorical! {
    /// Whose cells are used.
    pub enum DonorType {
        /// The patient's own cells.
        Autologous => "autologous",
        /// One allogeneic donor per lot or bank.
        AllogeneicSingleDonor => "allogeneic_single_donor",
        /// Cells pooled from several allogeneic donors.
        AllogeneicPooled => "allogeneic_pooled",
        /// Allogeneic, but whether lots come from one donor or a pool is not public (the public
        /// state of most approved allogeneic products).
        AllogeneicDonorModelNotPublic => "allogeneic_donor_model_not_public",
    }
}

categorical! {
    /// The cell banking system.
    pub enum CellBank {
        /// No bank.
        None => "none",
        /// A research-grade bank.
        ResearchBank => "research_bank",
        /// A GMP master and working cell bank.
        GmpMasterAndWorkingBank => "gmp_master_and_working_bank",
        /// Not applicable (autologous product).
        NotApplicable => "not_applicable",
    }
}

categorical! {
    /// HLA matching of allogeneic cells to the patient.
    pub enum HlaMatching {
        /// No matching.
        None => "none",
        /// Partial matching.
        Partial => "partial",
        /// Full matching.
        Full => "full",
        /// Not applicable (autologous product).
        NotApplicable => "not_applicable",
    }
}

categorical! {
    /// The culture medium supplement, worst to best for variability and contamination risk.
    pub enum CultureMedia {
        /// Fetal bovine serum.
        Fbs => "fbs",
        /// The patient's own serum.
        HumanSerumAutologous => "human_serum_autologous",
        /// Human platelet lysate.
        HumanPlateletLysate => "human_platelet_lysate",
        /// Chemically defined serum-free, xeno-free medium.
        SerumFreeXenoFreeDefined => "serum_free_xeno_free_defined",
    }
}

categorical! {
    /// The expansion format, smallest to largest output.
    pub enum CultureFormat {
        /// 2D T-flasks (about 10^8 cells per batch).
        Flask2d => "2d_flask",
        /// Multilayer flasks or cell factories.
        MultilayerFlaskCellFactory => "multilayer_flask_cell_factory",
        /// Microcarriers in a stirred bioreactor (about 100-fold the output of flasks).
        MicrocarrierBioreactor => "microcarrier_bioreactor",
        /// A closed hollow-fibre or fixed-bed bioreactor.
        HollowFiberOrFixedBedClosed => "hollow_fiber_or_fixed_bed_closed",
        /// A closed automated system (e.g. Cocoon).
        ClosedAutomatedSystem => "closed_automated_system",
    }
}

categorical! {
    /// Oxygen tension during expansion.
    pub enum CultureOxygen {
        /// Room air, 21 % O2.
        Normoxic21pct => "normoxic_21pct",
        /// Physiological 2-5 % O2 (counts as hypoxic preconditioning).
        Physioxic25pct => "physioxic_2_5pct",
    }
}

categorical! {
    /// The growth surface.
    pub enum Substrate {
        /// Tissue-culture plastic.
        TissueCulturePlastic => "tissue_culture_plastic",
        /// An animal-derived coating.
        AnimalDerivedCoating => "animal_derived_coating",
        /// Synthetic peptide substrate (more reproducible).
        SyntheticPeptideSubstrate => "synthetic_peptide_substrate",
        /// Microcarriers.
        Microcarrier => "microcarrier",
    }
}

categorical! {
    /// A preconditioning step before release. An empty list means no preconditioning.
    pub enum Preconditioning {
        /// Hypoxia, 1-5 % O2.
        Hypoxia => "hypoxia",
        /// IFN-γ priming.
        IfnGamma => "ifn_gamma",
        /// TNF-α priming.
        TnfAlpha => "tnf_alpha",
        /// IFN-γ plus TNF-α priming.
        IfnGammaPlusTnfAlpha => "ifn_gamma_plus_tnf_alpha",
        /// 3D spheroid culture.
        Spheroid3d => "3d_spheroid",
        /// Mechanical stimulation.
        Mechanical => "mechanical",
        /// Pharmacological priming.
        Pharmacological => "pharmacological",
    }
}

categorical! {
    /// How the cells are genetically modified.
    pub enum ModificationKind {
        /// Not modified.
        None => "none",
        /// Transient mRNA expression.
        MrnaTransient => "mrna_transient",
        /// CRISPR knock-out.
        CrisprKnockout => "crispr_knockout",
        /// CRISPR knock-in.
        CrisprKnockin => "crispr_knockin",
        /// Lentiviral vector (integrating).
        Lentiviral => "lentiviral",
        /// Another integrating vector.
        OtherIntegratingVector => "other_integrating_vector",
    }
}

categorical! {
    /// A gene targeted by the modification.
    pub enum GeneTarget {
        /// CXCR4 (homing).
        Cxcr4 => "cxcr4",
        /// IL-10 (anti-inflammatory).
        Il10 => "il10",
        /// VEGF (angiogenesis).
        Vegf => "vegf",
        /// MHC (immune evasion).
        Mhc => "mhc",
        /// A pro-survival gene (e.g. Bcl-2, Akt).
        ProSurvival => "pro_survival",
        /// Another gene.
        Other => "other",
    }
}

categorical! {
    /// A conditional elimination switch.
    pub enum SafetySwitch {
        /// None.
        None => "none",
        /// HSV-TK suicide gene.
        HsvTk => "hsv_tk",
        /// Another switch.
        Other => "other",
    }
}

categorical! {
    /// GMP status of manufacturing, least to most mature.
    pub enum GmpStatus {
        /// Research grade.
        ResearchGrade => "research_grade",
        /// GMP process in development.
        GmpInDevelopment => "gmp_in_development",
        /// GMP lots released for clinical trials.
        GmpClinicalLots => "gmp_clinical_lots",
        /// Process validated (process performance qualification).
        GmpProcessValidatedPpq => "gmp_process_validated_ppq",
        /// Commercial manufacturing.
        Commercial => "commercial",
    }
}

categorical! {
    /// How closed and automated the process is, least to most.
    pub enum AutomationLevel {
        /// Manual, open steps.
        ManualOpen => "manual_open",
        /// Partially closed.
        PartiallyClosed => "partially_closed",
        /// Closed and automated.
        ClosedAutomated => "closed_automated",
        /// Closed, automated, with in-line analytics or ML release prediction.
        ClosedAutomatedWithInlineAnalytics => "closed_automated_with_inline_analytics",
    }
}

categorical! {
    /// Version 2: whether the process that makes the product to be marketed (or the next trial's
    /// lots) has changed since the lots that produced the clinical data, and whether comparability
    /// was shown (FDA draft guidance on manufacturing changes and comparability for cell and gene
    /// therapy products, 2023; EXT-CMC-COMPARABILITY).
    pub enum ProcessChanges {
        /// No clinical lots yet: nothing to be comparable to.
        NoClinicalLotsYet => "no_clinical_lots_yet",
        /// Changed (process, site, scale, medium or starting material) with no comparability study.
        ChangedComparabilityNotShown => "changed_comparability_not_shown",
        /// Changed; a comparability study is planned or under way.
        ChangedComparabilityPending => "changed_comparability_pending",
        /// Changed; analytical comparability, potency included, was shown.
        ChangedComparabilityShown => "changed_comparability_shown",
        /// The process that made the clinical lots is the process used now.
        UnchangedSinceClinicalLots => "unchanged_since_clinical_lots",
    }
}

categorical! {
    /// Version 2: the donor-eligibility determination for allogeneic cells: screening (medical
    /// history, risk factors) and testing for relevant communicable disease agents (21 CFR 1271
    /// subpart C; EU Directive 2006/17/EC; EXT-DONOR-ELIGIBILITY). Autologous cells are exempt.
    pub enum DonorEligibility {
        /// Not determined.
        NotDetermined => "not_determined",
        /// Donors screened, not tested.
        ScreenedOnly => "screened_only",
        /// Donors screened and tested for the relevant communicable disease agents.
        ScreenedAndTested => "screened_and_tested",
        /// Screened and tested, and the cell bank tested for adventitious agents (viral included).
        ScreenedTestedAndBankTested => "screened_tested_and_bank_tested",
    }
}

categorical! {
    /// Version 2: what is known of the product's compatibility with blood, for intravascular
    /// routes: MSCs carry tissue factor (CD142), which can trigger the instant blood-mediated
    /// inflammatory reaction and thrombosis (EXT-HEMOCOMPATIBILITY).
    pub enum Hemocompatibility {
        /// Not assessed.
        NotAssessed => "not_assessed",
        /// Tissue factor (CD142) expression or procoagulant activity measured.
        TissueFactorMeasured => "tissue_factor_measured",
        /// Controlled: a release limit on tissue factor or procoagulant activity, or an
        /// administration protocol with anticoagulation.
        TissueFactorControlled => "tissue_factor_controlled",
    }
}

categorical! {
    /// What a potency assay measures.
    pub enum PotencyAnalyte {
        /// IDO activity (after IFN-γ licensing).
        Ido => "ido",
        /// PGE2 secretion.
        Pge2 => "pge2",
        /// PD-L1 expression.
        PdL1 => "pd_l1",
        /// T-cell proliferation suppression (MLR / PBMC assay).
        TCellSuppression => "t_cell_suppression",
        /// VEGF secretion.
        Vegf => "vegf",
        /// Endothelial tube formation.
        TubeFormation => "tube_formation",
        /// HGF secretion.
        Hgf => "hgf",
        /// TSG-6 secretion.
        Tsg6 => "tsg6",
        /// IL-1Ra secretion.
        Il1ra => "il1ra",
        /// Macrophage polarisation.
        MacrophagePolarization => "macrophage_polarization",
        /// Extracellular-matrix synthesis (aggrecan, collagen II).
        EcmSynthesis => "ecm_synthesis",
        /// Neurotrophic factors (BDNF, GDNF).
        NeurotrophicFactors => "neurotrophic_factors",
        /// Mitochondrial transfer.
        MitochondrialTransfer => "mitochondrial_transfer",
        /// Anything else (counted as functional, not MoA-linked).
        Other => "other",
    }
}

categorical! {
    /// Maturity of an assay, least to most.
    pub enum AssayStage {
        /// Exploratory.
        Exploratory => "exploratory",
        /// Qualified.
        Qualified => "qualified",
        /// Validated.
        Validated => "validated",
    }
}

categorical! {
    /// How the product is supplied.
    pub enum Presentation {
        /// Fresh, short shelf life.
        Fresh => "fresh",
        /// Cryopreserved.
        Cryopreserved => "cryopreserved",
        /// Lyophilised.
        Lyophilized => "lyophilized",
    }
}

categorical! {
    /// The delivery route.
    pub enum Route {
        /// Intravenous infusion.
        Intravenous => "intravenous",
        /// Intra-arterial infusion.
        IntraArterial => "intra_arterial",
        /// Injection into the disc.
        Intradiscal => "intradiscal",
        /// Injection into a joint.
        IntraArticular => "intra_articular",
        /// Direct injection into the myocardium.
        Intramyocardial => "intramyocardial",
        /// Endomyocardial injection by catheter.
        EndomyocardialCatheter => "endomyocardial_catheter",
        /// Intracoronary infusion.
        Intracoronary => "intracoronary",
        /// Intrathecal injection.
        Intrathecal => "intrathecal",
        /// Intramuscular injection.
        Intramuscular => "intramuscular",
        /// Intranasal.
        Intranasal => "intranasal",
        /// Local injection around the lesion.
        LocalPerilesionalInjection => "local_perilesional_injection",
        /// Surgical implantation on a scaffold.
        SurgicalImplantationWithScaffold => "surgical_implantation_with_scaffold",
        /// Inhaled aerosol.
        InhaledAerosol => "inhaled_aerosol",
        /// Instillation into the trachea or bronchi (endotracheal tube or bronchoscope).
        Intratracheal => "intratracheal",
        /// Stereotactic or open injection into brain or spinal cord tissue.
        IntraparenchymalCns => "intraparenchymal_cns",
        /// Application onto a wound or ulcer bed.
        Topical => "topical",
    }
}

impl Route {
    /// Routes that spread cells through the circulation or airways rather than placing them at
    /// the target; they are sequestered in the lungs (RT-01, RT-02).
    pub const fn is_systemic(self) -> bool {
        matches!(self, Self::Intravenous | Self::IntraArterial | Self::InhaledAerosol)
    }

    /// Routes that put cells into flowing blood, where tissue factor can trigger the instant
    /// blood-mediated inflammatory reaction (EXT-HEMOCOMPATIBILITY).
    pub const fn is_intravascular(self) -> bool {
        matches!(self, Self::Intravenous | Self::IntraArterial | Self::Intracoronary)
    }
}

categorical! {
    /// The carrier the cells are delivered in.
    pub enum Carrier {
        /// Saline or medium only.
        NoneSaline => "none_saline",
        /// Hyaluronic acid.
        HyaluronicAcid => "hyaluronic_acid",
        /// Collagen.
        Collagen => "collagen",
        /// Fibrin.
        Fibrin => "fibrin",
        /// Thermoresponsive chitosan hydrogel.
        ChitosanThermoresponsive => "chitosan_thermoresponsive",
        /// Decellularised extracellular matrix.
        DecellularizedEcm => "decellularized_ecm",
        /// Alginate encapsulation.
        AlginateEncapsulation => "alginate_encapsulation",
        /// 3D-printed scaffold.
        Printed3dScaffold => "3d_printed_scaffold",
        /// Electrospun scaffold.
        ElectrospunScaffold => "electrospun_scaffold",
        /// Another hydrogel.
        OtherHydrogel => "other_hydrogel",
    }
}

categorical! {
    /// A measure that keeps cells at the target. An empty list means none.
    pub enum RetentionAdjunct {
        /// Annular sealant closing the disc puncture.
        AnnularSealant => "annular_sealant",
        /// Small-gauge needle to limit leakage.
        SmallGaugeNeedle => "small_gauge_needle",
        /// Magnetic targeting of labelled cells.
        MagneticTargeting => "magnetic_targeting",
        /// Retention-enhanced delivery catheter.
        RetentionCatheter => "retention_catheter",
    }
}

categorical! {
    /// How the dose was chosen, weakest to strongest.
    pub enum DoseRationale {
        /// No rationale.
        None => "none",
        /// From the literature.
        Literature => "literature",
        /// Allometric scaling from animals.
        AllometricScaling => "allometric_scaling",
        /// Preclinical dose-ranging.
        DoseRangingPreclinical => "dose_ranging_preclinical",
        /// Clinical dose-ranging.
        DoseRangingClinical => "dose_ranging_clinical",
    }
}

categorical! {
    /// A procedural precaution for intradiscal injection (discitis risk). An empty list means none.
    pub enum ProcedureSafetyMeasure {
        /// Two-needle technique.
        TwoNeedleTechnique => "two_needle_technique",
        /// Prophylactic (e.g. intradiscal) antibiotic.
        ProphylacticAntibiotic => "prophylactic_antibiotic",
        /// Fluoroscopic guidance.
        FluoroscopicGuidance => "fluoroscopic_guidance",
    }
}

categorical! {
    /// How well an animal model reflects the human disease.
    pub enum DiseaseRelevance {
        /// Low.
        Low => "low",
        /// Medium.
        Medium => "medium",
        /// High.
        High => "high",
    }
}

categorical! {
    /// The strongest evidence that cells survive in target-like conditions, weakest to strongest.
    pub enum SurvivalEvidence {
        /// None.
        None => "none",
        /// In vitro under disease-mimetic conditions (disc: pH 6.5-6.8, ~485 mOsm, <5 % O2, low glucose).
        InVitroDiseaseMimetic => "in_vitro_disease_mimetic",
        /// In vivo cell tracking in small animals.
        InVivoTrackingSmallAnimal => "in_vivo_tracking_small_animal",
        /// In vivo cell tracking in large animals.
        InVivoTrackingLargeAnimal => "in_vivo_tracking_large_animal",
        /// Clinical imaging or biopsy.
        ClinicalImaging => "clinical_imaging",
    }
}

categorical! {
    /// The strongest biodistribution / retention evidence with the clinical route, weakest to strongest.
    pub enum BiodistributionEvidence {
        /// None.
        None => "none",
        /// Labelled-cell tracking in small animals.
        InVivoTrackingSmallAnimal => "in_vivo_tracking_small_animal",
        /// Labelled-cell tracking in large animals.
        InVivoTrackingLargeAnimal => "in_vivo_tracking_large_animal",
        /// Clinical imaging.
        ClinicalImaging => "clinical_imaging",
    }
}

categorical! {
    /// A genetic-stability test. An empty list means none.
    pub enum GeneticStabilityTest {
        /// Karyotyping.
        Karyotype => "karyotype",
        /// Comparative genomic hybridisation array.
        CghArray => "cgh_array",
        /// Next-generation sequencing.
        Ngs => "ngs",
    }
}

categorical! {
    /// The strongest tumorigenicity study, weakest to strongest.
    pub enum TumorigenicityStudy {
        /// None.
        None => "none",
        /// In vitro soft-agar assay.
        InVitroSoftAgar => "in_vitro_soft_agar",
        /// Short in vivo study in immunodeficient animals.
        InVivoImmunodeficientShort => "in_vivo_immunodeficient_short",
        /// Long-term in vivo study in immunodeficient animals.
        InVivoImmunodeficientLong => "in_vivo_immunodeficient_long",
    }
}

categorical! {
    /// The last completed clinical phase.
    pub enum TrialPhase {
        /// No trial completed.
        None => "none",
        /// Phase 1.
        Phase1 => "phase1",
        /// Phase 1/2.
        Phase12 => "phase1_2",
        /// Phase 2.
        Phase2 => "phase2",
        /// Phase 3.
        Phase3 => "phase3",
    }
}

categorical! {
    /// A patient-reported or clinical outcome measure.
    pub enum Prom {
        /// Oswestry Disability Index.
        Odi => "odi",
        /// Visual analogue scale for back pain.
        VasBackPain => "vas_back_pain",
        /// Numeric rating scale for pain.
        NrsPain => "nrs_pain",
        /// Roland-Morris Disability Questionnaire.
        RolandMorris => "roland_morris",
        /// SF-36.
        Sf36 => "sf36",
        /// EQ-5D.
        Eq5d => "eq5d",
        /// Opioid use.
        OpioidUse => "opioid_use",
        /// WOMAC.
        Womac => "womac",
        /// KOOS.
        Koos => "koos",
        /// Modified Rankin Scale.
        Mrs => "mrs",
        /// NIH Stroke Scale.
        Nihss => "nihss",
        /// ALS Functional Rating Scale - Revised.
        AlsfrsR => "alsfrs_r",
        /// Overall response rate at day 28 (GVHD).
        OrrDay28 => "orr_day28",
        /// Combined clinical and MRI remission at 24 weeks (perianal fistula).
        CombinedRemission24w => "combined_remission_24w",
        /// ASIA impairment grade (spinal cord injury).
        AsiaGrade => "asia_grade",
        /// Mortality at day 28.
        MortalityDay28 => "mortality_day28",
        /// Oxygenation index.
        OxygenationIndex => "oxygenation_index",
        /// Forced vital capacity.
        Fvc => "fvc",
        /// Six-minute walk distance.
        SixMinuteWalk => "six_minute_walk",
        /// Kansas City Cardiomyopathy Questionnaire.
        Kccq => "kccq",
        /// A hierarchical composite endpoint (heart failure).
        HierarchicalComposite => "hierarchical_composite",
        /// Time to cardiovascular death or heart-failure hospitalisation.
        CvDeathHfHospitalisation => "cv_death_hf_hospitalisation",
        /// Major adverse cardiac events.
        Mace => "mace",
        /// Cardiac MRI left-ventricular ejection fraction as a primary efficacy measure.
        LvefCmr => "lvef_cmr",
        /// ACR20 response (rheumatoid arthritis).
        Acr20 => "acr20",
        /// DAS28 / EULAR response (rheumatoid arthritis).
        Das28 => "das28",
        /// HAQ disability index.
        HaqDi => "haq_di",
        /// NIH 2014 chronic GVHD response criteria.
        NihCgvhdResponse => "nih_cgvhd_response",
        /// Overall survival.
        OverallSurvival => "overall_survival",
        /// Ventilator-free days to day 28.
        VentilatorFreeDays => "ventilator_free_days",
        /// Mortality at day 60 or 90.
        MortalityDay60 => "mortality_day60",
        /// Forced expiratory volume in one second.
        Fev1 => "fev1",
        /// Rate of moderate or severe COPD exacerbations.
        ExacerbationRate => "exacerbation_rate",
        /// St George's Respiratory Questionnaire.
        Sgrq => "sgrq",
        /// Death or moderate/severe bronchopulmonary dysplasia at 36 weeks postmenstrual age.
        DeathOrBpd36w => "death_or_bpd_36w",
        /// Expanded Disability Status Scale confirmed disability progression.
        EdssProgression => "edss_progression",
        /// Annualised relapse rate.
        AnnualisedRelapseRate => "annualised_relapse_rate",
        /// Combined assessment of function and survival (ALS).
        Cafs => "cafs",
        /// Fugl-Meyer motor score.
        FuglMeyerMotor => "fugl_meyer_motor",
        /// ISNCSCI motor score.
        IsncsciMotor => "isncsci_motor",
        /// Spinal Cord Independence Measure III.
        ScimIii => "scim_iii",
        /// Amputation-free survival.
        AmputationFreeSurvival => "amputation_free_survival",
        /// Complete healing of the index ulcer.
        UlcerHealing => "ulcer_healing",
        /// Rest-pain relief.
        RestPain => "rest_pain",
        /// IKDC subjective knee score.
        Ikdc => "ikdc",
        /// ICRS arthroscopic repair grade.
        IcrsRepairGrade => "icrs_repair_grade",
        /// SLE Responder Index (SRI-4).
        Sri4 => "sri4",
        /// Renal response in lupus nephritis.
        RenalResponse => "renal_response",
        /// Clinical remission, CDAI below 150 (Crohn's disease).
        CdaiRemission => "cdai_remission",
        /// Endoscopic response, SES-CD down by at least half.
        SesCdResponse => "ses_cd_response",
        /// Another validated instrument.
        OtherValidated => "other_validated",
        /// A non-validated instrument.
        OtherNonValidated => "other_non_validated",
    }
}

categorical! {
    /// A structural or mechanistic endpoint. An empty list means none.
    pub enum StructuralEndpoint {
        /// MRI T2 mapping.
        MriT2Mapping => "mri_t2_mapping",
        /// MRI T1ρ.
        MriT1rho => "mri_t1rho",
        /// Pfirrmann grading (qualitative).
        Pfirrmann => "pfirrmann",
        /// Disc height index.
        DiscHeightIndex => "disc_height_index",
        /// Modic changes (qualitative).
        Modic => "modic",
        /// Cardiac MRI ejection fraction.
        CmrLvef => "cmr_lvef",
        /// Infarct size.
        InfarctSize => "infarct_size",
        /// Cartilage MRI.
        CartilageMri => "cartilage_mri",
        /// Quantitative lesion MRI (CNS).
        LesionMri => "lesion_mri",
        /// Quantitative chest CT.
        ChestCt => "chest_ct",
        /// A mechanistic biomarker of the intended mechanism.
        MechanisticBiomarker => "mechanistic_biomarker",
    }
}

categorical! {
    /// The control arm of the main (completed or planned) efficacy trial, weakest to strongest.
    pub enum ControlArm {
        /// Single arm, no control.
        NoneSingleArm => "none_single_arm",
        /// Historical or external control.
        HistoricalExternal => "historical_external",
        /// Standard of care.
        StandardOfCare => "standard_of_care",
        /// Active comparator.
        ActiveComparator => "active_comparator",
        /// Placebo or sham procedure.
        PlaceboOrSham => "placebo_or_sham",
    }
}

categorical! {
    /// Blinding of the main efficacy trial, weakest to strongest.
    pub enum Blinding {
        /// Open label.
        OpenLabel => "open_label",
        /// Outcome assessors blinded.
        AssessorBlinded => "assessor_blinded",
        /// Patients and investigators blinded.
        DoubleBlind => "double_blind",
        /// Patients, investigators, assessors and analysts blinded.
        Quadruple => "quadruple",
    }
}

categorical! {
    /// How patients likely to respond are selected, weakest to strongest.
    pub enum PatientSelection {
        /// No enrichment.
        None => "none",
        /// Clinical criteria (disc: degeneration grade, symptom duration, single level).
        ClinicalCriteria => "clinical_criteria",
        /// Biomarker-guided selection.
        BiomarkerGuided => "biomarker_guided",
    }
}

categorical! {
    /// An immunogenicity monitoring assay. An empty list means no monitoring.
    pub enum ImmunogenicityMonitoring {
        /// Anti-donor HLA antibodies.
        AntiDonorHlaAntibodies => "anti_donor_hla_antibodies",
        /// T-cell assays.
        TCellAssays => "t_cell_assays",
    }
}

categorical! {
    /// The result of the pivotal trial.
    pub enum PivotalResult {
        /// Not started.
        NotStarted => "not_started",
        /// Ongoing.
        Ongoing => "ongoing",
        /// Met its primary endpoint.
        MetPrimaryEndpoint => "met_primary_endpoint",
        /// Failed its primary endpoint.
        FailedPrimaryEndpoint => "failed_primary_endpoint",
    }
}

categorical! {
    /// A regulator the program targets.
    pub enum Regulator {
        /// US FDA.
        Fda => "fda",
        /// European Medicines Agency.
        Ema => "ema",
        /// Japan's PMDA.
        Pmda => "pmda",
        /// UK MHRA.
        Mhra => "mhra",
        /// Health Canada.
        HealthCanada => "health_canada",
        /// China's NMPA.
        Nmpa => "nmpa",
        /// Korea's Ministry of Food and Drug Safety (formerly KFDA).
        Mfds => "mfds",
        /// India's Central Drugs Standard Control Organisation (DCGI).
        Cdsco => "cdsco",
        /// Australia's Therapeutic Goods Administration.
        Tga => "tga",
        /// Another regulator.
        Other => "other",
    }
}

categorical! {
    /// Regulatory classification of the product, weakest to strongest.
    pub enum ClassificationStatus {
        /// Not sought.
        NotSought => "not_sought",
        /// Assumed by the sponsor.
        Assumed => "assumed",
        /// Formal recommendation (e.g. EMA CAT ATMP classification, FDA OTP confirmation).
        FormalRecommendation => "formal_recommendation",
    }
}

categorical! {
    /// A regulatory interaction held.
    pub enum RegulatoryInteraction {
        /// FDA INTERACT meeting.
        Interact => "interact",
        /// Early scientific advice or innovation-office meeting.
        EarlyScientificAdvice => "early_scientific_advice",
        /// Pre-IND meeting.
        PreInd => "pre_ind",
        /// Formal scientific advice.
        FormalScientificAdvice => "formal_scientific_advice",
        /// End-of-Phase-2 meeting.
        EndOfPhase2 => "end_of_phase2",
        /// Special protocol assessment or protocol assistance for the pivotal trial.
        SpaOrProtocolAssistance => "spa_or_protocol_assistance",
        /// A meeting before a marketing application (pre-BLA, pre-MAA, pre-NDA).
        PreMarketingApplication => "pre_marketing_application",
        /// An FDA Type A meeting (a stalled program, a dispute, a complete response).
        TypeA => "type_a",
        /// An FDA Type B meeting other than pre-IND, end-of-Phase-2 or pre-BLA (e.g. an RMAT or
        /// breakthrough meeting).
        TypeB => "type_b",
        /// An FDA Type C (or Type D or INTERACT-like follow-up) meeting on a specific question.
        TypeC => "type_c",
        /// An advisory committee meeting on the product (FDA advisory committee, EMA SAG).
        AdvisoryCommittee => "advisory_committee",
    }
}

categorical! {
    /// The furthest regulatory status reached.
    pub enum RegulatoryStatus {
        /// None.
        None => "none",
        /// IND or CTA open.
        IndCtaOpen => "ind_cta_open",
        /// Clinical hold.
        ClinicalHold => "clinical_hold",
        /// Marketing application submitted.
        MarketingApplicationSubmitted => "marketing_application_submitted",
        /// Conditional (time-limited) approval.
        ConditionalApproval => "conditional_approval",
        /// Full approval.
        Approved => "approved",
        /// Authorisation withdrawn.
        Withdrawn => "withdrawn",
    }
}

categorical! {
    /// An expedited-programme designation.
    pub enum Designation {
        /// FDA Regenerative Medicine Advanced Therapy.
        Rmat => "rmat",
        /// FDA Fast Track.
        FastTrack => "fast_track",
        /// FDA Breakthrough Therapy.
        Breakthrough => "breakthrough",
        /// Orphan designation.
        Orphan => "orphan",
        /// EMA PRIME.
        Prime => "prime",
        /// Japan SAKIGAKE.
        Sakigake => "sakigake",
        /// EMA ATMP certification for SMEs.
        AtmpCertificationSme => "atmp_certification_sme",
    }
}

categorical! {
    /// What became of a conditional (time-limited) marketing approval.
    pub enum ConditionalApprovalOutcome {
        /// The program never held a conditional approval.
        None => "none",
        /// Conditionally approved; the confirmatory obligations are still open.
        Pending => "pending",
        /// Converted to a full approval.
        Converted => "converted",
        /// Not converted: full approval refused or the conditional approval expired (HeartSheet, 2024).
        NotConverted => "not_converted",
    }
}

categorical! {
    /// Readiness of the CMC (quality module) documentation, least to most.
    pub enum CmcDocumentation {
        /// None.
        None => "none",
        /// Draft Module 3.
        DraftModule3 => "draft_module3",
        /// Complete for an IND/CTA.
        CompleteForIndCta => "complete_for_ind_cta",
        /// Complete for a BLA/MAA.
        CompleteForBlaMaa => "complete_for_bla_maa",
    }
}

categorical! {
    /// How well the answers in a section are supported; it sets the confidence of the factors
    /// scored from that section (research §9.6).
    pub enum EvidenceLevel {
        /// Stated by the sponsor without documents.
        Claimed => "claimed",
        /// Backed by the sponsor's documents.
        Documented => "documented",
        /// Checked by an independent party (regulator, auditor, publication).
        IndependentlyVerified => "independently_verified",
    }
}

categorical! {
    /// What kind of record a source is, most to least authoritative for a regulatory fact.
    pub enum SourceKind {
        /// A regulator's decision, assessment report or register.
        Regulator => "regulator",
        /// A trial registry record.
        Registry => "registry",
        /// A peer-reviewed paper.
        PeerReviewed => "peer_reviewed",
        /// A conference abstract or preprint.
        ConferenceOrPreprint => "conference_or_preprint",
        /// The sponsor's own statement (press release, filing, slides).
        Sponsor => "sponsor",
        /// Anything else (press, encyclopaedia).
        Other => "other",
    }
}

/// Where a fact comes from. Sources are shown back in the assessment; they change no score.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// The citation, e.g. "Muroi K et al., Int J Hematol 2016".
    #[schema(example = "Muroi K et al., Int J Hematol 2016;103(2):243-250")]
    pub citation: Option<Label>,
    /// A DOI, PMID, registry id or URL.
    #[schema(example = "doi:10.1007/s12185-015-1915-9")]
    pub identifier: Option<Label>,
    /// What kind of record it is.
    pub kind: Option<SourceKind>,
    /// The date on which the record showed the fact (YYYY-MM-DD).
    #[schema(example = "2016-02-01")]
    pub as_of: Option<NaiveDate>,
}

/// A complete program profile. Every section and field is optional: omitted or `null` means
/// unknown. Unknown fields are rejected, so a misspelt name cannot silently drop information.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "profile_version": "1",
    "program": {"name": "Disc MSC-HA", "indication": "intervertebral_disc_degeneration", "stage": "phase2"},
    "delivery": {"route": "intradiscal", "carrier": "hyaluronic_acid"}
}))]
pub struct Profile {
    /// Input schema version; omitted means "1". Both versions are accepted; version 1's summary
    /// fields (marked "Version 1") are converted to version 2's trials and jurisdictions before
    /// scoring, in either version (see `docs/scoring-model.md`, "Profile versions").
    pub profile_version: Option<ProfileVersion>,
    /// Program and indication (research §6.1).
    pub program: Option<ProgramSection>,
    /// Cell source and donor (§6.2).
    pub cell_source: Option<CellSourceSection>,
    /// Manufacturing process (§6.3).
    pub manufacturing: Option<ManufacturingSection>,
    /// Quality control and potency (§6.4).
    pub quality: Option<QualitySection>,
    /// Formulation, storage and logistics (§6.5).
    pub formulation: Option<FormulationSection>,
    /// Delivery (§6.6).
    pub delivery: Option<DeliverySection>,
    /// Nonclinical evidence (§6.7).
    pub nonclinical: Option<NonclinicalSection>,
    /// Clinical program and outcome measures (§6.8). Version 1 describes the most advanced
    /// completed or planned efficacy trial; version 2 lists every trial.
    pub clinical: Option<ClinicalSection>,
    /// Regulatory (§6.9).
    pub regulatory: Option<RegulatorySection>,
}

/// Program and indication.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgramSection {
    /// Program name; shown back, never scored.
    #[schema(example = "Disc MSC-HA")]
    pub name: Option<Label>,
    /// Target indication; selects the indication profile. Unknown uses the generic profile and
    /// makes route fit unknown (worst case).
    pub indication: Option<Indication>,
    /// Indication-specific details.
    pub indication_detail: Option<IndicationDetail>,
    /// Intended mechanisms of action; unknown falls back to the indication profile's defaults.
    #[serde(default, deserialize_with = "super::list_limits::at_most::<20, _, _>")]
    #[schema(max_items = 20)]
    pub intended_mechanism: Option<Vec<Mechanism>>,
    /// Product class.
    pub product_class: Option<ProductClass>,
    /// Most advanced development stage started.
    pub stage: Option<DevelopmentStage>,
    /// Version 2: where these facts come from.
    #[serde(default, deserialize_with = "super::list_limits::at_most::<20, _, _>")]
    #[schema(max_items = 20)]
    pub sources: Option<Vec<Source>>,
}

/// Indication-specific details.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IndicationDetail {
    /// Disc only: Pfirrmann grade of the treated discs. Grade III or worse (or unknown) makes the
    /// disc microenvironment "severe" (research §9.10).
    pub pfirrmann_grade: Option<PfirrmannGrade>,
    /// Knee osteoarthritis only: Kellgren-Lawrence grade of the treated knees (the highest
    /// enrolled). Below grade 4 the joint is "moderate"; grade 4 or unknown is "high".
    pub kellgren_lawrence_grade: Option<KellgrenLawrenceGrade>,
    /// Critical limb ischaemia only: Rutherford category of the treated limbs (the highest
    /// enrolled). Categories 4-5 are "high"; 6 or unknown is "severe".
    pub rutherford_category: Option<RutherfordCategory>,
    /// Myocardial infarction, stroke and spinal cord injury: days from onset to the first dose
    /// (the earliest the protocol allows). The acute window (or unknown) is the most hostile.
    pub days_since_onset: Option<DaysSinceOnset>,
    /// Version 2: whether the indication mixes aetiologies (e.g. ischaemic and non-ischaemic heart
    /// failure, or traumatic and non-traumatic injury) in one population.
    pub mixed_aetiology: Option<bool>,
}

/// Cell source and donor.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CellSourceSection {
    /// Tissue source.
    pub tissue_source: Option<TissueSource>,
    /// Donor type.
    pub donor_type: Option<DonorType>,
    /// Donor age in years (for autologous products, the patients' typical age).
    #[schema(example = 28)]
    pub donor_age_years: Option<AgeYears>,
    /// Cell banking system.
    pub cell_bank: Option<CellBank>,
    /// HLA matching of allogeneic cells.
    pub hla_matching: Option<HlaMatching>,
    /// Version 2: the donor-eligibility determination (allogeneic cells; SF8).
    pub donor_eligibility: Option<DonorEligibility>,
    /// How well this section's answers are supported.
    pub evidence_level: Option<EvidenceLevel>,
    /// Version 2: where these facts come from.
    #[serde(default, deserialize_with = "super::list_limits::at_most::<20, _, _>")]
    #[schema(max_items = 20)]
    pub sources: Option<Vec<Source>>,
}

/// Manufacturing process.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManufacturingSection {
    /// Culture medium supplement.
    pub culture_media: Option<CultureMedia>,
    /// Expansion format.
    pub culture_format: Option<CultureFormat>,
    /// Oxygen tension during expansion.
    pub culture_oxygen: Option<CultureOxygen>,
    /// Growth surface. Recorded, not scored since model 2.0: the reproducibility claim for
    /// synthetic substrates (VA-17) is the seed's alone, and the factor that read it (VA6) now
    /// measures comparability across process changes.
    pub substrate: Option<Substrate>,
    /// Passage number at release.
    #[schema(example = 4)]
    pub passage_at_release: Option<Passage>,
    /// Preconditioning steps; an empty list means none.
    #[serde(default, deserialize_with = "super::list_limits::at_most::<20, _, _>")]
    #[schema(max_items = 20)]
    pub preconditioning: Option<Vec<Preconditioning>>,
    /// Genetic modification.
    pub genetic_modification: Option<GeneticModification>,
    /// GMP status.
    pub gmp_status: Option<GmpStatus>,
    /// Lot-to-lot consistency data.
    pub lot_consistency: Option<LotConsistency>,
    /// Cells produced per lot (target lot size).
    #[schema(example = 1.2e9)]
    pub cells_per_lot: Option<CellCount>,
    /// Doses filled from one lot; with `delivery.dose_cells` it gives the cells a lot must yield
    /// when `cells_per_lot` is not given.
    pub doses_per_lot: Option<DoseCount>,
    /// Litres of culture medium used per dose (the model prices it at the seed's $500-1,000/L).
    pub media_liters_per_dose: Option<Litres>,
    /// Estimated cost of goods per dose in USD; used instead of the media estimate when given.
    pub estimated_cogs_per_dose_usd: Option<Usd>,
    /// How closed and automated the process is.
    pub automation_level: Option<AutomationLevel>,
    /// Version 2: changes since the clinical lots and their comparability (VA6).
    pub process_changes: Option<ProcessChanges>,
    /// Version 2: share of lots or autologous harvests that fail to meet release criteria, %.
    pub manufacturing_failure_rate_pct: Option<Percent>,
    /// How well this section's answers are supported.
    pub evidence_level: Option<EvidenceLevel>,
    /// Version 2: where these facts come from.
    #[serde(default, deserialize_with = "super::list_limits::at_most::<20, _, _>")]
    #[schema(max_items = 20)]
    pub sources: Option<Vec<Source>>,
}

/// Genetic modification of the cells.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GeneticModification {
    /// How the cells are modified; `none` makes the genetic-modification risk factor not applicable.
    pub kind: Option<ModificationKind>,
    /// Genes targeted.
    #[serde(default, deserialize_with = "super::list_limits::at_most::<20, _, _>")]
    #[schema(max_items = 20)]
    pub targets: Option<Vec<GeneTarget>>,
    /// Conditional elimination switch.
    pub safety_switch: Option<SafetySwitch>,
    /// Whether off-target editing was analysed.
    pub off_target_analysis: Option<bool>,
    /// Whether vector integration sites were analysed.
    pub integration_site_analysis: Option<bool>,
}

/// Lot-to-lot consistency data.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LotConsistency {
    /// Number of lots characterised, including potency.
    pub lots_characterised: Option<LotCount>,
    /// Whether the potency coefficient of variation across those lots is within a prespecified limit.
    pub potency_cv_within_limit: Option<bool>,
}

/// Quality control and potency.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QualitySection {
    /// Whether the ISCT identity panel (CD73/CD90/CD105+, haematopoietic markers−, trilineage) is run.
    pub isct_identity_testing: Option<bool>,
    /// Lot-release specification.
    pub release_criteria: Option<ReleaseCriteria>,
    /// Viability at release, %.
    #[schema(example = 92)]
    pub viability_at_release_pct: Option<Percent>,
    /// Viability after thawing, %; used instead of release viability for frozen products.
    pub post_thaw_viability_pct: Option<Percent>,
    /// Potency assays; an empty list means none.
    #[serde(default, deserialize_with = "super::list_limits::at_most::<20, _, _>")]
    #[schema(max_items = 20)]
    pub potency_assays: Option<Vec<PotencyAssay>>,
    /// Version 2: a regulator accepted a release specification (by approving the product or
    /// authorising a trial), details not public.
    pub release_specification_accepted_by_regulator: Option<bool>,
    /// Version 2: tissue factor and blood compatibility (intravascular routes; SF9).
    pub hemocompatibility: Option<Hemocompatibility>,
    /// How well this section's answers are supported.
    pub evidence_level: Option<EvidenceLevel>,
    /// Version 2: where these facts come from.
    #[serde(default, deserialize_with = "super::list_limits::at_most::<20, _, _>")]
    #[schema(max_items = 20)]
    pub sources: Option<Vec<Source>>,
}

/// The lot-release specification. Each item: `true` in the specification, `false` not, omitted unknown.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseCriteria {
    /// Minimum viability for release, %; at least 70 % meets the seed's release criterion.
    pub viability_min_pct: Option<Percent>,
    /// Sterility.
    pub sterility: Option<bool>,
    /// Endotoxin.
    pub endotoxin: Option<bool>,
    /// Mycoplasma.
    pub mycoplasma: Option<bool>,
    /// Identity (ISCT markers).
    pub identity: Option<bool>,
    /// Karyotype.
    pub karyotype: Option<bool>,
    /// Potency.
    pub potency: Option<bool>,
}

/// A potency assay.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PotencyAssay {
    /// What it measures; it is MoA-linked when the analyte is a marker of an intended mechanism.
    pub analyte: Option<PotencyAnalyte>,
    /// Whether the readout is quantitative.
    pub quantitative: Option<bool>,
    /// Maturity of the assay; unknown counts as exploratory.
    pub stage: Option<AssayStage>,
    /// Whether it is a lot-release test.
    pub used_for_lot_release: Option<bool>,
    /// The acceptance criterion for lot release.
    #[schema(example = "IDO activity >= 30 pg kynurenine per 10^3 cells")]
    pub acceptance_criterion: Option<Label>,
    /// Version 2: whether the assay measures a stated mechanism of action, whatever the analyte
    /// (an assay matrix counts); omitted, the analyte decides.
    pub mechanism_linked: Option<bool>,
    /// Version 2: whether its readout has been shown to correlate with clinical activity.
    pub correlated_with_clinical_activity: Option<bool>,
    /// Version 2: whether it was run on the clinical lots and the commercial lots alike, so that
    /// it bridges them.
    pub bridges_clinical_and_commercial_lots: Option<bool>,
    /// Version 2: whether it is run on thawed product, as the patient receives it.
    pub tested_after_thaw: Option<bool>,
}

/// Formulation, storage and logistics.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FormulationSection {
    /// How the product is supplied.
    pub presentation: Option<Presentation>,
    /// Whether stability (including post-thaw viability) is validated over the claimed shelf life.
    pub stability_data: Option<bool>,
    /// Version 2: shelf life from release (or thaw, for products thawed at the site), days.
    pub shelf_life_days: Option<Days>,
    /// How well this section's answers are supported.
    pub evidence_level: Option<EvidenceLevel>,
    /// Version 2: where these facts come from.
    #[serde(default, deserialize_with = "super::list_limits::at_most::<20, _, _>")]
    #[schema(max_items = 20)]
    pub sources: Option<Vec<Source>>,
}

/// Delivery.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliverySection {
    /// Delivery route.
    pub route: Option<Route>,
    /// Carrier; ignored for systemic routes.
    pub carrier: Option<Carrier>,
    /// Retention adjuncts; an empty list means none.
    #[serde(default, deserialize_with = "super::list_limits::at_most::<20, _, _>")]
    #[schema(max_items = 20)]
    pub retention_adjuncts: Option<Vec<RetentionAdjunct>>,
    /// Cells per dose.
    #[schema(example = 6e6)]
    pub dose_cells: Option<CellCount>,
    /// Doses per patient.
    pub n_doses: Option<DoseCount>,
    /// Injection volume, mL.
    pub injection_volume_ml: Option<Millilitres>,
    /// How the dose was chosen.
    pub dose_rationale: Option<DoseRationale>,
    /// Intradiscal procedure precautions; an empty list means none.
    #[serde(default, deserialize_with = "super::list_limits::at_most::<20, _, _>")]
    #[schema(max_items = 20)]
    pub procedure_safety_measures: Option<Vec<ProcedureSafetyMeasure>>,
    /// Version 2: dose per kilogram of body weight.
    #[schema(example = 2e6)]
    pub dose_cells_per_kg: Option<CellsPerKg>,
    /// Version 2: dose per square centimetre of lesion.
    pub dose_cells_per_cm2: Option<CellsPerCm2>,
    /// Version 2: days between doses, for repeated dosing.
    pub dosing_interval_days: Option<Days>,
    /// How well this section's answers are supported.
    pub evidence_level: Option<EvidenceLevel>,
    /// Version 2: where these facts come from.
    #[serde(default, deserialize_with = "super::list_limits::at_most::<20, _, _>")]
    #[schema(max_items = 20)]
    pub sources: Option<Vec<Source>>,
}

/// Nonclinical evidence.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NonclinicalSection {
    /// Efficacy models used; an empty list means none.
    #[serde(default, deserialize_with = "super::list_limits::at_most::<20, _, _>")]
    #[schema(max_items = 20)]
    pub animal_models: Option<Vec<AnimalModel>>,
    /// Strongest evidence of survival in target-like conditions.
    pub survival_evidence: Option<SurvivalEvidence>,
    /// Strongest biodistribution / retention evidence with the clinical route.
    pub biodistribution_evidence: Option<BiodistributionEvidence>,
    /// Genetic-stability tests; an empty list means none.
    #[serde(default, deserialize_with = "super::list_limits::at_most::<20, _, _>")]
    #[schema(max_items = 20)]
    pub genetic_stability_tests: Option<Vec<GeneticStabilityTest>>,
    /// Strongest tumorigenicity study.
    pub tumorigenicity_study: Option<TumorigenicityStudy>,
    /// Whether GLP toxicology and biodistribution studies are done.
    pub glp_tox_biodistribution: Option<bool>,
    /// Version 2: a regulator accepted the nonclinical package (by authorising a trial or
    /// approving the product), details not public.
    pub package_accepted_by_regulator: Option<bool>,
    /// How well this section's answers are supported.
    pub evidence_level: Option<EvidenceLevel>,
    /// Version 2: where these facts come from.
    #[serde(default, deserialize_with = "super::list_limits::at_most::<20, _, _>")]
    #[schema(max_items = 20)]
    pub sources: Option<Vec<Source>>,
}

/// An animal efficacy model. Unknown properties count as absent.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnimalModel {
    /// How well the model reflects the human disease.
    pub disease_relevance: Option<DiseaseRelevance>,
    /// Whether the animals are aged or comorbid.
    pub aged_or_comorbid: Option<bool>,
    /// Whether it is a large-animal model.
    pub large_animal: Option<bool>,
    /// Whether the route matches the clinical route.
    pub route_matches_clinical: Option<bool>,
}

/// Clinical program and outcome measures of the most advanced completed or planned efficacy trial.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClinicalSection {
    /// Version 2: every trial of the program, completed, running or planned; an empty list means
    /// none. Replaces version 1's `completed_phase`, `mcid_prespecified`, `sample_size_powered`,
    /// `control_arm`, `blinding`, `efficacy_follow_up_months` and `pivotal_result`.
    #[serde(default, deserialize_with = "super::list_limits::at_most::<50, _, _>")]
    #[schema(max_items = 50)]
    pub trials: Option<Vec<Trial>>,
    /// Version 1: last completed clinical phase.
    pub completed_phase: Option<TrialPhase>,
    /// Outcome measures; an empty list means none. Up to 60: more than the 52 endpoint values
    /// the schema names, so a program may list every one.
    #[serde(default, deserialize_with = "super::list_limits::at_most::<60, _, _>")]
    #[schema(max_items = 60)]
    pub proms: Option<Vec<Prom>>,
    /// Structural or mechanistic endpoints; an empty list means none.
    #[serde(default, deserialize_with = "super::list_limits::at_most::<20, _, _>")]
    #[schema(max_items = 20)]
    pub structural_endpoints: Option<Vec<StructuralEndpoint>>,
    /// Version 1: whether a minimal clinically important difference / responder definition is prespecified.
    pub mcid_prespecified: Option<bool>,
    /// Version 1: whether the sample size is powered for the primary endpoint.
    pub sample_size_powered: Option<bool>,
    /// Version 1: control arm.
    pub control_arm: Option<ControlArm>,
    /// Version 1: blinding.
    pub blinding: Option<Blinding>,
    /// Responder enrichment.
    pub patient_selection: Option<PatientSelection>,
    /// Version 1: efficacy follow-up, months.
    #[schema(example = 24)]
    pub efficacy_follow_up_months: Option<Months>,
    /// Planned or running long-term safety follow-up, years.
    pub ltfu_safety_years: Option<Years>,
    /// Immunogenicity monitoring; an empty list means none.
    #[serde(default, deserialize_with = "super::list_limits::at_most::<20, _, _>")]
    #[schema(max_items = 20)]
    pub immunogenicity_monitoring: Option<Vec<ImmunogenicityMonitoring>>,
    /// Version 1: result of the pivotal trial.
    pub pivotal_result: Option<PivotalResult>,
    /// Whether post-marketing pharmacovigilance (adverse-event surveillance of treated patients)
    /// is in place; read by the MSC-TRL 9 gate, not scored.
    pub pharmacovigilance: Option<bool>,
    /// Version 2: whether long-term safety follow-up of treated patients is in place, when its
    /// duration is not stated.
    pub long_term_follow_up_in_place: Option<bool>,
    /// How well this section's answers are supported.
    pub evidence_level: Option<EvidenceLevel>,
    /// Version 2: where these facts come from.
    #[serde(default, deserialize_with = "super::list_limits::at_most::<20, _, _>")]
    #[schema(max_items = 20)]
    pub sources: Option<Vec<Source>>,
}

/// Regulatory.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegulatorySection {
    /// Version 2: the program's history with each regulator. Replaces version 1's
    /// `target_regulators`, `interactions`, `status`, `designations` and `conditional_approval`.
    #[serde(default, deserialize_with = "super::list_limits::at_most::<20, _, _>")]
    #[schema(max_items = 20)]
    pub jurisdictions: Option<Vec<Jurisdiction>>,
    /// Version 1: regulators targeted.
    #[serde(default, deserialize_with = "super::list_limits::at_most::<20, _, _>")]
    #[schema(max_items = 20)]
    pub target_regulators: Option<Vec<Regulator>>,
    /// Classification status.
    pub classification_status: Option<ClassificationStatus>,
    /// Version 1: interactions held; an empty list means none.
    #[serde(default, deserialize_with = "super::list_limits::at_most::<20, _, _>")]
    #[schema(max_items = 20)]
    pub interactions: Option<Vec<RegulatoryInteraction>>,
    /// Version 1: furthest regulatory status.
    pub status: Option<RegulatoryStatus>,
    /// Version 1: designations held; an empty list means none.
    #[serde(default, deserialize_with = "super::list_limits::at_most::<20, _, _>")]
    #[schema(max_items = 20)]
    pub designations: Option<Vec<Designation>>,
    /// CMC documentation readiness.
    pub cmc_documentation: Option<CmcDocumentation>,
    /// Version 1: what became of a conditional approval (`none` if there never was one); read by the
    /// MSC-TRL gates and regression rules, not scored.
    pub conditional_approval: Option<ConditionalApprovalOutcome>,
    /// Whether a reimbursement / market-access plan exists; read by the MSC-TRL 9 gate, not scored.
    pub market_access_plan: Option<bool>,
    /// How well this section's answers are supported.
    pub evidence_level: Option<EvidenceLevel>,
    /// Version 2: where these facts come from.
    #[serde(default, deserialize_with = "super::list_limits::at_most::<20, _, _>")]
    #[schema(max_items = 20)]
    pub sources: Option<Vec<Source>>,
}

/// One reason a profile was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", if field.is_empty() { "profile" } else { field.as_str() })]
pub struct ProfileError {
    /// Path of the offending field, e.g. `delivery.route` or `quality.potency_assays[0].stage`;
    /// empty for the document as a whole.
    pub field: String,
    /// What is wrong, in plain words, naming the allowed values or range.
    pub message: String,
}

/// Every reason a profile was rejected (at least one), in the order the fields are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileErrors(pub Vec<ProfileError>);

impl std::fmt::Display for ProfileErrors {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count = self.0.len();
        if count != 1 {
            write!(formatter, "{count} invalid fields: ")?;
        }
        for (position, error) in self.0.iter().enumerate() {
            if position > 0 {
                formatter.write_str("; ")?;
            }
            write!(formatter, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ProfileErrors {}

/// Parses a JSON profile, rejecting unknown fields and out-of-range values: every invalid field
/// at once (up to [`super::parse_errors::MAX_ERRORS`]), each with its path and a plain-words reason.
pub fn parse_profile(json: &[u8]) -> Result<Profile, ProfileErrors> {
    let document: serde_json::Value = serde_json::from_slice(json).map_err(|error| {
        ProfileErrors(vec![ProfileError {
            field: String::new(),
            message: format!("not valid JSON: {error}"),
        }])
    })?;
    parse_errors::deserialize_all(&document).map_err(|mut errors| {
        parse_errors::sort_in_document_order(&mut errors, json);
        ProfileErrors(
            errors
                .into_iter()
                .map(|error| ProfileError { field: error.field, message: error.message })
                .collect(),
        )
    })
}

/// The categorical values of a profile that are stored as typed columns, as their wire names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProfileSummary {
    /// `program.indication`.
    pub indication: Option<&'static str>,
    /// `program.stage`.
    pub stage: Option<&'static str>,
    /// `cell_source.tissue_source`.
    pub tissue_source: Option<&'static str>,
    /// `delivery.route`.
    pub route: Option<&'static str>,
}

impl Profile {
    /// The categorical values stored as typed columns.
    pub fn summary(&self) -> ProfileSummary {
        let program = self.program.as_ref();
        ProfileSummary {
            indication: program.and_then(|p| p.indication).map(Indication::as_str),
            stage: program.and_then(|p| p.stage).map(DevelopmentStage::as_str),
            tissue_source: self.cell_source.as_ref().and_then(|c| c.tissue_source).map(TissueSource::as_str),
            route: self.delivery.as_ref().and_then(|d| d.route).map(Route::as_str),
        }
    }
}
