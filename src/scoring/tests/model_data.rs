//! The model data: it loads, every citation is verbatim, wrong seed claims never support
//! anything, and the loader rejects broken data.

use std::path::PathBuf;

use crate::scoring::document::{EvidenceRole, VerificationStatus};
use crate::scoring::facts::Facts;
use crate::scoring::model::{MODEL_TOML, SEED_FILES};
use crate::scoring::{FactorCode, Model, ModelError};

fn shared(path: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sources").join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{} must exist: {e}", path.display()))
}

/// Every outside source the model may cite: research.md, the sources found after it
/// (sources/external.md) and the research notes behind the indication profiles
/// (docs/indications/research/).
fn research() -> String {
    let notes = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/indications/research");
    ["group_msk_vascular.md", "group_immune_lung.md", "group_cardio_neuro.md"]
        .iter()
        .map(|note| std::fs::read_to_string(notes.join(note)).expect("research note exists"))
        .fold(shared("domain/research.md") + &shared("external.md"), |all, note| all + &note)
}

#[test]
fn the_embedded_model_data_is_valid() {
    let model = Model::load().expect("model data is valid");
    assert_eq!(model.version(), model.document().changelog[0].version);
    assert_eq!(model.document().factors.len(), FactorCode::ALL.len());
}

#[test]
fn every_seed_quote_and_citation_appears_verbatim_in_its_seed() {
    let seeds: Vec<(&str, String)> =
        SEED_FILES.iter().map(|file| (*file, shared(&format!("seeds/{file}")))).collect();
    let mut checked = 0;
    for evidence in Model::current().evidence() {
        let Some(file) = &evidence.seed_file else {
            continue;
        };
        let (_, text) = seeds.iter().find(|(name, _)| name == file).expect("known seed file");
        for excerpt in [&evidence.quote, &evidence.citation].into_iter().flatten() {
            assert!(text.contains(excerpt.as_str()), "{}: {excerpt:?} is not in {file}", evidence.id);
            checked += 1;
        }
    }
    assert!(checked > 150, "only {checked} excerpts checked");
}

#[test]
fn every_external_fact_is_marked_external_with_a_source_listed_in_the_research() {
    let research = research();
    let mut external = 0;
    for evidence in Model::current().evidence() {
        if evidence.seed_file.is_none() {
            // A source a note marks UNCONFIRMED is kept as unverifiable, never as external.
            assert!(
                matches!(
                    evidence.verification_status,
                    VerificationStatus::ExternalSource | VerificationStatus::Unverifiable
                ),
                "{}",
                evidence.id
            );
            let source = evidence.external_source.as_deref().expect("external source");
            assert!(research.contains(source), "{}: {source:?} is not in research.md", evidence.id);
            external += 1;
        } else {
            assert_ne!(evidence.verification_status, VerificationStatus::ExternalSource, "{}", evidence.id);
        }
    }
    assert!(external >= 10);
}

#[test]
fn every_factor_has_supporting_evidence_that_may_support() {
    let model = Model::current();
    let registry = model.evidence();
    for factor in &model.document().factors {
        let supports = factor.evidence.iter().filter(|link| {
            link.role != EvidenceRole::Caveat
                && registry.iter().any(|e| e.id == link.claim && e.verification_status.may_support())
        });
        assert!(supports.count() >= 1, "{} has no support", factor.code.as_str());
    }
}

#[test]
fn claims_research_shows_wrong_are_carried_with_their_status_and_only_as_caveats() {
    let model = Model::current();
    let document = model.document();
    let status = |id: &str| {
        model
            .evidence()
            .iter()
            .find(|e| e.id == id)
            .map(|e| e.verification_status)
            .expect("claim is in the registry")
    };
    // Research §4: the seed's FDA guidance date, NurOwn, Alofisel, Temcell "first", MASTERS-2, CHART-1 citation.
    // OM-16 and RG-04 are contradicted, not merely outdated: darvadstrocel was never filed with the
    // FDA, so it was never under FDA review and no approval was withheld (EXT-DARVADSTROCEL-US).
    for (id, expected) in [
        ("VA-11", VerificationStatus::Outdated),
        ("VA-22", VerificationStatus::Contradicted),
        ("RG-04", VerificationStatus::Contradicted),
        ("RG-06", VerificationStatus::Contradicted),
        ("RG-07", VerificationStatus::Outdated),
        ("RG-09", VerificationStatus::Outdated),
        ("OM-16", VerificationStatus::Contradicted),
        ("CL-10", VerificationStatus::Contradicted),
        ("VA-25", VerificationStatus::Contradicted),
    ] {
        assert_eq!(status(id), expected, "{id}");
    }
    let mut links = Vec::new();
    links.extend(document.barriers.iter().flat_map(|b| &b.evidence));
    links.extend(document.factors.iter().flat_map(|f| &f.evidence));
    links.extend(document.caps.iter().flat_map(|c| &c.evidence));
    links.extend(document.bonuses.iter().flat_map(|b| &b.evidence));
    links.extend(document.mechanisms.iter().flat_map(|m| &m.evidence));
    links.extend(document.indication_profiles.iter().flat_map(|p| &p.evidence));
    links.extend(document.region_checklists.iter().flat_map(|r| &r.evidence));
    links.extend(document.mitigations.iter().flat_map(|m| &m.evidence));
    links.extend(document.warnings.iter().flat_map(|w| &w.evidence));
    links.extend(document.readiness.gates.iter().flat_map(|g| &g.evidence));
    links.extend(document.readiness.regression_events.iter().flat_map(|r| &r.evidence));
    for link in links {
        if !status(&link.claim).may_support() {
            assert_eq!(link.role, EvidenceRole::Caveat, "{} used as {}", link.claim, link.role.as_str());
        }
    }
}

fn load_changed(from: &str, to: &str) -> ModelError {
    assert!(MODEL_TOML.contains(from), "{from:?} is in the model data");
    Model::from_toml(&MODEL_TOML.replacen(from, to, 1)).expect_err("changed data is rejected")
}

#[test]
fn the_loader_rejects_broken_model_data() {
    let cases = [
        ("weight = 30", "weight = 31", "sum to 101"),
        (
            "{ claim = \"SV-04\", role = \"supports\" }",
            "{ claim = \"VA-11\", role = \"supports\" }",
            "may only be caveats",
        ),
        (
            "{ claim = \"SV-04\", role = \"supports\" }",
            "{ claim = \"SV-99\", role = \"supports\" }",
            "unknown evidence SV-99",
        ),
        (
            "{ key = \"mechanical\", value = 0.4",
            "{ key = \"mechanic\", value = 0.4",
            "levels must be exactly",
        ),
        ("{ key = \"mechanical\", value = 0.4", "{ key = \"mechanical\", value = 1.4", "value must be 0-1"),
        ("survival = 20, retention = 15", "survival = 25, retention = 15", "barrier weights sum to 105"),
        ("version = \"2.1.0\"", "version = \"2.2.0\"", "changelog must start"),
        (
            "seed_file = \"000_dbad888260529654.txt\"",
            "seed_file = \"999_unknown.txt\"",
            "needs a known seed_file and a quote",
        ),
        (
            "evidence = [{ claim = \"SF-03\", role = \"supports\" }, { claim = \"SF-05\", role = \"supports\" }, { claim = \"SF-08\", role = \"supports\" }, { claim = \"RG-03\", role = \"caveat\" }]",
            "evidence = [{ claim = \"RG-03\", role = \"supports\" }]",
            "gate l5_tumorigenicity_strategy rests on unverifiable claims alone",
        ),
        ("\ntopical = { fit = ", "\n# topical = { fit = ", "must rate every route; topical is missing"),
        ("maturity = \"worked\"", "maturity = \"draft\"", "needs a maturity_note"),
        (
            "potency_marker = { analyte = \"vegf\", reason = \"Angiogenesis is the limb",
            "potency_marker = { analyte = \"ecm_synthesis\", reason = \"Angiogenesis is the limb",
            "potency marker ecm_synthesis must be a marker of a default mechanism",
        ),
        (
            "structural_endpoints = [\"mri_t2_mapping\"]",
            "structural_endpoints = [\"pfirrmann\"]",
            "needs a quantitative structural endpoint",
        ),
        (
            "change_from_profile = \"best_route\"",
            "change_from_profile = \"best_route\"\nchange = { delivery = { route = \"intravenous\" } }",
            "needs either change or a change by profile",
        ),
        (
            "milder_below = 3, hostility = \"high\"",
            "milder_below = 3, hostility = \"severe\"",
            "milder than the profile's",
        ),
    ];
    for (from, to, expected) in cases {
        let error = load_changed(from, to).to_string();
        assert!(error.contains(expected), "{to:?}: {error}");
    }
    assert!(matches!(Model::from_toml("version = 1"), Err(ModelError::Parse(_))));
}

/// The evidence block of `id` in the model data, up to the next blank line.
fn evidence_block(id: &str) -> &'static str {
    let start = MODEL_TOML.find(&format!("\nid = \"{id}\"\n")).expect("claim is in the model data");
    let end = MODEL_TOML[start + 1..].find("\n\n").map_or(MODEL_TOML.len(), |end| start + 1 + end);
    &MODEL_TOML[start..end]
}

#[test]
fn the_loader_refuses_externally_confirmed_without_an_outside_source() {
    // A seed claim research.md marks ✅ without naming a source cannot be promoted.
    let asserted = evidence_block("SV-12");
    let promoted = asserted
        .replace("verification_status = \"seed_asserted\"", "verification_status = \"externally_confirmed\"");
    assert_ne!(asserted, promoted);
    let error = load_changed(asserted, &promoted).to_string();
    assert!(error.contains("evidence SV-12 is externally_confirmed without an outside source"), "{error}");
    assert!(error.contains("confirmed_by"), "the message names the field to fill: {error}");

    // Taking the source away from a confirmed claim is refused too, with its identifiers orphaned.
    let confirmed = evidence_block("VA-09");
    let stripped = confirmed.replace("\nconfirmed_by = \"trials.co/NCT00366145\"", "");
    assert_ne!(confirmed, stripped);
    let error = load_changed(confirmed, &stripped).to_string();
    assert!(error.contains("evidence VA-09 is externally_confirmed without an outside source"), "{error}");
    assert!(error.contains("evidence VA-09 has a url or identifier but names no outside source"), "{error}");

    // A blank source is no source.
    let blank = confirmed.replace("confirmed_by = \"trials.co/NCT00366145\"", "confirmed_by = \" \"");
    let error = load_changed(confirmed, &blank).to_string();
    assert!(error.contains("evidence VA-09 is externally_confirmed without an outside source"), "{error}");

    // A confirming source on a claim that is not confirmed contradicts its status.
    let downgraded = confirmed
        .replace("verification_status = \"externally_confirmed\"", "verification_status = \"seed_asserted\"");
    let error = load_changed(confirmed, &downgraded).to_string();
    assert!(error.contains("evidence VA-09 names confirmed_by but is seed_asserted"), "{error}");

    // Identifiers must be well formed.
    let bad_id = confirmed.replace("registry_id = \"NCT00366145\"", "registry_id = \"NCT 00366145\"");
    let error = load_changed(confirmed, &bad_id).to_string();
    assert!(error.contains("evidence VA-09 registry_id must be one id"), "{error}");
}

#[test]
fn every_externally_confirmed_claim_names_a_source_the_research_gives() {
    // The confirming source is quoted exactly as research.md (or sources/external.md) gives it, so
    // a reader can find it there; every DOI, PMID, PMCID and registry id is found in the research
    // too (for the indication profiles, in their research notes).
    let research = research();
    let mut confirmed = 0;
    for evidence in Model::current().evidence() {
        if evidence.verification_status == VerificationStatus::ExternallyConfirmed {
            let source =
                evidence.confirmed_by.as_deref().unwrap_or_else(|| panic!("{} names no source", evidence.id));
            assert!(
                research.contains(source),
                "{}: {source:?} is not in research.md or external.md",
                evidence.id
            );
            confirmed += 1;
        }
        for identifier in
            [&evidence.doi, &evidence.pmid, &evidence.pmcid, &evidence.registry_id].into_iter().flatten()
        {
            assert!(
                research.contains(identifier.as_str()),
                "{}: {identifier} is not in the research",
                evidence.id
            );
        }
    }
    assert!(confirmed >= 5, "only {confirmed} claims are externally confirmed");
}

#[test]
fn weakly_grounded_flags_every_factor_and_gate_supported_only_by_unconfirmed_claims() {
    let model = Model::current();
    let registry = model.evidence();
    let grounded = |links: &[crate::scoring::document::EvidenceLink]| {
        links.iter().any(|link| {
            link.role == EvidenceRole::Supports
                && registry.iter().any(|e| {
                    e.id == link.claim
                        && matches!(
                            e.verification_status,
                            VerificationStatus::ExternallyConfirmed | VerificationStatus::ExternalSource
                        )
                })
        })
    };
    let document = model.document();
    let weak_factors: Vec<FactorCode> =
        document.factors.iter().filter(|f| !grounded(&f.evidence)).map(|f| f.code).collect();
    let weak_gates: Vec<&str> =
        document.readiness.gates.iter().filter(|g| !grounded(&g.evidence)).map(|g| g.code.as_str()).collect();
    // SF1 rests on seed claims alone since SF-03 ("regulators mandate CGH or NGS") is a caveat.
    assert!(weak_factors.contains(&FactorCode::Sf1));
    assert!(weak_gates.contains(&"l5_tumorigenicity_strategy"));
    assert!(!weak_factors.is_empty() && weak_factors.len() < document.factors.len());

    // Every assessment that uses a factor or gate carries its flag.
    for (name, profile) in crate::scoring::reference_programs() {
        let assessment = model.assess(&profile);
        for factor in assessment.barriers.iter().flat_map(|b| &b.factors) {
            assert_eq!(
                factor.weakly_grounded,
                weak_factors.contains(&factor.factor),
                "{name} {}",
                factor.factor.as_str()
            );
        }
        let gates: Vec<_> = assessment.readiness.levels.iter().flat_map(|level| &level.gates).collect();
        assert_eq!(gates.len(), document.readiness.gates.len(), "{name}");
        for gate in gates {
            assert_eq!(
                gate.weakly_grounded,
                weak_gates.contains(&gate.code.as_ref()),
                "{name} {}",
                gate.code
            );
        }
    }

    // No gate rests on unverifiable claims alone.
    for gate in &document.readiness.gates {
        let support: Vec<_> = gate.evidence.iter().filter(|link| link.role != EvidenceRole::Caveat).collect();
        assert!(
            support.iter().any(|link| registry
                .iter()
                .any(|e| e.id == link.claim && e.verification_status != VerificationStatus::Unverifiable)),
            "{} rests on unverifiable claims alone",
            gate.code
        );
    }
}

#[test]
fn every_input_path_a_factor_reads_is_rendered_for_its_line() {
    for factor in FactorCode::ALL {
        for path in factor.inputs() {
            let mut rendered = String::new();
            let known = crate::scoring::assessment::render_input(path, &Facts::UNKNOWN, &mut rendered);
            assert!(known, "{}: {path}", factor.as_str());
        }
    }
}

#[test]
fn the_model_document_serialises_with_every_part() {
    let json = serde_json::to_value(Model::current().document()).expect("serialises");
    for part in [
        "barriers",
        "factors",
        "caps",
        "bonuses",
        "mechanisms",
        "indication_profiles",
        "region_checklists",
        "mitigations",
        "warnings",
        "evidence",
        "changelog",
    ] {
        assert!(json[part].as_array().is_some_and(|items| !items.is_empty()), "{part}");
    }
    assert_eq!(json["version"], Model::current().version());
}

#[test]
fn each_barrier_lists_exactly_its_factors() {
    for barrier in crate::scoring::Barrier::ALL {
        let expected: Vec<FactorCode> =
            FactorCode::ALL.iter().copied().filter(|factor| factor.barrier() == *barrier).collect();
        assert_eq!(barrier.factors(), expected.as_slice(), "{}", barrier.as_str());
    }
}

/// The scientist-facing documentation lists every part of the model and every claim a factor cites.
#[test]
fn the_documentation_covers_the_whole_model() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/scoring-model.md");
    let doc = std::fs::read_to_string(&path).expect("docs/scoring-model.md exists");
    let document = Model::current().document();
    assert!(doc.contains(&format!("Model version **{}**", document.version)));
    let mut names: Vec<String> = Vec::new();
    for factor in &document.factors {
        names.push(format!("**{}**", factor.code.as_str()));
        names.extend(factor.evidence.iter().map(|link| link.claim.clone()));
    }
    names.extend(document.caps.iter().map(|c| c.cap.as_str().to_owned()));
    names.extend(document.mitigations.iter().map(|m| format!("`{}`", m.id)));
    names.extend(document.warnings.iter().map(|w| w.warning.as_str().to_owned()));
    names.extend(document.indication_profiles.iter().map(|p| format!("**{}**", p.id)));
    names.extend(document.changelog.iter().map(|c| format!("### {}", c.version)));
    for name in names {
        assert!(doc.contains(&name), "docs/scoring-model.md does not mention {name}");
    }
    // Each factor's row shows each of its claims with the citation and the status word the model
    // has now, so a changed status cannot leave the documentation behind.
    let registry = Model::current().evidence();
    let mut stale = Vec::new();
    for factor in &document.factors {
        let head = format!("| **{}** ", factor.code.as_str());
        let row =
            doc.lines().find(|line| line.starts_with(&head)).unwrap_or_else(|| panic!("no row for {head}"));
        for link in &factor.evidence {
            let evidence = registry.iter().find(|e| e.id == link.claim).expect("claim is in the registry");
            let citation = match (&evidence.citation, &evidence.external_source) {
                (Some(citation), _) => citation.clone(),
                (None, Some(source)) => source.clone(),
                (None, None) if evidence.seed_file.as_deref() == Some(SEED_FILES[0]) => {
                    "[DISC], no citation".to_owned()
                }
                (None, None) => {
                    format!("[REV {}], no citation", evidence.locator.as_deref().unwrap_or_default())
                }
            };
            let role = match link.role {
                EvidenceRole::Supports => String::new(),
                role => format!(" ({})", role.as_str()),
            };
            let shown =
                format!("{} — {citation} — `{}`{role}", link.claim, evidence.verification_status.as_str());
            if !row.contains(&shown) {
                stale.push(format!("{}: {shown}", factor.code.as_str()));
            }
        }
    }
    assert!(stale.is_empty(), "docs/scoring-model.md factor rows lack:\n{}", stale.join("\n"));
    // The table of reference-program scores shows what the model computes now.
    let mut missing = Vec::new();
    for (name, profile) in crate::scoring::reference_programs() {
        let overall = Model::current().assess(&profile).overall;
        let row = format!(
            "| `{name}` | {} | {} | {}–{} | {} |",
            overall.readiness_index,
            overall.arithmetic_mean,
            overall.pessimistic,
            overall.optimistic,
            overall.limiting_barrier.as_str()
        );
        if !doc.contains(&row) {
            missing.push(row);
        }
    }
    assert!(missing.is_empty(), "docs/scoring-model.md lacks:\n{}", missing.join("\n"));
}

/// Issue 15: every indication the schema accepts has a profile with standard endpoints and their
/// MCIDs, a reasoned fit for every route and a reference program that is scored under it; a
/// profile is `worked` only when it also has its procedure risks (SF4) and no open point.
#[test]
fn every_indication_has_a_profile_with_endpoints_a_full_route_table_and_a_reference_program() {
    use crate::scoring::document::ProfileMaturity;
    use crate::scoring::profile::{Indication, Route, parse_profile};
    let model = Model::current();
    let document = model.document();
    let sf4 = document.factors.iter().find(|factor| factor.code == FactorCode::Sf4).expect("SF4 is defined");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for indication in Indication::ALL {
        let profile = document
            .indication_profiles
            .iter()
            .find(|profile| profile.indications.contains(indication))
            .unwrap_or_else(|| panic!("{} has no profile", indication.as_str()));
        let id = &profile.id;
        for route in Route::ALL {
            let fit = profile
                .route_fit
                .get(route)
                .unwrap_or_else(|| panic!("{id} does not rate {}", route.as_str()));
            assert!(!fit.reason.trim().is_empty(), "{id} gives no reason for {}", route.as_str());
        }
        assert!(!profile.mcid.trim().is_empty(), "{id} states no MCID");
        assert!(!profile.hostility_rationale.trim().is_empty(), "{id} gives no reason for its hostility");
        assert!(!profile.reference_programs.is_empty(), "{id} has no reference program");
        for path in &profile.reference_programs {
            let text =
                std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{id}: {path}: {e}"));
            // A back-test case holds its profile under `profile`; a reference program is one.
            let json: serde_json::Value = serde_json::from_str(&text).expect("reference program is JSON");
            let program = json.get("profile").unwrap_or(&json).to_string();
            let parsed = parse_profile(program.as_bytes()).unwrap_or_else(|e| panic!("{id}: {path}: {e:?}"));
            let scored_under = model.assess(&parsed).indication_profile.id.to_string();
            assert_eq!(&scored_under, id, "{path} is not scored under {id}");
        }
        if *indication == Indication::Other {
            // The generic profile cannot be worked: it states its limits instead.
            assert_eq!(profile.maturity, ProfileMaturity::Draft);
            assert!(profile.maturity_note.is_some());
            continue;
        }
        assert!(!profile.standard_proms.is_empty(), "{id} names no standard endpoint");
        if profile.maturity == ProfileMaturity::Worked {
            assert!(profile.maturity_note.is_none(), "{id} is worked yet names an open point");
            assert!(
                sf4.rationale_by_profile.contains_key(id),
                "{id} is worked without its procedure risks (SF4)"
            );
        }
    }
}

/// Each profile's mitigations propose its own route, endpoints and potency marker (issue 15): a
/// profile split from a draft once inherited the draft's rows, so an acute-MI program was told to
/// adopt heart-failure endpoints.
#[test]
fn every_profile_mitigation_proposes_what_that_profile_states() {
    use crate::scoring::document::ProfileDerivedChange as Derived;
    use crate::scoring::model::derived_change;
    let document = Model::current().document();
    for profile in &document.indication_profiles {
        let id = &profile.id;
        let route = derived_change(Derived::BestRoute, profile)
            .and_then(|change| change.delivery?.route)
            .unwrap_or_else(|| panic!("{id} proposes no route"));
        let best = profile.route_fit.values().map(|fit| fit.fit).fold(0.0, f64::max);
        assert_eq!(
            profile.route_fit[&route].fit,
            best,
            "{id} proposes {}, not its best route",
            route.as_str()
        );

        let proms = derived_change(Derived::StandardOutcomeSet, profile)
            .and_then(|change| change.clinical?.proms)
            .unwrap_or_default();
        assert_eq!(proms.len(), profile.standard_proms.len(), "{id}: one measure per outcome group");
        for group in &profile.standard_proms {
            assert!(group.iter().any(|prom| proms.contains(prom)), "{id} leaves an outcome group uncovered");
        }

        for derived in [Derived::ExploratoryPotencyAssay, Derived::LotReleasePotencyAssay] {
            let assays = derived_change(derived, profile)
                .and_then(|change| change.quality?.potency_assays)
                .unwrap_or_default();
            assert_eq!(
                assays.iter().map(|assay| assay.analyte).collect::<Vec<_>>(),
                vec![Some(profile.potency_marker.analyte)],
                "{id}"
            );
        }

        let structural = derived_change(Derived::StructuralEndpoints, profile)
            .and_then(|change| change.clinical?.structural_endpoints)
            .unwrap_or_default();
        assert_eq!(structural, profile.structural_endpoints, "{id}");
        assert_eq!(structural.is_empty(), !profile.structural_endpoint_relevant, "{id}");
    }
    let myocardial_infarction = document
        .indication_profiles
        .iter()
        .find(|profile| profile.id == "myocardial_infarction")
        .expect("the acute MI profile exists");
    let proms = derived_change(Derived::StandardOutcomeSet, myocardial_infarction)
        .and_then(|change| change.clinical?.proms)
        .unwrap_or_default();
    assert!(
        proms.iter().all(|prom| !matches!(prom.as_str(), "kccq" | "hierarchical_composite")),
        "acute MI is offered heart-failure endpoints: {proms:?}"
    );
}
