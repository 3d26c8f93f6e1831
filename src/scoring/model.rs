//! Loading and validating the model data, and the compiled form the engine scores with.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::assessment::EvidenceCitation;
use super::document::*;
use super::engine::FactorResult;
use super::factors::{
    Barrier, Criticality, FactorCode, QUANTITATIVE_ENDPOINTS, RELEASE_ITEMS, Reading, ScaleKind,
};
use super::facts::Facts;
use super::input_types::{Label, Set};
use super::profile::{
    AssayStage, Carrier, ClinicalSection, DeliverySection, EvidenceLevel, Indication, Mechanism,
    PotencyAnalyte, PotencyAssay, Profile, Prom, QualitySection, Regulator, Route, TissueSource, TrialPhase,
};
use super::readiness::{
    CompiledCriterion, CompiledGate, CompiledReadiness, CompiledRegression, GateMitigation, GateTest,
    MAX_LEVEL, MAX_MRL_LEVEL, RegressionEvent,
};
use super::shared::{Shared, Text};

/// The model data compiled into the binary.
pub(crate) const MODEL_TOML: &str = concat!(
    include_str!("model_data/model.toml"),
    include_str!("model_data/barriers.toml"),
    include_str!("model_data/factors.toml"),
    include_str!("model_data/caps_and_bonuses.toml"),
    include_str!("model_data/mechanisms.toml"),
    include_str!("model_data/indications/intervertebral_disc.toml"),
    include_str!("model_data/indications/knee_osteoarthritis.toml"),
    include_str!("model_data/indications/rheumatoid_arthritis.toml"),
    include_str!("model_data/indications/cartilage_defect.toml"),
    include_str!("model_data/indications/critical_limb_ischemia.toml"),
    include_str!("model_data/indications/sle.toml"),
    include_str!("model_data/indications/gvhd_acute.toml"),
    include_str!("model_data/indications/gvhd_chronic.toml"),
    include_str!("model_data/indications/crohns_perianal_fistula.toml"),
    include_str!("model_data/indications/crohns_luminal.toml"),
    include_str!("model_data/indications/ards.toml"),
    include_str!("model_data/indications/copd.toml"),
    include_str!("model_data/indications/ipf.toml"),
    include_str!("model_data/indications/bronchopulmonary_dysplasia.toml"),
    include_str!("model_data/indications/myocardial_infarction.toml"),
    include_str!("model_data/indications/heart_failure_ischemic.toml"),
    include_str!("model_data/indications/heart_failure_nonischemic.toml"),
    include_str!("model_data/indications/ischemic_stroke.toml"),
    include_str!("model_data/indications/spinal_cord_injury.toml"),
    include_str!("model_data/indications/als.toml"),
    include_str!("model_data/indications/multiple_sclerosis.toml"),
    include_str!("model_data/indications/generic.toml"),
    include_str!("model_data/region_checklists.toml"),
    include_str!("model_data/warnings.toml"),
    include_str!("model_data/mitigations.toml"),
    include_str!("model_data/readiness.toml"),
    include_str!("model_data/evidence.toml"),
    include_str!("model_data/evidence_indications.toml"),
);

/// The seed files evidence may quote.
pub(crate) const SEED_FILES: &[&str] = &["000_dbad888260529654.txt", "004_b7ae33fbf520b45e.txt"];

/// Why the model data could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The data is not valid TOML for the model document.
    #[error("model data does not parse: {0}")]
    Parse(#[from] toml::de::Error),
    /// The data parses but breaks a rule of the model.
    #[error("model data is invalid: {}", .0.join("; "))]
    Invalid(Vec<String>),
}

/// A factor ready for scoring.
#[derive(Debug, Clone)]
pub(crate) struct CompiledFactor {
    pub name: Text,
    /// The rationale, per profile index.
    pub rationale: Vec<Text>,
    pub weight: u32,
    pub criticality: Criticality,
    /// Value of each level in permille, in the order of the factor's scale.
    pub level_values: Vec<u16>,
    pub checklist_labels: Vec<Text>,
    pub citations: Shared<EvidenceCitation>,
    /// The factor's only support is unverified seed claims (research §9.6).
    pub weakly_grounded: bool,
}

/// An indication profile ready for scoring.
#[derive(Debug, Clone)]
pub(crate) struct CompiledProfile {
    pub index: usize,
    pub id: Text,
    pub name: Text,
    pub maturity: ProfileMaturity,
    pub maturity_note: Option<Text>,
    pub weights: [u32; 7],
    pub hostility: Hostility,
    pub severity_stratifier: Option<SeverityStratifier>,
    pub target_tissue_hypoxic: bool,
    pub local_target: bool,
    pub orphan_lethal: bool,
    pub durability_months: Option<f64>,
    pub structural_endpoint_relevant: bool,
    pub default_mechanisms: Set<Mechanism>,
    pub carrier_precedent: Option<Carrier>,
    /// Route fit in permille, indexed by route (before the chronic phase, if the profile has one).
    pub route_fit: Vec<u16>,
    /// The first day of the chronic phase and the route fit from then on.
    pub chronic_route_fit: Option<(u32, Vec<u16>)>,
    /// The route fit when the days since onset are unknown: the lower of the two phases'.
    pub route_fit_onset_unknown: Vec<u16>,
    pub standard_proms: Vec<Set<Prom>>,
}

/// A region requirement ready for checking.
#[derive(Debug, Clone)]
pub(crate) enum CompiledRequirement {
    FactorAtLeast { factor: FactorCode, min: u16 },
    CompletedPhaseAtLeast(TrialPhase),
}

impl CompiledRequirement {
    /// Whether the program meets the requirement; `None` when that depends on unknowns.
    /// `prior` holds the results of the factors scored before RG4, which validation requires
    /// every checked factor to be.
    pub fn met(&self, facts: &Facts, prior: &[FactorResult]) -> Option<bool> {
        match *self {
            Self::CompletedPhaseAtLeast(phase) => facts.completed_phase.map(|done| done >= phase),
            Self::FactorAtLeast { factor, min } => {
                let result = prior.get(factor.index())?;
                if result.reading == Reading::NotApplicable || result.low >= min {
                    Some(true)
                } else if result.known() || result.critical || result.high < min {
                    // A critical unknown counts as its worst case here too.
                    Some(false)
                } else {
                    None
                }
            }
        }
    }
}

/// A region checklist ready for checking.
#[derive(Debug, Clone)]
pub(crate) struct CompiledRegion {
    pub common: bool,
    pub requirements: Vec<CompiledRequirement>,
    /// `region.item` key of each requirement.
    pub keys: Vec<Text>,
    pub labels: Vec<Text>,
}

/// A mitigation ready for counterfactual re-scoring.
#[derive(Debug, Clone)]
pub(crate) struct CompiledMitigation {
    pub id: Text,
    pub factor: FactorCode,
    pub action: Text,
    pub maturity: Maturity,
    pub effort: Effort,
    pub tradeoff: Option<Text>,
    pub requires_level: u8,
    pub only_before_first_in_human: bool,
    pub weakly_grounded: bool,
    /// The change, per profile index; `None` where the mitigation is not offered.
    pub change_by_profile: Vec<Option<Facts>>,
    pub citations: Shared<EvidenceCitation>,
}

/// A cap, bonus or warning ready for the output.
#[derive(Debug, Clone)]
pub(crate) struct Cited {
    pub definition: usize,
    /// The cap's limit or the bonus's points, in tenths.
    pub tenths: u16,
    /// The reason (caps, bonuses) or message (warnings).
    pub text: Text,
    pub citations: Shared<EvidenceCitation>,
    pub weakly_grounded: bool,
}

/// The scoring model: validated data plus the compiled tables the engine reads.
#[derive(Debug, Clone)]
pub struct Model {
    document: ModelDocument,
    /// Permille weights of an omitted level, then of each [`EvidenceLevel`] in order.
    evidence_weights: [u16; 4],
    /// ln of every score in tenths, floored at one point, for the geometric mean.
    ln_points: Vec<f64>,
    factors: Vec<CompiledFactor>,
    profiles: Vec<CompiledProfile>,
    profile_of_indication: Vec<usize>,
    marker_of_mechanism: Vec<Set<PotencyAnalyte>>,
    sources_of_mechanism: Vec<Set<TissueSource>>,
    regions: Vec<CompiledRegion>,
    region_of_regulator: Vec<usize>,
    caps: Vec<Cited>,
    bonuses: Vec<Cited>,
    warnings: Vec<Cited>,
    mitigations: Vec<CompiledMitigation>,
    readiness: CompiledReadiness,
}

fn permille(value: f64) -> u16 {
    (value * 1000.0).round() as u16
}

impl Model {
    /// Parses and validates the model data compiled into the binary.
    pub fn load() -> Result<Self, ModelError> {
        Self::from_toml(MODEL_TOML)
    }

    /// Parses and validates model data.
    pub(crate) fn from_toml(text: &str) -> Result<Self, ModelError> {
        let document: ModelDocument = toml::from_str(text)?;
        let problems = validate(&document);
        if !problems.is_empty() {
            return Err(ModelError::Invalid(problems));
        }
        Ok(compile(document))
    }

    /// The model version.
    pub fn version(&self) -> &str {
        &self.document.version
    }

    /// The whole model as a document.
    pub fn document(&self) -> ModelDocument {
        ModelDocument { labels: super::labels::all(), ..self.document.clone() }
    }

    /// The evidence registry.
    pub fn evidence(&self) -> &[Evidence] {
        &self.document.evidence
    }

    pub(crate) fn definition(&self) -> &ModelDocument {
        &self.document
    }

    /// The compiled factors, for the back-test's weight perturbations.
    pub(crate) fn factors_mut(&mut self) -> &mut [CompiledFactor] {
        &mut self.factors
    }

    /// The compiled indication profiles, for the back-test's weight perturbations.
    pub(crate) fn profiles_mut(&mut self) -> &mut [CompiledProfile] {
        &mut self.profiles
    }

    pub(crate) fn factor(&self, factor: FactorCode) -> &CompiledFactor {
        &self.factors[factor.index()]
    }

    pub(crate) fn constants(&self) -> &Constants {
        &self.document.constants
    }

    pub(crate) fn profile_for(&self, indication: Option<Indication>) -> &CompiledProfile {
        let indication = indication.unwrap_or(Indication::Other);
        &self.profiles[self.profile_of_indication[indication as usize]]
    }

    pub(crate) fn markers_of(&self, mechanisms: Set<Mechanism>) -> Set<PotencyAnalyte> {
        Mechanism::ALL
            .iter()
            .filter(|mechanism| mechanisms.contains(**mechanism))
            .fold(Set::EMPTY, |markers, mechanism| {
                markers.union(self.marker_of_mechanism[*mechanism as usize])
            })
    }

    pub(crate) fn sources_fitting(&self, mechanisms: Set<Mechanism>) -> Set<TissueSource> {
        Mechanism::ALL
            .iter()
            .filter(|mechanism| mechanisms.contains(**mechanism))
            .fold(Set::EMPTY, |sources, mechanism| {
                sources.union(self.sources_of_mechanism[*mechanism as usize])
            })
    }

    /// The region checklists covering these regulators, each once, in model order.
    pub(crate) fn regions_for(&self, regulators: Set<Regulator>) -> impl Iterator<Item = usize> + '_ {
        (0..self.regions.len()).filter(move |region| {
            (self.regions[*region].common && !regulators.is_empty())
                || Regulator::ALL.iter().any(|regulator| {
                    regulators.contains(*regulator)
                        && self.region_of_regulator[*regulator as usize] == *region
                })
        })
    }

    pub(crate) fn region(&self, region: usize) -> &CompiledRegion {
        &self.regions[region]
    }

    pub(crate) fn cap(&self, cap: CapCode) -> (&CapDefinition, &Cited) {
        let cited = &self.caps[cap as usize];
        (&self.document.caps[cited.definition], cited)
    }

    pub(crate) fn bonus(&self, bonus: BonusCode) -> (&BonusDefinition, &Cited) {
        let cited = &self.bonuses[bonus as usize];
        (&self.document.bonuses[cited.definition], cited)
    }

    pub(crate) fn warning(&self, warning: WarningCode) -> (&WarningDefinition, &Cited) {
        let cited = &self.warnings[warning as usize];
        (&self.document.warnings[cited.definition], cited)
    }

    pub(crate) fn mitigations(&self) -> &[CompiledMitigation] {
        &self.mitigations
    }

    pub(crate) fn readiness(&self) -> &CompiledReadiness {
        &self.readiness
    }

    /// ln of a score given in tenths, the score floored at one point (research §9.4).
    pub(crate) fn ln_points(&self, tenths: u16) -> f64 {
        self.ln_points[usize::from(tenths.min(1000))]
    }

    /// Confidence weight of an evidence level, permille.
    pub(crate) fn evidence_weight(&self, level: Option<EvidenceLevel>) -> u16 {
        match level {
            None => self.evidence_weights[0],
            Some(level) => self.evidence_weights[1 + level as usize],
        }
    }
}

/// Citations of a list of evidence links, resolved against the registry.
/// A route table in permille, indexed by route; validation guarantees every route is rated.
fn permille_table(table: &BTreeMap<Route, RouteFit>) -> Vec<u16> {
    Route::ALL.iter().map(|route| permille(table.get(route).map_or(0.0, |route_fit| route_fit.fit))).collect()
}

/// The change a mitigation re-scores for one profile, read from the profile's own data; `None`
/// when the profile has nothing to propose (no standard outcome set, no structural endpoint).
pub(crate) fn derived_change(
    derived: ProfileDerivedChange,
    profile: &IndicationProfileDefinition,
) -> Option<Profile> {
    let potency = |stage: AssayStage, lot_release: bool| {
        let assay = PotencyAssay {
            analyte: Some(profile.potency_marker.analyte),
            quantitative: Some(true),
            stage: Some(stage),
            used_for_lot_release: lot_release.then_some(true),
            acceptance_criterion: lot_release
                .then(|| Label::try_from("prespecified minimum".to_owned()).expect("a valid label")),
            ..PotencyAssay::default()
        };
        Profile {
            quality: Some(QualitySection { potency_assays: Some(vec![assay]), ..QualitySection::default() }),
            ..Profile::default()
        }
    };
    let clinical = |section: ClinicalSection| Profile { clinical: Some(section), ..Profile::default() };
    match derived {
        // The first of equally fitting routes, in the schema's order, so the choice is stable.
        ProfileDerivedChange::BestRoute => profile
            .route_fit
            .iter()
            .fold(None::<(&Route, f64)>, |best, (route, fit)| match best {
                Some((_, best_fit)) if best_fit >= fit.fit => best,
                _ => Some((route, fit.fit)),
            })
            .map(|(route, _)| Profile {
                delivery: Some(DeliverySection { route: Some(*route), ..DeliverySection::default() }),
                ..Profile::default()
            }),
        ProfileDerivedChange::StandardOutcomeSet => (!profile.standard_proms.is_empty()).then(|| {
            clinical(ClinicalSection {
                proms: Some(
                    profile.standard_proms.iter().filter_map(|group| group.first().copied()).collect(),
                ),
                ..ClinicalSection::default()
            })
        }),
        ProfileDerivedChange::ExploratoryPotencyAssay => Some(potency(AssayStage::Exploratory, false)),
        ProfileDerivedChange::LotReleasePotencyAssay => Some(potency(AssayStage::Validated, true)),
        ProfileDerivedChange::StructuralEndpoints => (!profile.structural_endpoints.is_empty()).then(|| {
            clinical(ClinicalSection {
                structural_endpoints: Some(profile.structural_endpoints.clone()),
                ..ClinicalSection::default()
            })
        }),
    }
}

fn citations(links: &[EvidenceLink], registry: &HashMap<&str, &Evidence>) -> Shared<EvidenceCitation> {
    links
        .iter()
        .filter_map(|link| {
            registry.get(link.claim.as_str()).map(|evidence| EvidenceCitation {
                claim_id: Text::from(evidence.id.as_str()),
                citation: evidence
                    .citation
                    .as_deref()
                    .or(evidence.external_source.as_deref())
                    .map(Text::from),
                verification_status: evidence.verification_status,
                role: link.role,
            })
        })
        .collect::<Vec<_>>()
        .into()
}

/// Whether a factor, gate, cap, bonus, warning or mitigation is supported only by claims no outside source confirms: none of its
/// `supports` citations is an externally confirmed seed claim or an external fact (research §9.6).
/// Calibrating evidence and caveats do not ground it.
fn weakly_grounded(citations: &[EvidenceCitation]) -> bool {
    !citations.iter().any(|citation| {
        citation.role == EvidenceRole::Supports
            && matches!(
                citation.verification_status,
                VerificationStatus::ExternallyConfirmed | VerificationStatus::ExternalSource
            )
    })
}

/// The definition that `matches`, with its text and citations; validation guarantees there is one.
fn cited<T>(
    definitions: &[T],
    matches: impl Fn(&T) -> bool,
    tenths: impl Fn(&T) -> f64,
    text: impl Fn(&T) -> &str,
    links: impl Fn(&T) -> &[EvidenceLink],
    registry: &HashMap<&str, &Evidence>,
) -> Cited {
    let definition = definitions.iter().position(matches).unwrap_or_default();
    let found = definitions.get(definition);
    let citations: Shared<EvidenceCitation> =
        found.map_or_else(|| Vec::new().into(), |d| citations(links(d), registry));
    Cited {
        definition,
        tenths: found.map_or(0, |d| (tenths(d) * 10.0).round() as u16),
        text: Text::from(found.map_or("", &text)),
        weakly_grounded: weakly_grounded(&citations),
        citations,
    }
}

fn compile(document: ModelDocument) -> Model {
    let registry: HashMap<&str, &Evidence> =
        document.evidence.iter().map(|evidence| (evidence.id.as_str(), evidence)).collect();
    // Validation guarantees one definition per code, so sorting by code indexes them by code.
    let mut factor_order: Vec<usize> = (0..document.factors.len()).collect();
    factor_order.sort_by_key(|i| document.factors[*i].code);
    let factors = factor_order
        .iter()
        .map(|&i| {
            let definition = &document.factors[i];
            let citations = citations(&definition.evidence, &registry);
            let weakly_grounded = weakly_grounded(&citations);
            CompiledFactor {
                name: Text::from(definition.name.as_str()),
                rationale: document
                    .indication_profiles
                    .iter()
                    .map(|profile| {
                        Text::from(
                            definition
                                .rationale_by_profile
                                .get(&profile.id)
                                .unwrap_or(&definition.rationale)
                                .as_str(),
                        )
                    })
                    .collect(),
                weight: definition.weight,
                criticality: definition.critical,
                level_values: definition.levels.iter().map(|l| permille(l.value)).collect(),
                checklist_labels: definition
                    .checklist
                    .iter()
                    .map(|item| Text::from(item.label.as_str()))
                    .collect(),
                citations,
                weakly_grounded,
            }
        })
        .collect();

    let profiles: Vec<CompiledProfile> = document
        .indication_profiles
        .iter()
        .enumerate()
        .map(|(index, p)| CompiledProfile {
            index,
            id: Text::from(p.id.as_str()),
            name: Text::from(p.name.as_str()),
            maturity: p.maturity,
            maturity_note: p.maturity_note.as_deref().map(Text::from),
            weights: std::array::from_fn(|i| p.barrier_weights.of(Barrier::ALL[i])),
            hostility: p.hostility,
            severity_stratifier: p.severity_stratifier,
            target_tissue_hypoxic: p.target_tissue_hypoxic,
            local_target: p.local_target,
            orphan_lethal: p.orphan_lethal,
            durability_months: p.durability_months,
            structural_endpoint_relevant: p.structural_endpoint_relevant,
            default_mechanisms: p.default_mechanisms.iter().copied().collect(),
            carrier_precedent: p.carrier_precedent,
            route_fit: permille_table(&p.route_fit),
            chronic_route_fit: p
                .chronic_route_fit
                .as_ref()
                .map(|chronic| (chronic.from_day, permille_table(&chronic.routes))),
            route_fit_onset_unknown: match &p.chronic_route_fit {
                Some(chronic) => permille_table(&p.route_fit)
                    .into_iter()
                    .zip(permille_table(&chronic.routes))
                    .map(|(earlier, later)| earlier.min(later))
                    .collect(),
                None => permille_table(&p.route_fit),
            },
            standard_proms: p.standard_proms.iter().map(|group| group.iter().copied().collect()).collect(),
        })
        .collect();
    let profile_of_indication = Indication::ALL
        .iter()
        .map(|indication| {
            document
                .indication_profiles
                .iter()
                .position(|p| p.indications.contains(indication))
                .unwrap_or_default()
        })
        .collect();

    let mechanism = |m: Mechanism| document.mechanisms.iter().find(|d| d.mechanism == m);
    let marker_of_mechanism = Mechanism::ALL
        .iter()
        .map(|m| mechanism(*m).map_or(Set::EMPTY, |d| d.potency_markers.iter().copied().collect()))
        .collect();
    let sources_of_mechanism = Mechanism::ALL
        .iter()
        .map(|m| mechanism(*m).map_or(Set::EMPTY, |d| d.fitting_sources.iter().copied().collect()))
        .collect();

    let regions = document
        .region_checklists
        .iter()
        .map(|region| CompiledRegion {
            common: region.common,
            requirements: region
                .items
                .iter()
                .map(|item| match item.requirement {
                    Requirement::FactorAtLeast { factor, min_value } => {
                        CompiledRequirement::FactorAtLeast { factor, min: permille(min_value) }
                    }
                    Requirement::CompletedPhaseAtLeast { phase } => {
                        CompiledRequirement::CompletedPhaseAtLeast(phase)
                    }
                })
                .collect(),
            keys: region.items.iter().map(|item| Text::from(format!("{}.{}", region.id, item.key))).collect(),
            labels: region.items.iter().map(|item| Text::from(item.label.as_str())).collect(),
        })
        .collect();
    let region_of_regulator = Regulator::ALL
        .iter()
        .map(|regulator| {
            document
                .region_checklists
                .iter()
                .position(|region| region.regulators.contains(regulator))
                .unwrap_or_default()
        })
        .collect();

    let caps = CapCode::ALL
        .iter()
        .map(|code| {
            cited(&document.caps, |c| c.cap == *code, |c| c.limit, |c| &c.reason, |c| &c.evidence, &registry)
        })
        .collect();
    let bonuses = BonusCode::ALL
        .iter()
        .map(|code| {
            cited(
                &document.bonuses,
                |b| b.bonus == *code,
                |b| b.points,
                |b| &b.reason,
                |b| &b.evidence,
                &registry,
            )
        })
        .collect();
    let warnings = WarningCode::ALL
        .iter()
        .map(|code| {
            cited(
                &document.warnings,
                |w| w.warning == *code,
                |_| 0.0,
                |w| &w.message,
                |w| &w.evidence,
                &registry,
            )
        })
        .collect();

    let mitigations = document
        .mitigations
        .iter()
        .map(|m| CompiledMitigation {
            id: Text::from(m.id.as_str()),
            factor: m.factor,
            action: Text::from(m.action.as_str()),
            maturity: m.maturity,
            effort: m.effort,
            tradeoff: m.tradeoff.as_deref().map(Text::from),
            requires_level: m.requires_level.unwrap_or(0),
            only_before_first_in_human: m.only_before_first_in_human,
            change_by_profile: document
                .indication_profiles
                .iter()
                .map(|profile| match m.change_by_profile.get(&profile.id) {
                    Some(row) => Some(Facts::from_profile(row)),
                    None => match m.change_from_profile {
                        Some(derived) => derived_change(derived, profile).as_ref().map(Facts::from_profile),
                        None => m.change.as_ref().map(Facts::from_profile),
                    },
                })
                .collect(),
            citations: citations(&m.evidence, &registry),
            weakly_grounded: weakly_grounded(&citations(&m.evidence, &registry)),
        })
        .collect();

    let readiness = compile_readiness(&document, &registry);
    let weights = &document.evidence_weights;
    Model {
        evidence_weights: [
            weights.omitted,
            weights.claimed,
            weights.documented,
            weights.independently_verified,
        ]
        .map(permille),
        ln_points: (0..=1000u16).map(|tenths| (f64::from(tenths.max(10)) / 10.0).ln()).collect(),
        factors,
        profiles,
        profile_of_indication,
        marker_of_mechanism,
        sources_of_mechanism,
        regions,
        region_of_regulator,
        caps,
        bonuses,
        warnings,
        mitigations,
        readiness,
        document,
    }
}

fn compile_readiness(document: &ModelDocument, registry: &HashMap<&str, &Evidence>) -> CompiledReadiness {
    let definition = &document.readiness;
    let mut gates: Vec<CompiledGate> = definition
        .gates
        .iter()
        .map(|gate| {
            let citations = citations(&gate.evidence, registry);
            CompiledGate {
                code: Text::from(gate.code.as_str()),
                level: gate.level,
                stream: gate.stream,
                mandatory: gate.mandatory,
                weight: gate.weight,
                text: Text::from(gate.text.as_str()),
                test: gate.test.clone(),
                mitigation: gate.mitigation.as_deref().and_then(|id| {
                    document.mitigations.iter().find(|m| m.id == id).map(|m| GateMitigation {
                        code: Text::from(m.id.as_str()),
                        title: Text::from(m.action.as_str()),
                        factor: m.factor,
                    })
                }),
                weakly_grounded: weakly_grounded(&citations),
                citations,
            }
        })
        .collect();
    // Stable: model order within a level's mandatory and supporting gates.
    gates.sort_by_key(|gate| (gate.level, !gate.mandatory));
    let mut mrl_criteria: Vec<CompiledCriterion> = definition
        .mrl
        .levels
        .iter()
        .flat_map(|level| {
            level.criteria.iter().map(|criterion| CompiledCriterion {
                level: level.level,
                code: Text::from(criterion.code.as_str()),
                text: Text::from(criterion.text.as_str()),
                test: criterion.test.clone(),
            })
        })
        .collect();
    mrl_criteria.sort_by_key(|criterion| criterion.level);
    CompiledReadiness {
        complete_share: u32::from(permille(definition.complete_share)),
        approaching_share: u32::from(permille(definition.approaching_share)),
        level_names: definition.levels.iter().map(|level| Text::from(level.name.as_str())).collect(),
        gates,
        regressions: definition
            .regression_events
            .iter()
            .map(|rule| CompiledRegression {
                event: rule.event,
                stream: rule.stream,
                capped_at: rule.capped_at,
                reason: Text::from(rule.reason.as_str()),
                citations: citations(&rule.evidence, registry),
            })
            .collect(),
        mrl_expected_from: definition.mrl.expected_from_level,
        mrl_criteria,
    }
}

/// The problems of a gate check's parameters.
fn check_test(owner: &str, test: &GateTest, problems: &mut Vec<String>) {
    if let GateTest::FactorAtLeast { factors, min_value } = test
        && (factors.is_empty() || !(0.0..=1.0).contains(min_value))
    {
        problems.push(format!("{owner} must name factors and a value within 0-1"));
    }
    if let GateTest::ScaleAppropriateFormat { min_value } = test
        && !(0.0..=1.0).contains(min_value)
    {
        problems.push(format!("{owner} must ask for a value within 0-1"));
    }
    if let GateTest::DurabilityIfLocalTarget { months } = test
        && !(0.0..=600.0).contains(months)
    {
        problems.push(format!("{owner} must ask for 0-600 months"));
    }
}

/// The rules for the outside source an evidence entry names: a seed claim is
/// `externally_confirmed` only with the confirming source attached, a source is attached to nothing
/// else, and its URL and identifiers are well formed.
fn validate_outside_source(evidence: &Evidence, problems: &mut Vec<String>) {
    let id = &evidence.id;
    let confirmed = evidence.verification_status == VerificationStatus::ExternallyConfirmed;
    let confirmed_by = evidence.confirmed_by.as_deref().map(str::trim);
    if confirmed && confirmed_by.is_none_or(str::is_empty) {
        problems.push(format!(
            "evidence {id} is externally_confirmed without an outside source: attach the source that \
             confirms it as confirmed_by (exactly as research.md gives it), or mark it seed_asserted"
        ));
    }
    if !confirmed && evidence.confirmed_by.is_some() {
        problems.push(format!(
            "evidence {id} names confirmed_by but is {}; only externally_confirmed claims name a confirming source",
            evidence.verification_status.as_str()
        ));
    }
    let names_a_source = evidence.external_source.is_some() || evidence.confirmed_by.is_some();
    let identifiers = [&evidence.url, &evidence.doi, &evidence.pmid, &evidence.pmcid, &evidence.registry_id];
    if !names_a_source && identifiers.iter().any(|identifier| identifier.is_some()) {
        problems.push(format!(
            "evidence {id} has a url or identifier but names no outside source (external_source or confirmed_by)"
        ));
    }
    if evidence.url.as_ref().is_some_and(|url| !url.starts_with("https://")) {
        problems.push(format!("evidence {id} url must be https"));
    }
    if evidence.doi.as_ref().is_some_and(|doi| !doi.starts_with("10.") || !doi.contains('/')) {
        problems.push(format!("evidence {id} doi must look like 10.<registrant>/<suffix>"));
    }
    if evidence.pmid.as_ref().is_some_and(|pmid| pmid.is_empty() || !pmid.bytes().all(|b| b.is_ascii_digit()))
    {
        problems.push(format!("evidence {id} pmid must be digits"));
    }
    if evidence.pmcid.as_ref().is_some_and(|pmcid| {
        pmcid
            .strip_prefix("PMC")
            .is_none_or(|digits| digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()))
    }) {
        problems.push(format!("evidence {id} pmcid must be PMC followed by digits"));
    }
    if evidence
        .registry_id
        .as_ref()
        .is_some_and(|registry| registry.is_empty() || registry.contains(char::is_whitespace))
    {
        problems.push(format!("evidence {id} registry_id must be one id without spaces"));
    }
}

/// Every rule the model data must keep; returns the problems found.
/// A route table rates every route, 0-1, each with a reason and known evidence.
fn check_route_table(
    owner: &str,
    table: &BTreeMap<Route, RouteFit>,
    registry: &HashMap<&str, &Evidence>,
    problems: &mut Vec<String>,
) {
    if table.values().any(|route_fit| !(0.0..=1.0).contains(&route_fit.fit)) {
        problems.push(format!("{owner} route fit must be 0-1"));
    }
    if let Some(route) = Route::ALL.iter().find(|route| !table.contains_key(route)) {
        problems.push(format!("{owner} must rate every route; {} is missing", route.as_str()));
    }
    for (route, route_fit) in table {
        if route_fit.reason.trim().is_empty() {
            problems.push(format!("{owner} gives no reason for the fit of {}", route.as_str()));
        }
        if let Some(unknown) = route_fit.evidence.iter().find(|id| !registry.contains_key(id.as_str())) {
            problems.push(format!("{owner} route {} cites unknown evidence {unknown}", route.as_str()));
        }
    }
}

fn validate(document: &ModelDocument) -> Vec<String> {
    let mut problems = Vec::new();

    // Version and changelog.
    if document.changelog.first().map(|entry| entry.version.as_str()) != Some(&document.version) {
        problems.push(format!("the changelog must start with an entry for version {}", document.version));
    }
    if document.version.split('.').count() != 3
        || document.version.split('.').any(|part| part.parse::<u32>().is_err())
    {
        problems.push(format!("version {} is not MAJOR.MINOR.PATCH", document.version));
    }

    // Thresholds and weights.
    let t = &document.thresholds;
    if !(0.0 < t.band_weak_from
        && t.band_weak_from < t.band_moderate_from
        && t.band_moderate_from < t.band_strong_from
        && t.band_strong_from <= 100.0)
    {
        problems.push("band thresholds must rise within 0-100".to_owned());
    }
    for (name, value) in [
        ("weak_factor_value", t.weak_factor_value),
        ("unclear_below_confidence", t.unclear_below_confidence),
        ("heavy_barrier_min_coverage", t.heavy_barrier_min_coverage),
        ("evidence_weights.claimed", document.evidence_weights.claimed),
        ("evidence_weights.documented", document.evidence_weights.documented),
        ("evidence_weights.independently_verified", document.evidence_weights.independently_verified),
        ("evidence_weights.omitted", document.evidence_weights.omitted),
    ] {
        if !(0.0..=1.0).contains(&value) {
            problems.push(format!("{name} must be within 0-1, is {value}"));
        }
    }

    // Evidence registry.
    let mut registry: HashMap<&str, &Evidence> = HashMap::new();
    for evidence in &document.evidence {
        if registry.insert(evidence.id.as_str(), evidence).is_some() {
            problems.push(format!("evidence {} is defined twice", evidence.id));
        }
        // An outside claim the research could not confirm from a source it read is kept as
        // `unverifiable` with the source it names, so it never grounds a factor (issue 15).
        let external = evidence.verification_status == VerificationStatus::ExternalSource
            || (evidence.verification_status == VerificationStatus::Unverifiable
                && evidence.seed_file.is_none());
        if external {
            if evidence.external_source.is_none()
                || evidence.seed_file.is_some()
                || evidence.quote.is_some()
                || evidence.citation.is_some()
            {
                problems.push(format!(
                    "external evidence {} needs external_source and no seed fields",
                    evidence.id
                ));
            }
        } else if !evidence.seed_file.as_deref().is_some_and(|file| SEED_FILES.contains(&file))
            || evidence.quote.as_deref().is_none_or(str::is_empty)
            || evidence.external_source.is_some()
        {
            problems.push(format!(
                "seed evidence {} needs a known seed_file and a quote, and no external_source",
                evidence.id
            ));
        }
        validate_outside_source(evidence, &mut problems);
    }
    let check_links =
        |owner: &str, links: &[EvidenceLink], need_support: bool, problems: &mut Vec<String>| {
            for link in links {
                match registry.get(link.claim.as_str()) {
                    None => problems.push(format!("{owner} cites unknown evidence {}", link.claim)),
                    Some(evidence)
                        if link.role != EvidenceRole::Caveat
                            && !evidence.verification_status.may_support() =>
                    {
                        problems.push(format!(
                            "{owner} uses {} ({}) as {}; outdated or contradicted claims may only be caveats",
                            link.claim,
                            evidence.verification_status.as_str(),
                            link.role.as_str()
                        ));
                    }
                    Some(_) => {}
                }
            }
            if need_support && !links.iter().any(|link| link.role != EvidenceRole::Caveat) {
                problems.push(format!("{owner} has no supporting evidence"));
            }
        };

    // Barriers.
    let barriers: Vec<Barrier> = document.barriers.iter().map(|b| b.barrier).collect();
    if barriers != Barrier::ALL {
        problems.push("barriers must be listed once each, in the standard order".to_owned());
    }
    for barrier in &document.barriers {
        check_links(&format!("barrier {}", barrier.barrier.as_str()), &barrier.evidence, true, &mut problems);
    }

    // Factors.
    let codes: BTreeSet<FactorCode> = document.factors.iter().map(|f| f.code).collect();
    if codes.len() != document.factors.len() || codes.len() != FactorCode::ALL.len() {
        problems.push("every factor must be defined exactly once".to_owned());
    }
    let mut weight_sums: BTreeMap<Barrier, u32> = BTreeMap::new();
    for factor in &document.factors {
        let owner = format!("factor {}", factor.code.as_str());
        if factor.barrier != factor.code.barrier() {
            problems.push(format!("{owner} belongs to {}", factor.code.barrier().as_str()));
        }
        *weight_sums.entry(factor.barrier).or_default() += factor.weight;
        let keys: Vec<&str> = factor.levels.iter().map(|l| l.key.as_str()).collect();
        let items: Vec<&str> = factor.checklist.iter().map(|i| i.key.as_str()).collect();
        match factor.code.scale() {
            ScaleKind::Levels(expected) => {
                if keys != expected || !items.is_empty() {
                    problems.push(format!("{owner} levels must be exactly {expected:?}"));
                }
            }
            ScaleKind::RouteFit => {
                if !keys.is_empty() || !items.is_empty() {
                    problems.push(format!("{owner} takes its values from the indication profiles"));
                }
            }
            ScaleKind::Checklist(expected) => {
                let expected = if factor.code == FactorCode::Va5 { RELEASE_ITEMS } else { expected };
                if !keys.is_empty() || items != expected {
                    problems.push(format!("{owner} checklist must be exactly {expected:?}"));
                }
            }
        }
        for level in &factor.levels {
            if !(0.0..=1.0).contains(&level.value) {
                problems.push(format!("{owner} level {} value must be 0-1", level.key));
            }
        }
        check_links(&owner, &factor.evidence, true, &mut problems);
    }
    for (barrier, sum) in weight_sums {
        if sum != 100 {
            problems.push(format!("factor weights of {} sum to {sum}, not 100", barrier.as_str()));
        }
    }

    // Caps, bonuses, warnings.
    let expected_cap_barrier = |cap: CapCode| match cap {
        CapCode::SurvivalUnmitigatedHostileMicroenvironment => Barrier::Survival,
        CapCode::RetentionRouteCannotReachTarget => Barrier::Retention,
        CapCode::VariabilityNoMoaLinkedPotencyAssay => Barrier::Variability,
        CapCode::RegulatoryPivotalFailureOrWithdrawal => Barrier::Regulatory,
    };
    let caps: BTreeSet<CapCode> = document.caps.iter().map(|c| c.cap).collect();
    if caps.len() != document.caps.len() || caps.len() != CapCode::ALL.len() {
        problems.push("every cap must be defined exactly once".to_owned());
    }
    for cap in &document.caps {
        let owner = format!("cap {}", cap.cap.as_str());
        if cap.barrier != expected_cap_barrier(cap.cap) || !(0.0..=100.0).contains(&cap.limit) {
            problems.push(format!("{owner} must cap {} at 0-100", expected_cap_barrier(cap.cap).as_str()));
        }
        check_links(&owner, &cap.evidence, true, &mut problems);
    }
    let bonuses: BTreeSet<BonusCode> = document.bonuses.iter().map(|b| b.bonus).collect();
    if bonuses.len() != document.bonuses.len() || bonuses.len() != BonusCode::ALL.len() {
        problems.push("every bonus must be defined exactly once".to_owned());
    }
    for bonus in &document.bonuses {
        let owner = format!("bonus {}", bonus.bonus.as_str());
        if bonus.barrier != Barrier::Regulatory || !(0.0..=100.0).contains(&bonus.points) {
            problems.push(format!("{owner} must add 0-100 points to regulatory"));
        }
        check_links(&owner, &bonus.evidence, true, &mut problems);
    }
    let warnings: BTreeSet<WarningCode> = document.warnings.iter().map(|w| w.warning).collect();
    if warnings.len() != document.warnings.len() || warnings.len() != WarningCode::ALL.len() {
        problems.push("every warning must be defined exactly once".to_owned());
    }
    for warning in &document.warnings {
        check_links(
            &format!("warning {}", warning.warning.as_str()),
            &warning.evidence,
            false,
            &mut problems,
        );
    }

    // Mechanisms.
    let mechanisms: BTreeSet<Mechanism> = document.mechanisms.iter().map(|m| m.mechanism).collect();
    if mechanisms.len() != document.mechanisms.len() || mechanisms.len() != Mechanism::ALL.len() {
        problems.push("every mechanism must be defined exactly once".to_owned());
    }
    for mechanism in &document.mechanisms {
        check_links(
            &format!("mechanism {}", mechanism.mechanism.as_str()),
            &mechanism.evidence,
            true,
            &mut problems,
        );
    }

    // Indication profiles.
    let mut profile_ids = BTreeSet::new();
    let mut covered: BTreeMap<Indication, usize> = BTreeMap::new();
    for profile in &document.indication_profiles {
        let owner = format!("indication profile {}", profile.id);
        if !profile_ids.insert(profile.id.as_str()) {
            problems.push(format!("{owner} is defined twice"));
        }
        let sum: u32 = Barrier::ALL.iter().map(|b| profile.barrier_weights.of(*b)).sum();
        if sum != 100 {
            problems.push(format!("{owner} barrier weights sum to {sum}, not 100"));
        }
        for indication in &profile.indications {
            *covered.entry(*indication).or_default() += 1;
        }
        check_route_table(&owner, &profile.route_fit, &registry, &mut problems);
        if let Some(chronic) = &profile.chronic_route_fit {
            let owner = format!("{owner} chronic phase");
            if chronic.reason.trim().is_empty() {
                problems.push(format!("{owner} needs a reason for its first day"));
            }
            check_route_table(&owner, &chronic.routes, &registry, &mut problems);
        }
        if (profile.maturity == ProfileMaturity::Worked) == profile.maturity_note.is_some() {
            problems.push(format!(
                "{owner} needs a maturity_note saying what it lacks exactly when it is not worked"
            ));
        }
        if profile.default_mechanisms.is_empty() || profile.standard_proms.iter().any(Vec::is_empty) {
            problems.push(format!("{owner} needs default mechanisms and non-empty outcome groups"));
        }
        if let Some(stratifier) = profile.severity_stratifier {
            if !stratifier.within_range() {
                problems
                    .push(format!("{owner} severity stratifier must name a threshold its measure can take"));
            }
            if stratifier
                .milder(0)
                .or(stratifier.milder(36500))
                .is_some_and(|milder| milder >= profile.hostility)
            {
                problems.push(format!(
                    "{owner} severity stratifier must name a hostility milder than the profile's"
                ));
            }
        }
        if profile.structural_endpoint_relevant == profile.structural_endpoints.is_empty()
            || (profile.structural_endpoint_relevant
                && !profile
                    .structural_endpoints
                    .iter()
                    .any(|endpoint| QUANTITATIVE_ENDPOINTS.contains(endpoint)))
        {
            problems.push(format!(
                "{owner} needs a quantitative structural endpoint exactly when structural endpoints are relevant"
            ));
        }
        let marker = profile.potency_marker.analyte;
        if profile.potency_marker.reason.trim().is_empty()
            || !document.mechanisms.iter().any(|mechanism| {
                profile.default_mechanisms.contains(&mechanism.mechanism)
                    && mechanism.potency_markers.contains(&marker)
            })
        {
            problems.push(format!(
                "{owner} potency marker {} must be a marker of a default mechanism, with a reason",
                marker.as_str()
            ));
        }
        check_links(&owner, &profile.evidence, true, &mut problems);
    }
    for indication in Indication::ALL {
        if covered.get(indication) != Some(&1) {
            problems.push(format!("indication {} must belong to exactly one profile", indication.as_str()));
        }
    }

    // Region checklists.
    let mut regulators: BTreeMap<Regulator, usize> = BTreeMap::new();
    for region in &document.region_checklists {
        let owner = format!("region checklist {}", region.id);
        for regulator in &region.regulators {
            *regulators.entry(*regulator).or_default() += 1;
        }
        if region.common != region.regulators.is_empty() {
            problems
                .push(format!("{owner}: the common core names no regulator, and every other checklist does"));
        }
        if region.items.is_empty() {
            problems.push(format!("{owner} has no items"));
        }
        for item in &region.items {
            if let Requirement::FactorAtLeast { factor, min_value } = item.requirement
                && (factor >= FactorCode::Rg4 || !(0.0..=1.0).contains(&min_value))
            {
                problems
                    .push(format!("{owner} item {} must check a factor listed before RG4, at 0-1", item.key));
            }
        }
        check_links(&owner, &region.evidence, true, &mut problems);
    }
    for regulator in Regulator::ALL {
        if regulators.get(regulator) != Some(&1) {
            problems.push(format!(
                "regulator {} must belong to exactly one region checklist",
                regulator.as_str()
            ));
        }
    }

    let mut mitigation_ids = BTreeSet::new();
    for factor in &document.factors {
        if let Some(unknown) =
            factor.rationale_by_profile.keys().find(|id| !profile_ids.contains(id.as_str()))
        {
            problems.push(format!(
                "factor {} words its rationale for unknown profile {unknown}",
                factor.code.as_str()
            ));
        }
    }
    for mitigation in &document.mitigations {
        let owner = format!("mitigation {}", mitigation.id);
        if !mitigation_ids.insert(mitigation.id.as_str()) {
            problems.push(format!("{owner} is defined twice"));
        }
        let by_profile = !mitigation.change_by_profile.is_empty() || mitigation.change_from_profile.is_some();
        if mitigation.change.is_some() == by_profile {
            problems.push(format!("{owner} needs either change or a change by profile"));
        }
        if let Some(unknown) =
            mitigation.change_by_profile.keys().find(|id| !profile_ids.contains(id.as_str()))
        {
            problems.push(format!("{owner} names unknown profile {unknown}"));
        }
        check_links(&owner, &mitigation.evidence, true, &mut problems);
    }

    // Readiness.
    let readiness = &document.readiness;
    if !(0.0 < readiness.approaching_share
        && readiness.approaching_share <= readiness.complete_share
        && readiness.complete_share <= 1.0)
    {
        problems
            .push("readiness shares must satisfy 0 < approaching_share <= complete_share <= 1".to_owned());
    }
    check_links("readiness", &readiness.evidence, true, &mut problems);
    if !readiness.levels.iter().map(|level| level.level).eq(1..=MAX_LEVEL) {
        problems.push(format!("readiness levels must be 1-{MAX_LEVEL}, once each, in order"));
    }
    let mut gate_codes = BTreeSet::new();
    for gate in &readiness.gates {
        let owner = format!("gate {}", gate.code);
        if !gate_codes.insert(gate.code.as_str()) {
            problems.push(format!("{owner} is defined twice"));
        }
        if !(1..=MAX_LEVEL).contains(&gate.level) || gate.weight == 0 {
            problems.push(format!("{owner} needs a level 1-{MAX_LEVEL} and a positive weight"));
        }
        if let Some(mitigation) = &gate.mitigation
            && !mitigation_ids.contains(mitigation.as_str())
        {
            problems.push(format!("{owner} names unknown mitigation {mitigation}"));
        }
        check_test(&owner, &gate.test, &mut problems);
        check_links(&owner, &gate.evidence, true, &mut problems);
        let support: Vec<&EvidenceLink> =
            gate.evidence.iter().filter(|link| link.role != EvidenceRole::Caveat).collect();
        if !support.is_empty()
            && support.iter().all(|link| {
                registry
                    .get(link.claim.as_str())
                    .is_some_and(|evidence| evidence.verification_status == VerificationStatus::Unverifiable)
            })
        {
            problems.push(format!(
                "{owner} rests on unverifiable claims alone; cite a claim that may be checked as support"
            ));
        }
    }
    for level in 1..=MAX_LEVEL {
        if !readiness.gates.iter().any(|gate| gate.level == level && gate.mandatory) {
            problems.push(format!("readiness level {level} has no mandatory gate"));
        }
    }
    let events: BTreeSet<RegressionEvent> = readiness.regression_events.iter().map(|r| r.event).collect();
    if events.len() != readiness.regression_events.len() || events.len() != RegressionEvent::ALL.len() {
        problems.push("every regression event must be defined exactly once".to_owned());
    }
    for rule in &readiness.regression_events {
        let owner = format!("regression event {}", rule.event.as_str());
        if rule.capped_at > MAX_LEVEL {
            problems.push(format!("{owner} must cap at 0-{MAX_LEVEL}"));
        }
        check_links(&owner, &rule.evidence, true, &mut problems);
    }
    for check in &readiness.score_checks {
        if !(1..=MAX_LEVEL).contains(&check.min_level) || !(0.0..=100.0).contains(&check.below) {
            problems.push(format!(
                "score check {} needs a level 1-{MAX_LEVEL} and a score 0-100",
                check.warning.as_str()
            ));
        }
    }
    let mrl = &readiness.mrl;
    if !(1..=MAX_LEVEL).contains(&mrl.expected_from_level) {
        problems.push(format!("MRL-lite expected_from_level must be 1-{MAX_LEVEL}"));
    }
    check_links("MRL-lite", &mrl.evidence, true, &mut problems);
    if !mrl.levels.iter().map(|level| level.level).eq(1..=MAX_MRL_LEVEL) {
        problems.push(format!("MRL-lite levels must be 1-{MAX_MRL_LEVEL}, once each, in order"));
    }
    let mut criterion_codes = BTreeSet::new();
    for level in &mrl.levels {
        if level.criteria.is_empty() {
            problems.push(format!("MRL-lite level {} has no criteria", level.level));
        }
        for criterion in &level.criteria {
            let owner = format!("MRL-lite criterion {}", criterion.code);
            if !criterion_codes.insert(criterion.code.as_str()) {
                problems.push(format!("{owner} is defined twice"));
            }
            check_test(&owner, &criterion.test, &mut problems);
        }
    }

    problems
}
