//! The back-test: real MSC programs written from their public records, each as it stood at a
//! dated decision point, scored by the current model and compared with what happened next.
//!
//! The cases are files in `validation/cases/` (one per decision point, with its sources); the
//! report is `docs/validation.md`, written by `msc-readiness backtest` and checked by a test.
//! Nothing here names a product: the model sees each case's profile only.

use std::fmt::Write as _;
use std::path::Path;

use chrono::NaiveDate;
use serde::Deserialize;

use crate::scoring::ValidationSummary;
use crate::scoring::backtest::{Prepared, Verdict};
use crate::scoring::profile::Source;
use crate::scoring::{Model, parse_profile};

/// The folder of the case files, relative to the repository.
pub const CASES_DIR: &str = "validation/cases";
/// The hand-written discussion of the disagreements, appended to the report.
pub const DISCUSSION: &str = "validation/discussion.md";
/// Weight draws of the robustness analysis.
pub const DRAWS: u64 = 1000;
/// Each weight is multiplied by a factor drawn uniformly from 1 ± this.
pub const SPREAD: f64 = 0.25;

/// Where the program stood at its decision point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// A non-pivotal Phase 2 readout was pending.
    Phase2Readout,
    /// A pivotal (Phase 3 or 2/3) readout was pending.
    PivotalReadout,
    /// A regulator's decision on a marketing application was pending.
    MarketingDecision,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Self::Phase2Readout => "phase 2 readout",
            Self::PivotalReadout => "pivotal readout",
            Self::MarketingDecision => "marketing decision",
        }
    }
}

/// What happened at the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeClass {
    Approved,
    ApprovedConditional,
    RejectedOrCrl,
    WithdrawnApplication,
    PivotalFailed,
    PivotalPositive,
    TrialFailedNonPivotal,
    Discontinued,
}

impl OutcomeClass {
    /// Whether the program went on: approved, or its pivotal trial succeeded.
    pub fn success(self) -> bool {
        matches!(self, Self::Approved | Self::ApprovedConditional | Self::PivotalPositive)
    }

    fn approved(self) -> bool {
        matches!(self, Self::Approved | Self::ApprovedConditional)
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Approved => "approved",
            Self::ApprovedConditional => "approved (conditional)",
            Self::RejectedOrCrl => "rejected / complete response",
            Self::WithdrawnApplication => "application withdrawn",
            Self::PivotalFailed => "pivotal trial failed",
            Self::PivotalPositive => "pivotal trial positive",
            Self::TrialFailedNonPivotal => "trial failed (non-pivotal)",
            Self::Discontinued => "discontinued",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionPoint {
    pub date: NaiveDate,
    pub pending: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    pub class: OutcomeClass,
    pub date: Option<NaiveDate>,
    pub summary: String,
}

/// One case file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    id: String,
    program: String,
    decision_point: DecisionPoint,
    stage_at_decision: Stage,
    outcome: Outcome,
    sources: Vec<Source>,
    notes: Option<String>,
    profile: serde_json::Value,
}

/// A case, its profile parsed and normalised.
#[derive(Debug, Clone)]
pub struct Case {
    pub id: String,
    pub program: String,
    pub decision_point: DecisionPoint,
    pub stage: Stage,
    pub outcome: Outcome,
    pub sources: Vec<Source>,
    pub notes: Option<String>,
    pub prepared: Prepared,
}

/// Reads every `*.json` case in `dir`, in file-name order.
pub fn load_cases(dir: &Path) -> Result<Vec<Case>, String> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(|error| format!("{}: {error}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let text =
                std::fs::read_to_string(path).map_err(|error| format!("{}: {error}", path.display()))?;
            let file: CaseFile =
                serde_json::from_str(&text).map_err(|error| format!("{}: {error}", path.display()))?;
            let profile = parse_profile(file.profile.to_string().as_bytes())
                .map_err(|error| format!("{}: profile.{error}", path.display()))?;
            if path.file_stem().and_then(|stem| stem.to_str()) != Some(file.id.as_str()) {
                return Err(format!("{}: the id {} must be the file name", path.display(), file.id));
            }
            Ok(Case {
                id: file.id,
                program: file.program,
                decision_point: file.decision_point,
                stage: file.stage_at_decision,
                outcome: file.outcome,
                sources: file.sources,
                notes: file.notes,
                prepared: Prepared::new(&profile),
            })
        })
        .collect()
}

/// A rule on levels and the cases that break it.
#[derive(Debug, Clone, PartialEq)]
pub struct LevelCheck {
    pub rule: &'static str,
    pub cases: usize,
    pub failing: Vec<String>,
}

/// A pair of cases at the same stage, one that went on and one that did not.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    pub stage: Stage,
    pub success: usize,
    pub failure: usize,
}

/// The figures of one model on the cases.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub verdicts: Vec<Verdict>,
    pub level_checks: Vec<LevelCheck>,
    /// Per pair: 1 when the successful program has the higher index, 0.5 on a tie, 0 otherwise.
    pub pair_scores: Vec<f64>,
    /// Share of same-stage pairs ordered right (ties count half); `None` without pairs.
    pub ordering_share: Option<f64>,
    /// AUC of the index for success against failure over all cases; `None` without both.
    pub auc: Option<f64>,
}

fn concordance(success: u16, failure: u16) -> f64 {
    match success.cmp(&failure) {
        std::cmp::Ordering::Greater => 1.0,
        std::cmp::Ordering::Equal => 0.5,
        std::cmp::Ordering::Less => 0.0,
    }
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, count) = values.fold((0.0, 0usize), |(sum, count), value| (sum + value, count + 1));
    (count > 0).then(|| sum / count as f64)
}

/// The same-stage success/failure pairs.
pub fn pairs(cases: &[Case]) -> Vec<Pair> {
    let mut pairs = Vec::new();
    for (success, s) in cases.iter().enumerate().filter(|(_, case)| case.outcome.class.success()) {
        for (failure, _) in cases
            .iter()
            .enumerate()
            .filter(|(_, case)| !case.outcome.class.success() && case.stage == s.stage)
        {
            pairs.push(Pair { stage: s.stage, success, failure });
        }
    }
    pairs
}

/// Scores every case under `model` and computes the agreement figures.
pub fn figures(model: &Model, cases: &[Case], pairs: &[Pair]) -> Figures {
    let verdicts: Vec<Verdict> = cases.iter().map(|case| model.verdict(&case.prepared)).collect();
    let check = |rule: &'static str, applies: &dyn Fn(&Case) -> bool, holds: &dyn Fn(&Verdict) -> bool| {
        let applying: Vec<usize> = (0..cases.len()).filter(|i| applies(&cases[*i])).collect();
        LevelCheck {
            rule,
            cases: applying.len(),
            failing: applying
                .iter()
                .filter(|i| !holds(&verdicts[**i]))
                .map(|i| cases[*i].id.clone())
                .collect(),
        }
    };
    let level_checks = vec![
        check(
            "approved by the decision: MSC-TRL at least 8",
            &|case| case.outcome.class.approved(),
            &|verdict| verdict.msc_trl >= 8,
        ),
        check(
            "a failed pivotal trial stated: MSC-TRL at most 7",
            &|case| case.prepared.states_failed_pivotal(),
            &|verdict| verdict.msc_trl <= 7,
        ),
        check(
            "in clinical trials: MSC-TRL above 0",
            &|case| case.prepared.in_clinical_trials(),
            &|verdict| verdict.msc_trl > 0,
        ),
    ];
    let pair_scores: Vec<f64> = pairs
        .iter()
        .map(|pair| concordance(verdicts[pair.success].index_tenths, verdicts[pair.failure].index_tenths))
        .collect();
    let all_pairs = cases.iter().enumerate().flat_map(|(s, success)| {
        cases
            .iter()
            .enumerate()
            .filter(move |(_, failure)| success.outcome.class.success() && !failure.outcome.class.success())
            .map(move |(f, _)| (s, f))
    });
    let auc = mean(all_pairs.map(|(s, f)| concordance(verdicts[s].index_tenths, verdicts[f].index_tenths)));
    Figures { verdicts, level_checks, ordering_share: mean(pair_scores.iter().copied()), pair_scores, auc }
}

/// The figures over weight draws.
#[derive(Debug, Clone, PartialEq)]
pub struct Robustness {
    pub draws: u64,
    pub spread: f64,
    /// Per pair: the share of draws in which it is ordered right.
    pub pair_hold: Vec<f64>,
    /// Per level check: the share of draws in which no case breaks it.
    pub check_hold: Vec<f64>,
    /// Sorted ordering shares and AUCs of the draws.
    pub ordering_shares: Vec<f64>,
    pub aucs: Vec<f64>,
}

/// Recomputes the figures under `draws` copies of the model with every weight perturbed.
pub fn robustness(model: &Model, cases: &[Case], pairs: &[Pair], draws: u64, spread: f64) -> Robustness {
    let mut pair_hold = vec![0.0; pairs.len()];
    let mut check_hold = vec![0.0; 3];
    let (mut ordering_shares, mut aucs) = (Vec::new(), Vec::new());
    for draw in 0..draws {
        let perturbed = model.with_perturbed_weights(draw + 1, spread);
        let figures = figures(&perturbed, cases, pairs);
        for (hold, score) in pair_hold.iter_mut().zip(&figures.pair_scores) {
            *hold += score;
        }
        for (hold, check) in check_hold.iter_mut().zip(&figures.level_checks) {
            *hold += f64::from(u8::from(check.failing.is_empty()));
        }
        ordering_shares.extend(figures.ordering_share);
        aucs.extend(figures.auc);
    }
    let per_draw = |values: &mut Vec<f64>| values.iter_mut().for_each(|value| *value /= draws as f64);
    per_draw(&mut pair_hold);
    per_draw(&mut check_hold);
    ordering_shares.sort_by(f64::total_cmp);
    aucs.sort_by(f64::total_cmp);
    Robustness { draws, spread, pair_hold, check_hold, ordering_shares, aucs }
}

fn pct(share: f64) -> String {
    // A share short of all (or above none) never rounds to 100 % (or 0 %).
    let percent = (share * 100.0).round();
    let percent = if share < 1.0 { percent.min(99.0) } else { percent };
    let percent = if share > 0.0 { percent.max(1.0) } else { percent };
    format!("{percent:.0} %")
}

fn spread_of(sorted: &[f64]) -> String {
    match (sorted.first(), sorted.get(sorted.len() / 2), sorted.last()) {
        (Some(min), Some(median), Some(max)) => format!("{} / {} / {}", pct(*min), pct(*median), pct(*max)),
        _ => "–".to_owned(),
    }
}

/// Markdown table cells: no line breaks or pipes.
fn cell(text: &str) -> String {
    text.replace('|', "/").replace('\n', " ")
}

fn rounded(share: f64) -> f64 {
    (share * 1000.0).round() / 1000.0
}

/// The figures the model document carries (`validation` in `GET /v1/model`).
pub fn summary(cases: &[Case], pairs: &[Pair], figures: &Figures, robust: &Robustness) -> ValidationSummary {
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let [approved, failed_pivotal, in_trials] = [0, 1, 2].map(|i| &figures.level_checks[i]);
    let held = |check: &LevelCheck| count(check.cases - check.failing.len());
    ValidationSummary {
        report: "docs/validation.md".to_owned(),
        cases: count(cases.len()),
        approved: count(approved.cases),
        approved_at_level_8_or_more: held(approved),
        failed_pivotal: count(failed_pivotal.cases),
        failed_pivotal_at_level_7_or_less: held(failed_pivotal),
        in_clinical_trials: count(in_trials.cases),
        in_clinical_trials_above_level_0: held(in_trials),
        same_stage_pairs: count(pairs.len()),
        same_stage_pairs_ordered_right: rounded(figures.ordering_share.unwrap_or_default()),
        auc: rounded(figures.auc.unwrap_or_default()),
        auc_over_weight_draws: [
            rounded(robust.aucs.first().copied().unwrap_or_default()),
            rounded(robust.aucs.last().copied().unwrap_or_default()),
        ],
        weight_draws: u32::try_from(robust.draws).unwrap_or(u32::MAX),
        weight_spread: robust.spread,
    }
}

/// The summary as the `[validation]` table of the model data.
pub fn summary_toml(summary: &ValidationSummary) -> String {
    toml::to_string(&std::collections::BTreeMap::from([("validation", summary)])).unwrap_or_default()
}

/// The report, `docs/validation.md`.
pub fn report(model: &Model, cases: &[Case], discussion: &str) -> String {
    let pairs = pairs(cases);
    let figures = figures(model, cases, &pairs);
    let robust = robustness(model, cases, &pairs, DRAWS, SPREAD);
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "# Back-test of the readiness model against real MSC programs\n\n\
         Model version **{}**, {} cases. Generated by `cargo run --release -- backtest > docs/validation.md`\n\
         from `validation/cases/` and `validation/discussion.md`; the test \
         `the_validation_report_is_current` fails when this file is not what the command writes.\n",
        model.version(),
        cases.len()
    );
    let _ = writeln!(
        out,
        "## Protocol\n\n\
         - Each case is one real program at one dated **decision point**: just before a pivotal or \
         Phase 2 readout, or just before a regulator's decision on a marketing application. Its \
         profile (schema 2) holds only what was true and public before that date, from regulators' \
         decisions, trial registries and papers first, sponsors' statements where nothing primary \
         exists; what was not public is left out (unknown), never filled in. Each case lists its \
         sources with identifiers.\n\
         - **What happened next** is the outcome class. Success: approved (fully or conditionally) \
         or a positive pivotal readout. Failure: every other outcome.\n\
         - The model never sees the outcome, and no model code or data names a product: a case that \
         passes because of a special case would be a defect. When a case and the model disagree, \
         the model is changed for a reason that can be cited, or the disagreement is documented \
         below; the case is never edited to fit.\n\
         - **Level checks**: every program approved by the decision is at MSC-TRL 8 or more; every \
         program whose profile states a failed pivotal trial is at 7 or less; no program in clinical \
         trials is at 0.\n\
         - **Ordering**: every pair of cases at the same stage in which one went on and the other did \
         not; the share of pairs in which the one that went on has the higher readiness index (ties \
         count half), and the AUC of the index for success against failure over all cases.\n\
         - **Robustness**: the same figures over {} copies of the model in which every factor weight \
         and every indication profile's barrier weight is multiplied by a factor drawn uniformly from \
         1 ± {:.0} % (seeded, reproducible).\n",
        DRAWS,
        SPREAD * 100.0
    );
    let _ = writeln!(
        out,
        "## Cases\n\n| Case | Program | Decision point | Stage | What happened | MSC-TRL | Index | Limiting | Sources |\n|---|---|---|---|---|---|---|---|---|"
    );
    for (case, verdict) in cases.iter().zip(&figures.verdicts) {
        let _ = writeln!(
            out,
            "| `{}` | {} | {}: {} | {} | {} ({}) | {} | {:.1} | {} | {} |",
            case.id,
            cell(&case.program),
            case.decision_point.date,
            cell(&case.decision_point.pending),
            case.stage.as_str(),
            case.outcome.class.as_str(),
            case.outcome.date.map_or_else(|| "date not public".to_owned(), |date| date.to_string()),
            verdict.msc_trl,
            f64::from(verdict.index_tenths) / 10.0,
            verdict.limiting.as_str(),
            case.sources.len()
        );
    }
    let _ = writeln!(
        out,
        "\n## Level checks\n\n| Rule | Cases | Holds | Cases that break it | Holds in draws |\n|---|---|---|---|---|"
    );
    for (check, hold) in figures.level_checks.iter().zip(&robust.check_hold) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            check.rule,
            check.cases,
            check.cases - check.failing.len(),
            if check.failing.is_empty() {
                "–".to_owned()
            } else {
                check.failing.iter().map(|id| format!("`{id}`")).collect::<Vec<_>>().join(", ")
            },
            pct(*hold)
        );
    }
    let _ = writeln!(
        out,
        "\n## Ordering\n\n- Same-stage pairs ordered right: **{}** of {} pairs (draws: min / median / max {}).\n\
         - AUC of the index, success against failure, all cases: **{}** (draws: {}).\n",
        figures.ordering_share.map_or("–".to_owned(), pct),
        pairs.len(),
        spread_of(&robust.ordering_shares),
        figures.auc.map_or("–".to_owned(), pct),
        spread_of(&robust.aucs),
    );
    let _ = writeln!(
        out,
        "| Stage | Went on | Index | Did not | Index | Ordered right | Right in draws | Conclusion |\n|---|---|---|---|---|---|---|---|"
    );
    for ((pair, score), hold) in pairs.iter().zip(&figures.pair_scores).zip(&robust.pair_hold) {
        let conclusion = if *hold >= 1.0 {
            "holds whatever the weights"
        } else if *hold <= 0.0 {
            "wrong whatever the weights"
        } else {
            "depends on the weights"
        };
        let _ = writeln!(
            out,
            "| {} | `{}` | {:.1} | `{}` | {:.1} | {} | {} | {} |",
            pair.stage.as_str(),
            cases[pair.success].id,
            f64::from(figures.verdicts[pair.success].index_tenths) / 10.0,
            cases[pair.failure].id,
            f64::from(figures.verdicts[pair.failure].index_tenths) / 10.0,
            match *score {
                s if s >= 1.0 => "yes",
                s if s > 0.0 => "tie",
                _ => "no",
            },
            pct(*hold),
            conclusion
        );
    }
    let _ = writeln!(out, "\n## Sources of each case\n");
    for case in cases {
        let _ = writeln!(out, "### `{}`\n", case.id);
        if let Some(notes) = &case.notes {
            let _ = writeln!(out, "{}\n", notes.trim());
        }
        let _ = writeln!(out, "What happened: {}\n", case.outcome.summary.trim());
        for source in &case.sources {
            let _ = writeln!(
                out,
                "- {}{}{}{}",
                source.citation.as_ref().map_or("(no citation)", |c| c.as_str()),
                source.identifier.as_ref().map_or(String::new(), |id| format!(" — {}", id.as_str())),
                source.kind.map_or(String::new(), |kind| format!(" [{}]", kind.as_str())),
                source.as_of.map_or(String::new(), |date| format!(" (as of {date})")),
            );
        }
        let _ = writeln!(out);
    }
    out.push_str(discussion.trim_end());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn repository(path: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
    }

    fn cases() -> Vec<Case> {
        load_cases(&repository(CASES_DIR)).expect("every case file parses")
    }

    /// The summary in the model document (`GET /v1/model`) is what the back-test computes.
    #[test]
    fn the_model_document_carries_the_current_back_test_summary() {
        let cases = cases();
        let pairs = pairs(&cases);
        let model = Model::current();
        let figures = figures(model, &cases, &pairs);
        let robust = robustness(model, &cases, &pairs, DRAWS, SPREAD);
        let computed = summary(&cases, &pairs, &figures, &robust);
        assert!(
            model.document().validation == computed,
            "the [validation] table of src/scoring/model_data/model.toml is out of date; it should read:\n{}",
            summary_toml(&computed)
        );
    }

    /// docs/validation.md is what `msc-readiness backtest` writes from the cases today.
    #[test]
    fn the_validation_report_is_current() {
        let discussion = std::fs::read_to_string(repository(DISCUSSION)).expect("discussion exists");
        let generated = report(Model::current(), &cases(), &discussion);
        let committed = std::fs::read_to_string(repository("docs/validation.md")).unwrap_or_default();
        assert!(
            committed == generated,
            "docs/validation.md is out of date; regenerate it with: cargo run --release -- backtest > docs/validation.md"
        );
    }

    #[test]
    fn the_back_test_has_at_least_twenty_sourced_cases_with_successes_and_failures() {
        let cases = cases();
        assert!(cases.len() >= 20, "{} cases", cases.len());
        assert!(cases.iter().all(|case| !case.sources.is_empty()), "every case has sources");
        assert!(cases.iter().any(|case| case.outcome.class.success()));
        assert!(cases.iter().any(|case| !case.outcome.class.success()));
        assert!(!pairs(&cases).is_empty());
    }

    /// The level rules the model is held to on the real cases. A rule a case breaks is listed in
    /// docs/validation.md with the reason; the rules that hold today must keep holding.
    #[test]
    fn the_level_rules_that_hold_keep_holding() {
        let cases = cases();
        let figures = figures(Model::current(), &cases, &pairs(&cases));
        let [_, failed_pivotal, in_trials] = figures.level_checks.as_slice() else { panic!("three checks") };
        assert!(failed_pivotal.cases > 0 && failed_pivotal.failing.is_empty(), "{failed_pivotal:?}");
        assert!(in_trials.cases > 0 && in_trials.failing.is_empty(), "{in_trials:?}");
    }

    /// The robustness draws are reproducible and move the index: a perturbed model is not the
    /// model, and the same seed gives the same model.
    #[test]
    fn perturbed_weights_are_seeded_and_change_the_index() {
        let cases = cases();
        let model = Model::current();
        let first = figures(&model.with_perturbed_weights(1, SPREAD), &cases, &[]);
        let again = figures(&model.with_perturbed_weights(1, SPREAD), &cases, &[]);
        let base = figures(model, &cases, &[]);
        assert_eq!(first.verdicts, again.verdicts);
        assert_ne!(first.verdicts, base.verdicts);
    }
}
