//! Generates arbitrary valid profiles from a vector of random numbers, so that proptest can
//! explore (and shrink) the whole input space: every field is unknown about one time in five.

use crate::scoring::Label;
use crate::scoring::profile::*;

/// Draws values from a list of random numbers, one per decision.
pub(super) struct Draws<'a> {
    values: &'a [u32],
    next: usize,
}

impl Draws<'_> {
    fn draw(&mut self) -> u32 {
        let value = self.values[self.next % self.values.len()].rotate_left(self.next as u32);
        self.next += 1;
        value
    }

    fn known(&mut self) -> Option<u32> {
        let value = self.draw();
        (!value.is_multiple_of(5)).then_some(value / 5)
    }

    fn one<T: Copy>(&mut self, all: &[T]) -> Option<T> {
        self.known().map(|value| all[value as usize % all.len()])
    }

    fn some<T: Copy>(&mut self, all: &[T]) -> Option<Vec<T>> {
        self.known().map(|bits| {
            all.iter()
                .enumerate()
                .filter(|(i, _)| bits & (1 << (i % 32)) != 0 && bits.count_ones() % 3 != 0)
                .map(|(_, value)| *value)
                .collect()
        })
    }

    fn flag(&mut self) -> Option<bool> {
        self.known().map(|value| value % 2 == 0)
    }

    fn number<T: TryFrom<f64>>(&mut self, min: f64, max: f64) -> Option<T> {
        self.known().and_then(|value| {
            let share = f64::from(value % 1001) / 1000.0;
            T::try_from((min + share * (max - min)).round()).ok()
        })
    }

    /// A number spread evenly over orders of magnitude (cell counts).
    fn magnitude<T: TryFrom<f64>>(&mut self, min: f64, max: f64) -> Option<T> {
        self.known().and_then(|value| {
            let share = f64::from(value % 1001) / 1000.0;
            T::try_from((min.ln() + share * (max.ln() - min.ln())).exp().round()).ok()
        })
    }

    fn section<T>(&mut self, make: impl FnOnce(&mut Self) -> T) -> Option<T> {
        if self.draw().is_multiple_of(12) { None } else { Some(make(self)) }
    }
}

/// A profile built from random numbers.
pub(super) fn profile(values: &[u32]) -> Profile {
    let d = &mut Draws { values, next: 0 };
    Profile {
        profile_version: d.one(&[ProfileVersion::V1]),
        program: d.section(|d| ProgramSection {
            name: None,
            indication: d.one(Indication::ALL),
            indication_detail: Some(IndicationDetail {
                pfirrmann_grade: d.number(1.0, 5.0),
                kellgren_lawrence_grade: d.number(0.0, 4.0),
                rutherford_category: d.number(0.0, 6.0),
                days_since_onset: d.number(0.0, 36500.0),
                mixed_aetiology: None,
            }),
            intended_mechanism: d.some(Mechanism::ALL),
            product_class: d.one(ProductClass::ALL),
            stage: d.one(DevelopmentStage::ALL),
            ..Default::default()
        }),
        cell_source: d.section(|d| CellSourceSection {
            tissue_source: d.one(TissueSource::ALL),
            donor_type: d.one(DonorType::ALL),
            donor_age_years: d.number(0.0, 90.0),
            cell_bank: d.one(CellBank::ALL),
            hla_matching: d.one(HlaMatching::ALL),
            donor_eligibility: d.one(DonorEligibility::ALL),
            evidence_level: d.one(EvidenceLevel::ALL),
            ..Default::default()
        }),
        manufacturing: d.section(|d| ManufacturingSection {
            culture_media: d.one(CultureMedia::ALL),
            culture_format: d.one(CultureFormat::ALL),
            culture_oxygen: d.one(CultureOxygen::ALL),
            substrate: d.one(Substrate::ALL),
            passage_at_release: d.number(0.0, 20.0),
            preconditioning: d.some(Preconditioning::ALL),
            genetic_modification: d.section(|d| GeneticModification {
                kind: d.one(ModificationKind::ALL),
                targets: d.some(GeneTarget::ALL),
                safety_switch: d.one(SafetySwitch::ALL),
                off_target_analysis: d.flag(),
                integration_site_analysis: d.flag(),
            }),
            gmp_status: d.one(GmpStatus::ALL),
            lot_consistency: d.section(|d| LotConsistency {
                lots_characterised: d.number(0.0, 6.0),
                potency_cv_within_limit: d.flag(),
            }),
            cells_per_lot: d.magnitude(1e6, 1e10),
            doses_per_lot: d.number(1.0, 300.0),
            media_liters_per_dose: d.number(0.0, 100.0),
            estimated_cogs_per_dose_usd: d.number(100.0, 90_000.0),
            automation_level: d.one(AutomationLevel::ALL),
            process_changes: d.one(ProcessChanges::ALL),
            evidence_level: d.one(EvidenceLevel::ALL),
            ..Default::default()
        }),
        quality: d.section(|d| QualitySection {
            isct_identity_testing: d.flag(),
            release_criteria: d.section(|d| ReleaseCriteria {
                viability_min_pct: d.number(50.0, 95.0),
                sterility: d.flag(),
                endotoxin: d.flag(),
                mycoplasma: d.flag(),
                identity: d.flag(),
                karyotype: d.flag(),
                potency: d.flag(),
            }),
            viability_at_release_pct: d.number(50.0, 100.0),
            post_thaw_viability_pct: d.number(50.0, 100.0),
            potency_assays: d.known().map(|count| {
                (0..count % 3)
                    .map(|_| PotencyAssay {
                        analyte: d.one(PotencyAnalyte::ALL),
                        quantitative: d.flag(),
                        stage: d.one(AssayStage::ALL),
                        used_for_lot_release: d.flag(),
                        acceptance_criterion: d
                            .flag()
                            .filter(|set| *set)
                            .and_then(|_| Label::try_from("limit".to_owned()).ok()),
                        ..Default::default()
                    })
                    .collect()
            }),
            hemocompatibility: d.one(Hemocompatibility::ALL),
            evidence_level: d.one(EvidenceLevel::ALL),
            ..Default::default()
        }),
        formulation: d.section(|d| FormulationSection {
            presentation: d.one(Presentation::ALL),
            stability_data: d.flag(),
            evidence_level: d.one(EvidenceLevel::ALL),
            ..Default::default()
        }),
        delivery: d.section(|d| DeliverySection {
            route: d.one(Route::ALL),
            carrier: d.one(Carrier::ALL),
            retention_adjuncts: d.some(RetentionAdjunct::ALL),
            dose_cells: d.magnitude(1e5, 2e9),
            n_doses: d.number(1.0, 10.0),
            injection_volume_ml: d.number(0.0, 10.0),
            dose_rationale: d.one(DoseRationale::ALL),
            procedure_safety_measures: d.some(ProcedureSafetyMeasure::ALL),
            evidence_level: d.one(EvidenceLevel::ALL),
            ..Default::default()
        }),
        nonclinical: d.section(|d| NonclinicalSection {
            animal_models: d.known().map(|count| {
                (0..count % 3)
                    .map(|_| AnimalModel {
                        disease_relevance: d.one(DiseaseRelevance::ALL),
                        aged_or_comorbid: d.flag(),
                        large_animal: d.flag(),
                        route_matches_clinical: d.flag(),
                    })
                    .collect()
            }),
            survival_evidence: d.one(SurvivalEvidence::ALL),
            biodistribution_evidence: d.one(BiodistributionEvidence::ALL),
            genetic_stability_tests: d.some(GeneticStabilityTest::ALL),
            tumorigenicity_study: d.one(TumorigenicityStudy::ALL),
            glp_tox_biodistribution: d.flag(),
            evidence_level: d.one(EvidenceLevel::ALL),
            ..Default::default()
        }),
        clinical: d.section(|d| ClinicalSection {
            completed_phase: d.one(TrialPhase::ALL),
            proms: d.some(Prom::ALL),
            structural_endpoints: d.some(StructuralEndpoint::ALL),
            mcid_prespecified: d.flag(),
            sample_size_powered: d.flag(),
            control_arm: d.one(ControlArm::ALL),
            blinding: d.one(Blinding::ALL),
            patient_selection: d.one(PatientSelection::ALL),
            efficacy_follow_up_months: d.number(0.0, 48.0),
            ltfu_safety_years: d.number(0.0, 8.0),
            immunogenicity_monitoring: d.some(ImmunogenicityMonitoring::ALL),
            pivotal_result: d.one(PivotalResult::ALL),
            pharmacovigilance: d.flag(),
            evidence_level: d.one(EvidenceLevel::ALL),
            ..Default::default()
        }),
        regulatory: d.section(|d| RegulatorySection {
            target_regulators: d.some(Regulator::ALL),
            classification_status: d.one(ClassificationStatus::ALL),
            interactions: d.some(RegulatoryInteraction::ALL),
            status: d.one(RegulatoryStatus::ALL),
            designations: d.some(Designation::ALL),
            cmc_documentation: d.one(CmcDocumentation::ALL),
            conditional_approval: d.one(ConditionalApprovalOutcome::ALL),
            market_access_plan: d.flag(),
            evidence_level: d.one(EvidenceLevel::ALL),
            ..Default::default()
        }),
    }
}
