//! Comparing two assessments: what moved, barrier by barrier and factor by factor, and which
//! changed inputs moved it. Pure: no HTTP, no SQL.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::scoring::{Assessment, Band, Barrier, BarrierAssessment, FactorCode};

/// The difference between two assessments (`to` minus `from`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Comparison {
    /// Model versions of the two assessments; when they differ, part of a change may come from
    /// the model rather than the program.
    pub from_model_version: String,
    pub to_model_version: String,
    /// Overall readiness index.
    pub overall: ScoreChange,
    /// Limiting barrier before and after.
    pub from_limiting_barrier: Barrier,
    pub to_limiting_barrier: Barrier,
    /// Every barrier, in the standard order.
    pub barriers: Vec<BarrierComparison>,
    /// Every input that differs between the two profiles.
    pub input_changes: Vec<InputChange>,
}

/// A score before and after.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScoreChange {
    pub from: f64,
    pub to: f64,
    /// `to - from`, rounded to one decimal.
    pub change: f64,
}

impl ScoreChange {
    fn new(from: f64, to: f64) -> Self {
        Self { from, to, change: ((to - from) * 10.0).round() / 10.0 }
    }
}

/// A barrier score before and after; a side is null when nothing was known about the barrier
/// (band `unknown`), and then so is the change: there is no score to subtract.
#[derive(Debug, Serialize, ToSchema)]
pub struct BarrierScoreChange {
    #[schema(required = true)]
    pub from: Option<f64>,
    #[schema(required = true)]
    pub to: Option<f64>,
    /// `to - from`, rounded to one decimal; null when either side is null.
    #[schema(required = true)]
    pub change: Option<f64>,
}

impl BarrierScoreChange {
    fn new(from: &BarrierAssessment, to: &BarrierAssessment) -> Self {
        // By band, not by the score alone: results stored before scores could be null hold 0
        // for a barrier with nothing known, and that 0 is no score either.
        let known = |line: &BarrierAssessment| line.score.filter(|_| line.band != Band::Unknown);
        let (from, to) = (known(from), known(to));
        Self { from, to, change: from.zip(to).map(|(from, to)| ScoreChange::new(from, to).change) }
    }
}

/// One barrier's change and the factors behind it.
#[derive(Debug, Serialize, ToSchema)]
pub struct BarrierComparison {
    pub barrier: Barrier,
    pub score: BarrierScoreChange,
    /// The factors whose points changed, largest change first.
    pub factors: Vec<FactorComparison>,
    /// Caps applied in one assessment but not the other, as `added: <reason>` or `removed: <reason>`.
    pub cap_changes: Vec<String>,
}

/// One factor's change of points, with the changed inputs it reads.
#[derive(Debug, Serialize, ToSchema)]
pub struct FactorComparison {
    pub factor: FactorCode,
    pub name: String,
    pub points: ScoreChange,
    /// The factor's input as seen by each assessment.
    pub from_input: Option<String>,
    pub to_input: Option<String>,
    /// Paths of the changed inputs this factor reads: the likely cause. Empty when only the
    /// model (weights, value maps) or the indication profile changed.
    pub caused_by: Vec<String>,
}

/// An input that differs between the two profiles.
#[derive(Debug, Serialize, ToSchema)]
pub struct InputChange {
    /// Path of the input, e.g. `delivery.route`.
    pub path: String,
    /// Value before; absent when the input was unknown (omitted).
    #[schema(schema_with = profile_value)]
    pub from: Option<serde_json::Value>,
    /// Value after; absent when the input became unknown.
    #[schema(schema_with = profile_value)]
    pub to: Option<serde_json::Value>,
}

/// The schema of an input's value: whatever the profile holds at the path, so one of the JSON
/// types (a list or an object where the input is a list or a section).
fn profile_value() -> utoipa::openapi::Schema {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type};

    // A list's items are any of these in turn; `{}` says so without recursing.
    let list = ArrayBuilder::new().items(ObjectBuilder::new().schema_type(SchemaType::AnyValue));
    let one_of = [Type::String, Type::Number, Type::Boolean, Type::Object]
        .into_iter()
        .fold(OneOfBuilder::new(), |one_of, kind| one_of.item(ObjectBuilder::new().schema_type(kind)))
        .item(list)
        .description(Some(
            "The input's value as the profile states it: text, a number, true or false, a list or an object",
        ))
        .build();
    Schema::OneOf(one_of)
}

/// Compares two assessments and the profiles they scored.
pub fn compare(
    from: &Assessment,
    from_profile: &serde_json::Value,
    to: &Assessment,
    to_profile: &serde_json::Value,
) -> Comparison {
    let input_changes = input_changes(from_profile, to_profile);
    let barriers = Barrier::ALL
        .iter()
        .filter_map(|&barrier| {
            let before = from.barriers.iter().find(|line| line.barrier == barrier)?;
            let after = to.barriers.iter().find(|line| line.barrier == barrier)?;
            let mut factors: Vec<FactorComparison> = after
                .factors
                .iter()
                .filter_map(|factor_after| {
                    let factor_before = before.factors.iter().find(|line| line.factor == factor_after.factor);
                    let points_before = factor_before.map_or(0.0, |line| line.points);
                    if (points_before - factor_after.points).abs() < 0.05 {
                        return None;
                    }
                    Some(FactorComparison {
                        factor: factor_after.factor,
                        name: factor_after.name.to_string(),
                        points: ScoreChange::new(points_before, factor_after.points),
                        from_input: factor_before.map(|line| line.input.clone()),
                        to_input: Some(factor_after.input.clone()),
                        caused_by: caused_by(factor_after.factor, &input_changes),
                    })
                })
                .collect();
            factors.sort_by(|a, b| b.points.change.abs().total_cmp(&a.points.change.abs()));
            let caps_before: Vec<&str> = before.caps.iter().map(|cap| cap.reason.as_str()).collect();
            let caps_after: Vec<&str> = after.caps.iter().map(|cap| cap.reason.as_str()).collect();
            let cap_changes = caps_before
                .iter()
                .filter(|cap| !caps_after.contains(cap))
                .map(|cap| format!("removed: {cap}"))
                .chain(
                    caps_after
                        .iter()
                        .filter(|cap| !caps_before.contains(cap))
                        .map(|cap| format!("added: {cap}")),
                )
                .collect();
            Some(BarrierComparison {
                barrier,
                score: BarrierScoreChange::new(before, after),
                factors,
                cap_changes,
            })
        })
        .collect();
    Comparison {
        from_model_version: from.model_version.clone(),
        to_model_version: to.model_version.clone(),
        overall: ScoreChange::new(from.overall.readiness_index, to.overall.readiness_index),
        from_limiting_barrier: from.overall.limiting_barrier,
        to_limiting_barrier: to.overall.limiting_barrier,
        barriers,
        input_changes,
    }
}

fn caused_by(factor: FactorCode, changes: &[InputChange]) -> Vec<String> {
    changes
        .iter()
        .filter(|change| {
            factor.inputs().iter().any(|input| {
                change.path == *input
                    || change.path.strip_prefix(input).is_some_and(|rest| rest.starts_with(['.', '[']))
                    || input.strip_prefix(change.path.as_str()).is_some_and(|rest| rest.starts_with('.'))
            })
        })
        .map(|change| change.path.clone())
        .collect()
}

/// The leaves of both profiles that differ. Arrays count as one value: a changed list of
/// assays or preconditionings is one changed input.
fn input_changes(from: &serde_json::Value, to: &serde_json::Value) -> Vec<InputChange> {
    let mut before = BTreeMap::new();
    let mut after = BTreeMap::new();
    flatten(from, String::new(), &mut before);
    flatten(to, String::new(), &mut after);
    let mut paths: Vec<&String> = before.keys().chain(after.keys()).collect();
    paths.sort();
    paths.dedup();
    paths
        .into_iter()
        .filter(|path| before.get(*path) != after.get(*path))
        .map(|path| InputChange {
            path: path.clone(),
            from: before.get(path).cloned().cloned(),
            to: after.get(path).cloned().cloned(),
        })
        .collect()
}

fn flatten<'a>(
    value: &'a serde_json::Value,
    path: String,
    leaves: &mut BTreeMap<String, &'a serde_json::Value>,
) {
    match value {
        serde_json::Value::Object(fields) => {
            for (key, item) in fields {
                let child = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                flatten(item, child, leaves);
            }
        }
        serde_json::Value::Null => {}
        _ => {
            leaves.insert(path, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn input_changes_list_added_removed_and_changed_leaves() {
        let from =
            json!({"delivery": {"route": "intravenous", "carrier": "none_saline"}, "program": {"name": "A"}});
        let to = json!({"delivery": {"route": "intradiscal"}, "program": {"name": "A"}, "quality": {"viability_at_release_pct": 92}});

        let changes = input_changes(&from, &to);

        let paths: Vec<&str> = changes.iter().map(|change| change.path.as_str()).collect();
        assert_eq!(paths, ["delivery.carrier", "delivery.route", "quality.viability_at_release_pct"]);
        assert_eq!(changes[0].to, None);
        assert_eq!(changes[1].from, Some(json!("intravenous")));
        assert_eq!(changes[2].from, None);
    }
}
