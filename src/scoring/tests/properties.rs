//! Properties over generated profiles: bounds and exact line sums, determinism, monotonicity of
//! every ordinal input, and unknown-never-beats-honest for every critical factor.

use proptest::prelude::*;

use super::generator;
use super::tenths;
use crate::scoring::engine::Scores;
use crate::scoring::facts::Facts;
use crate::scoring::profile::*;
use crate::scoring::{Barrier, FactorCode, Label, Model, Profile};

const CASES: u32 = 256;
const DRAWS: usize = 160;

fn draws() -> impl Strategy<Value = Vec<u32>> {
    prop::collection::vec(any::<u32>(), DRAWS)
}

fn scores(profile: &Profile) -> Scores<'static> {
    Scores::compute(Model::current(), &Facts::from_profile(profile))
}

fn count(value: f64) -> LotCount {
    LotCount::try_from(value).expect("valid count")
}

/// One ordinal input and its values from worst to best; `set` writes value `step` into a profile.
struct Ladder {
    input: &'static str,
    steps: usize,
    set: fn(&mut Profile, usize),
}

fn program(p: &mut Profile) -> &mut ProgramSection {
    p.program.get_or_insert_with(Default::default)
}
fn cell_source(p: &mut Profile) -> &mut CellSourceSection {
    p.cell_source.get_or_insert_with(Default::default)
}
fn manufacturing(p: &mut Profile) -> &mut ManufacturingSection {
    p.manufacturing.get_or_insert_with(Default::default)
}
fn quality(p: &mut Profile) -> &mut QualitySection {
    p.quality.get_or_insert_with(Default::default)
}
fn release(p: &mut Profile) -> &mut ReleaseCriteria {
    quality(p).release_criteria.get_or_insert_with(Default::default)
}
fn formulation(p: &mut Profile) -> &mut FormulationSection {
    p.formulation.get_or_insert_with(Default::default)
}
fn delivery(p: &mut Profile) -> &mut DeliverySection {
    p.delivery.get_or_insert_with(Default::default)
}
fn nonclinical(p: &mut Profile) -> &mut NonclinicalSection {
    p.nonclinical.get_or_insert_with(Default::default)
}
fn clinical(p: &mut Profile) -> &mut ClinicalSection {
    p.clinical.get_or_insert_with(Default::default)
}
fn regulatory(p: &mut Profile) -> &mut RegulatorySection {
    p.regulatory.get_or_insert_with(Default::default)
}
fn modification(p: &mut Profile) -> &mut GeneticModification {
    manufacturing(p).genetic_modification.get_or_insert_with(Default::default)
}
fn real<T: TryFrom<f64>>(value: f64) -> Option<T> {
    T::try_from(value).ok()
}

fn assay(analyte: PotencyAnalyte, quantitative: bool, stage: AssayStage, release: bool) -> PotencyAssay {
    PotencyAssay {
        analyte: Some(analyte),
        quantitative: Some(quantitative),
        stage: Some(stage),
        used_for_lot_release: Some(release),
        acceptance_criterion: release.then(|| Label::try_from("limit".to_owned()).expect("label")),
        ..Default::default()
    }
}

macro_rules! ladder {
    ($input:literal, [$($value:expr),+ $(,)?], |$p:ident, $v:ident| $set:expr) => {
        Ladder {
            input: $input,
            steps: [$(stringify!($value)),+].len(),
            set: |$p, step| {
                let $v = [$($value),+][step].clone();
                $set;
            },
        }
    };
}

/// Every ordinal input (research: "improving any single ordinal input"). Inputs that are
/// trade-offs by design are left out: cytokine priming (immunogenicity, SF-11), the donor type
/// (allogeneic consistency versus immunogenicity), genetic modification (homing versus safety),
/// cryopreservation (shelf life versus cold-chain cost, MF-06) and the route (categorical). The
/// completed phase is left out since model 2.0: completing an efficacy trial without stating its
/// result makes that result a critical unknown of OM8, counted at its worst, by design.
fn ladders() -> Vec<Ladder> {
    use Preconditioning as P;
    vec![
        // Preconditioning steps add up: swapping one for another is not an improvement (with
        // physioxic culture hypoxia is already there, and a swap would drop the spheroids).
        ladder!(
            "preconditioning",
            [
                vec![],
                vec![P::Mechanical],
                vec![P::Mechanical, P::Spheroid3d],
                vec![P::Mechanical, P::Spheroid3d, P::Hypoxia]
            ],
            |p, v| manufacturing(p).preconditioning = Some(v)
        ),
        ladder!("hypoxic_preconditioning", [vec![], vec![P::Hypoxia]], |p, v| manufacturing(p)
            .preconditioning = Some(v)),
        ladder!("culture_oxygen", [CultureOxygen::Normoxic21pct, CultureOxygen::Physioxic25pct], |p, v| {
            manufacturing(p).culture_oxygen = Some(v)
        }),
        ladder!(
            "culture_media",
            [
                CultureMedia::Fbs,
                CultureMedia::HumanSerumAutologous,
                CultureMedia::HumanPlateletLysate,
                CultureMedia::SerumFreeXenoFreeDefined
            ],
            |p, v| manufacturing(p).culture_media = Some(v)
        ),
        ladder!(
            "culture_format",
            [
                CultureFormat::Flask2d,
                CultureFormat::MultilayerFlaskCellFactory,
                CultureFormat::MicrocarrierBioreactor,
                CultureFormat::HollowFiberOrFixedBedClosed
            ],
            |p, v| manufacturing(p).culture_format = Some(v)
        ),
        ladder!("passage_at_release", [15.0, 8.0, 4.0], |p, v| {
            manufacturing(p).passage_at_release = real(v)
        }),
        ladder!("donor_age_years", [70.0, 50.0, 30.0], |p, v| cell_source(p).donor_age_years = real(v)),
        ladder!(
            "cell_bank",
            [CellBank::None, CellBank::ResearchBank, CellBank::GmpMasterAndWorkingBank],
            |p, v| cell_source(p).cell_bank = Some(v)
        ),
        ladder!("hla_matching", [HlaMatching::None, HlaMatching::Partial, HlaMatching::Full], |p, v| {
            cell_source(p).hla_matching = Some(v)
        }),
        ladder!(
            "gmp_status",
            [
                GmpStatus::ResearchGrade,
                GmpStatus::GmpInDevelopment,
                GmpStatus::GmpClinicalLots,
                GmpStatus::GmpProcessValidatedPpq,
                GmpStatus::Commercial
            ],
            |p, v| manufacturing(p).gmp_status = Some(v)
        ),
        ladder!(
            "automation_level",
            [
                AutomationLevel::ManualOpen,
                AutomationLevel::PartiallyClosed,
                AutomationLevel::ClosedAutomated,
                AutomationLevel::ClosedAutomatedWithInlineAnalytics
            ],
            |p, v| manufacturing(p).automation_level = Some(v)
        ),
        ladder!(
            "process_changes",
            [
                ProcessChanges::ChangedComparabilityNotShown,
                ProcessChanges::ChangedComparabilityPending,
                ProcessChanges::ChangedComparabilityShown,
                ProcessChanges::UnchangedSinceClinicalLots
            ],
            |p, v| manufacturing(p).process_changes = Some(v)
        ),
        ladder!(
            "donor_eligibility",
            [
                DonorEligibility::NotDetermined,
                DonorEligibility::ScreenedOnly,
                DonorEligibility::ScreenedAndTested,
                DonorEligibility::ScreenedTestedAndBankTested
            ],
            |p, v| cell_source(p).donor_eligibility = Some(v)
        ),
        ladder!(
            "hemocompatibility",
            [
                Hemocompatibility::NotAssessed,
                Hemocompatibility::TissueFactorMeasured,
                Hemocompatibility::TissueFactorControlled
            ],
            |p, v| quality(p).hemocompatibility = Some(v)
        ),
        ladder!("lot_consistency", [(0.0, false), (2.0, false), (3.0, false), (3.0, true)], |p, v| {
            manufacturing(p).lot_consistency = Some(LotConsistency {
                lots_characterised: Some(count(v.0)),
                potency_cv_within_limit: Some(v.1),
            })
        }),
        ladder!("estimated_cogs_per_dose_usd", [80_000.0, 30_000.0, 10_000.0, 1_000.0], |p, v| {
            manufacturing(p).estimated_cogs_per_dose_usd = real(v)
        }),
        ladder!("media_liters_per_dose", [100.0, 30.0, 10.0, 1.0], |p, v| {
            manufacturing(p).media_liters_per_dose = real(v)
        }),
        ladder!("safety_switch", [SafetySwitch::None, SafetySwitch::HsvTk], |p, v| modification(p)
            .safety_switch =
            Some(v)),
        ladder!("off_target_analysis", [false, true], |p, v| modification(p).off_target_analysis = Some(v)),
        ladder!("integration_site_analysis", [false, true], |p, v| {
            modification(p).integration_site_analysis = Some(v)
        }),
        ladder!("viability", [60.0, 75.0, 85.0, 95.0], |p, v| {
            quality(p).viability_at_release_pct = real(v);
            quality(p).post_thaw_viability_pct = real(v)
        }),
        ladder!("release_viability_min_pct", [60.0, 75.0], |p, v| release(p).viability_min_pct = real(v)),
        ladder!("release_sterility", [false, true], |p, v| release(p).sterility = Some(v)),
        ladder!("release_potency", [false, true], |p, v| release(p).potency = Some(v)),
        ladder!("isct_identity_testing", [false, true], |p, v| quality(p).isct_identity_testing = Some(v)),
        ladder!(
            "potency_assays",
            [
                vec![],
                vec![assay(PotencyAnalyte::Other, false, AssayStage::Exploratory, false)],
                vec![assay(PotencyAnalyte::Ido, true, AssayStage::Exploratory, false)],
                vec![assay(PotencyAnalyte::Ido, true, AssayStage::Qualified, false)],
                vec![assay(PotencyAnalyte::Ido, true, AssayStage::Validated, true)],
            ],
            |p, v| {
                program(p).intended_mechanism = Some(vec![Mechanism::Immunomodulation]);
                quality(p).potency_assays = Some(v)
            }
        ),
        ladder!("stability_data", [false, true], |p, v| formulation(p).stability_data = Some(v)),
        ladder!("carrier", [Carrier::NoneSaline, Carrier::Collagen, Carrier::HyaluronicAcid], |p, v| {
            delivery(p).carrier = Some(v)
        }),
        ladder!("retention_adjuncts", [vec![], vec![RetentionAdjunct::SmallGaugeNeedle]], |p, v| delivery(
            p
        )
        .retention_adjuncts =
            Some(v)),
        ladder!(
            "dose_rationale",
            [
                DoseRationale::None,
                DoseRationale::Literature,
                DoseRationale::AllometricScaling,
                DoseRationale::DoseRangingPreclinical,
                DoseRationale::DoseRangingClinical
            ],
            |p, v| delivery(p).dose_rationale = Some(v)
        ),
        ladder!("procedure_safety_measures", [vec![], ProcedureSafetyMeasure::ALL.to_vec()], |p, v| {
            delivery(p).procedure_safety_measures = Some(v)
        }),
        ladder!(
            "survival_evidence",
            [
                SurvivalEvidence::None,
                SurvivalEvidence::InVitroDiseaseMimetic,
                SurvivalEvidence::InVivoTrackingSmallAnimal,
                SurvivalEvidence::InVivoTrackingLargeAnimal,
                SurvivalEvidence::ClinicalImaging
            ],
            |p, v| nonclinical(p).survival_evidence = Some(v)
        ),
        ladder!(
            "biodistribution_evidence",
            [
                BiodistributionEvidence::None,
                BiodistributionEvidence::InVivoTrackingSmallAnimal,
                BiodistributionEvidence::InVivoTrackingLargeAnimal,
                BiodistributionEvidence::ClinicalImaging
            ],
            |p, v| nonclinical(p).biodistribution_evidence = Some(v)
        ),
        ladder!(
            "genetic_stability_tests",
            [
                vec![],
                vec![GeneticStabilityTest::Karyotype],
                vec![GeneticStabilityTest::Karyotype, GeneticStabilityTest::Ngs]
            ],
            |p, v| nonclinical(p).genetic_stability_tests = Some(v)
        ),
        ladder!(
            "tumorigenicity_study",
            [
                TumorigenicityStudy::None,
                TumorigenicityStudy::InVitroSoftAgar,
                TumorigenicityStudy::InVivoImmunodeficientShort,
                TumorigenicityStudy::InVivoImmunodeficientLong
            ],
            |p, v| nonclinical(p).tumorigenicity_study = Some(v)
        ),
        ladder!("glp_tox_biodistribution", [false, true], |p, v| {
            nonclinical(p).glp_tox_biodistribution = Some(v)
        }),
        ladder!(
            "animal_models",
            [
                vec![],
                vec![AnimalModel { disease_relevance: Some(DiseaseRelevance::Low), ..Default::default() }],
                vec![AnimalModel {
                    disease_relevance: Some(DiseaseRelevance::High),
                    route_matches_clinical: Some(true),
                    ..Default::default()
                }],
                vec![AnimalModel {
                    disease_relevance: Some(DiseaseRelevance::High),
                    route_matches_clinical: Some(true),
                    large_animal: Some(true),
                    ..Default::default()
                }],
            ],
            |p, v| nonclinical(p).animal_models = Some(v)
        ),
        ladder!(
            "proms",
            [vec![], vec![Prom::OtherNonValidated], vec![Prom::Sf36], Prom::ALL.to_vec()],
            |p, v| clinical(p).proms = Some(v)
        ),
        ladder!(
            "structural_endpoints",
            [
                vec![],
                vec![StructuralEndpoint::Pfirrmann],
                vec![StructuralEndpoint::MriT2Mapping],
                vec![StructuralEndpoint::MriT2Mapping, StructuralEndpoint::MechanisticBiomarker]
            ],
            |p, v| clinical(p).structural_endpoints = Some(v)
        ),
        ladder!("mcid_prespecified", [false, true], |p, v| clinical(p).mcid_prespecified = Some(v)),
        ladder!("sample_size_powered", [false, true], |p, v| clinical(p).sample_size_powered = Some(v)),
        ladder!(
            "control_arm",
            [
                ControlArm::NoneSingleArm,
                ControlArm::HistoricalExternal,
                ControlArm::StandardOfCare,
                ControlArm::ActiveComparator,
                ControlArm::PlaceboOrSham
            ],
            |p, v| clinical(p).control_arm = Some(v)
        ),
        ladder!(
            "blinding",
            [Blinding::OpenLabel, Blinding::AssessorBlinded, Blinding::DoubleBlind, Blinding::Quadruple],
            |p, v| clinical(p).blinding = Some(v)
        ),
        ladder!(
            "patient_selection",
            [PatientSelection::None, PatientSelection::ClinicalCriteria, PatientSelection::BiomarkerGuided],
            |p, v| clinical(p).patient_selection = Some(v)
        ),
        ladder!("efficacy_follow_up_months", [3.0, 9.0, 18.0, 30.0], |p, v| clinical(p)
            .efficacy_follow_up_months =
            real(v)),
        ladder!("ltfu_safety_years", [0.0, 0.5, 1.5, 3.0, 6.0], |p, v| {
            clinical(p).ltfu_safety_years = real(v)
        }),
        ladder!(
            "immunogenicity_monitoring",
            [
                vec![],
                vec![ImmunogenicityMonitoring::AntiDonorHlaAntibodies],
                ImmunogenicityMonitoring::ALL.to_vec()
            ],
            |p, v| clinical(p).immunogenicity_monitoring = Some(v)
        ),
        ladder!(
            "classification_status",
            [
                ClassificationStatus::NotSought,
                ClassificationStatus::Assumed,
                ClassificationStatus::FormalRecommendation
            ],
            |p, v| regulatory(p).classification_status = Some(v)
        ),
        ladder!(
            "interactions",
            [
                vec![],
                vec![RegulatoryInteraction::Interact],
                vec![RegulatoryInteraction::PreInd],
                vec![RegulatoryInteraction::EndOfPhase2]
            ],
            |p, v| regulatory(p).interactions = Some(v)
        ),
        ladder!(
            "cmc_documentation",
            [
                CmcDocumentation::None,
                CmcDocumentation::DraftModule3,
                CmcDocumentation::CompleteForIndCta,
                CmcDocumentation::CompleteForBlaMaa
            ],
            |p, v| regulatory(p).cmc_documentation = Some(v)
        ),
        ladder!("designations", [vec![], vec![Designation::Orphan]], |p, v| regulatory(p).designations =
            Some(v)),
    ]
}

/// A critical factor, how to leave its input unknown, and every honest answer to it.
struct CriticalInput {
    factor: FactorCode,
    /// Puts the program where the factor is critical.
    prepare: fn(&mut Profile),
    unknown: fn(&mut Profile),
    answers: usize,
    answer: fn(&mut Profile, usize),
    /// The input feeds no non-critical factor elsewhere, so the overall index must follow too.
    overall_too: bool,
}

fn severe_disc(p: &mut Profile) {
    program(p).indication = Some(Indication::IntervertebralDiscDegeneration);
    program(p).indication_detail =
        Some(IndicationDetail { pfirrmann_grade: PfirrmannGrade::try_from(4.0).ok(), ..Default::default() });
}

fn critical_inputs() -> Vec<CriticalInput> {
    use Preconditioning as P;
    const PRECONDITIONING: &[&[Preconditioning]] = &[
        &[],
        &[P::Mechanical],
        &[P::Pharmacological],
        &[P::IfnGamma],
        &[P::TnfAlpha],
        &[P::IfnGammaPlusTnfAlpha],
        &[P::Spheroid3d],
        &[P::Hypoxia],
        &[P::Hypoxia, P::Mechanical],
    ];
    const STABILITY: &[&[GeneticStabilityTest]] = &[
        &[],
        &[GeneticStabilityTest::Karyotype],
        &[GeneticStabilityTest::CghArray],
        &[GeneticStabilityTest::Karyotype, GeneticStabilityTest::Ngs],
    ];
    vec![
        CriticalInput {
            factor: FactorCode::Sv1,
            prepare: severe_disc,
            unknown: |p| manufacturing(p).preconditioning = None,
            answers: PRECONDITIONING.len(),
            answer: |p, i| manufacturing(p).preconditioning = Some(PRECONDITIONING[i].to_vec()),
            overall_too: false,
        },
        CriticalInput {
            factor: FactorCode::Sv2,
            prepare: |p| {
                severe_disc(p);
                delivery(p).route = Some(Route::Intradiscal);
            },
            unknown: |p| delivery(p).carrier = None,
            answers: Carrier::ALL.len(),
            answer: |p, i| delivery(p).carrier = Some(Carrier::ALL[i]),
            overall_too: false,
        },
        CriticalInput {
            factor: FactorCode::Rt1,
            prepare: |_| {},
            unknown: |p| delivery(p).route = None,
            answers: Route::ALL.len(),
            answer: |p, i| delivery(p).route = Some(Route::ALL[i]),
            overall_too: false,
        },
        CriticalInput {
            factor: FactorCode::Va4,
            prepare: |_| {},
            unknown: |p| quality(p).potency_assays = None,
            answers: 4,
            answer: |p, i| {
                quality(p).potency_assays = Some(match i {
                    0 => vec![],
                    1 => vec![assay(PotencyAnalyte::Other, false, AssayStage::Exploratory, false)],
                    2 => vec![assay(PotencyAnalyte::Ido, true, AssayStage::Qualified, false)],
                    _ => vec![assay(PotencyAnalyte::EcmSynthesis, true, AssayStage::Validated, true)],
                })
            },
            overall_too: true,
        },
        CriticalInput {
            factor: FactorCode::Sf1,
            prepare: |_| {},
            unknown: |p| nonclinical(p).genetic_stability_tests = None,
            answers: STABILITY.len(),
            answer: |p, i| nonclinical(p).genetic_stability_tests = Some(STABILITY[i].to_vec()),
            overall_too: true,
        },
        CriticalInput {
            factor: FactorCode::Om3,
            prepare: |_| {},
            unknown: |p| clinical(p).control_arm = None,
            answers: ControlArm::ALL.len(),
            answer: |p, i| clinical(p).control_arm = Some(ControlArm::ALL[i]),
            overall_too: true,
        },
        CriticalInput {
            factor: FactorCode::Om8,
            prepare: |p| {
                clinical(p).completed_phase = Some(TrialPhase::Phase2);
                program(p).stage = Some(DevelopmentStage::Phase3);
            },
            unknown: |p| clinical(p).pivotal_result = None,
            answers: PivotalResult::ALL.len(),
            answer: |p, i| clinical(p).pivotal_result = Some(PivotalResult::ALL[i]),
            // A stated failure also caps the regulatory barrier, a rule of its own.
            overall_too: false,
        },
        CriticalInput {
            factor: FactorCode::Om4,
            prepare: |_| {},
            unknown: |p| clinical(p).blinding = None,
            answers: Blinding::ALL.len(),
            answer: |p, i| clinical(p).blinding = Some(Blinding::ALL[i]),
            overall_too: true,
        },
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn scores_stay_in_bounds_and_lines_add_up_exactly(values in draws()) {
        let assessment = Model::current().assess(&generator::profile(&values));
        for line in &assessment.barriers {
            // Null exactly when nothing is known; then nothing is summed (every line is 0).
            prop_assert_eq!(line.score.is_none(), line.band == crate::scoring::Band::Unknown);
            let score = line.score.unwrap_or(0.0);
            prop_assert!(0.0 <= line.pessimistic && line.pessimistic <= score);
            prop_assert!(score <= line.optimistic && line.optimistic <= 100.0);
            prop_assert!((0.0..=1.0).contains(&line.coverage) && (0.0..=1.0).contains(&line.confidence));
            let sum: i64 = line.factors.iter().map(|f| tenths(f.points)).sum::<i64>()
                + line.bonuses.iter().map(|b| tenths(b.points)).sum::<i64>()
                + line.caps.iter().map(|c| tenths(c.points)).sum::<i64>();
            prop_assert_eq!(sum, tenths(score), "{}", line.barrier.as_str());
            for factor in &line.factors {
                prop_assert!(factor.points >= 0.0);
                prop_assert!(factor.value.is_none_or(|v| (0.0..=1.0).contains(&v)));
            }
        }
        let overall = &assessment.overall;
        prop_assert!(0.0 <= overall.pessimistic && overall.pessimistic <= overall.readiness_index);
        prop_assert!(overall.readiness_index <= overall.optimistic && overall.optimistic <= 100.0);
        prop_assert!((0.0..=1.0).contains(&overall.confidence));
        let limiting = &assessment.barriers[overall.limiting_barrier.index()];
        prop_assert!(assessment.barriers.iter().all(|b| b.score.is_none() || b.score >= limiting.score));
        for mitigation in &assessment.mitigations {
            prop_assert_eq!(
                tenths(mitigation.readiness_index_after - overall.readiness_index),
                tenths(mitigation.readiness_gain)
            );
        }
    }

    #[test]
    fn the_same_profile_gives_the_byte_identical_assessment(values in draws()) {
        let profile = generator::profile(&values);
        let json = serde_json::to_vec(&profile).expect("serialises");
        let reparsed = crate::scoring::parse_profile(&json).expect("a generated profile is valid JSON input");
        let first = serde_json::to_vec(&Model::current().assess(&profile)).expect("serialises");
        let second = serde_json::to_vec(&Model::current().assess(&reparsed)).expect("serialises");
        prop_assert_eq!(first, second);
    }

    #[test]
    fn improving_an_ordinal_input_never_lowers_any_barrier_or_the_index(
        values in draws(),
        which in 0usize..1000,
        step in 0usize..1000,
    ) {
        let ladders = ladders();
        let ladder = &ladders[which % ladders.len()];
        let step = step % (ladder.steps - 1);
        let base = generator::profile(&values);
        let (mut worse, mut better) = (base.clone(), base);
        (ladder.set)(&mut worse, step);
        (ladder.set)(&mut better, step + 1);
        let (worse, better) = (scores(&worse), scores(&better));
        for barrier in Barrier::ALL {
            prop_assert!(
                better.barrier(*barrier).score >= worse.barrier(*barrier).score,
                "{} step {} lowered {}", ladder.input, step, barrier.as_str()
            );
        }
        prop_assert!(better.overall.index >= worse.overall.index, "{} step {} lowered the index", ladder.input, step);
    }

    #[test]
    fn leaving_a_critical_input_unknown_never_beats_the_worst_honest_answer(
        values in draws(),
        which in 0usize..1000,
    ) {
        let inputs = critical_inputs();
        let input = &inputs[which % inputs.len()];
        let mut base = generator::profile(&values);
        (input.prepare)(&mut base);
        let mut unknown = base.clone();
        (input.unknown)(&mut unknown);
        let unknown = scores(&unknown);
        prop_assert!(unknown.factor(input.factor).critical, "{} is critical here", input.factor.as_str());
        let barrier = input.factor.barrier();
        for answer in 0..input.answers {
            let mut honest = base.clone();
            (input.answer)(&mut honest, answer);
            let honest = scores(&honest);
            prop_assert!(
                unknown.barrier(barrier).score <= honest.barrier(barrier).score,
                "{} unknown beats answer {}", input.factor.as_str(), answer
            );
            if input.overall_too {
                prop_assert!(unknown.overall.index <= honest.overall.index, "{} answer {}", input.factor.as_str(), answer);
            }
        }
    }

    #[test]
    fn incremental_rescoring_equals_a_full_rescore(
        values in draws(),
        change in draws(),
        which in 0usize..1000,
        sections in 0u32..512,
    ) {
        let model = Model::current();
        let base = Facts::from_profile(&generator::profile(&values));
        let before = Scores::compute(model, &base);
        // A mitigation's change, and a random sparse change of a few sections.
        let mitigations = model.mitigations();
        let mitigation = &mitigations[which % mitigations.len()];
        let mut changes: Vec<Facts> = mitigation.change_by_profile.iter().flatten().copied().collect();
        let mut sparse = generator::profile(&change);
        for (bit, section) in [
            &mut sparse.program as &mut dyn ClearSection,
            &mut sparse.cell_source,
            &mut sparse.manufacturing,
            &mut sparse.quality,
            &mut sparse.formulation,
            &mut sparse.delivery,
            &mut sparse.nonclinical,
            &mut sparse.clinical,
            &mut sparse.regulatory,
        ]
        .into_iter()
        .enumerate()
        {
            if sections & (1 << bit) == 0 {
                section.clear();
            }
        }
        changes.push(Facts::from_profile(&sparse));
        for change in changes {
            let after = base.overlay(&change);
            let incremental = before.rescore(&after);
            let full = Scores::compute(model, &after);
            prop_assert_eq!(incremental.factors, full.factors);
            prop_assert_eq!(incremental.caps, full.caps);
            prop_assert_eq!(incremental.barriers, full.barriers);
            prop_assert_eq!(incremental.overall, full.overall);
        }
    }
}

/// Empties one section of a profile.
trait ClearSection {
    fn clear(&mut self);
}

impl<T> ClearSection for Option<T> {
    fn clear(&mut self) {
        *self = None;
    }
}
