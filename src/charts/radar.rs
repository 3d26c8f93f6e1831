//! The radar chart of one assessment: an axis per barrier, rings at 0/25/50/75/100, the score
//! polygon, and the band between the pessimistic and optimistic scores (what the unknowns
//! could still move). A barrier with no score (nothing known) is a gap in the score outline and
//! is labelled `unknown`: drawn at 0 it would read as the worst score.

use std::f64::consts::TAU;
use std::fmt::Write as _;

use super::svg::{GRID_COLOUR, MUTED_COLOUR, clamp_score, close, escape, open};

/// One axis: a barrier and its scores, 0-100; `score` is `None` when nothing is known.
#[derive(Clone, Debug, PartialEq)]
pub struct RadarAxis {
    pub label: String,
    pub score: Option<f64>,
    pub pessimistic: f64,
    pub optimistic: f64,
}

/// A radar chart to draw.
#[derive(Clone, Debug, PartialEq)]
pub struct Radar {
    pub title: String,
    /// Opens the description; the axes' scores in words follow it.
    pub summary: String,
    pub axes: Vec<RadarAxis>,
}

const WIDTH: u32 = 600;
const HEIGHT: u32 = 490;
const CENTRE: (f64, f64) = (300.0, 262.0);
const RADIUS: f64 = 160.0;
/// Labels sit this far outside the 100 ring.
const LABEL_GAP: f64 = 18.0;

const SCORE_COLOUR: &str = "#0969da";
const BAND_COLOUR: &str = "#54aeff";

/// Renders the chart as an SVG document.
pub fn radar(chart: &Radar) -> String {
    let mut svg = open("radar", WIDTH, HEIGHT, &chart.title, &description(chart));
    let count = chart.axes.len().max(1);
    let at_radius = |index: usize, radius: f64| {
        // Axis 0 points up; the others follow clockwise.
        let angle = TAU * index as f64 / count as f64 - TAU / 4.0;
        (CENTRE.0 + radius * angle.cos(), CENTRE.1 + radius * angle.sin())
    };
    let point = |index: usize, score: f64| at_radius(index, RADIUS * clamp_score(score) / 100.0);
    let polygon = |score: &dyn Fn(&RadarAxis) -> f64| {
        let mut points = String::new();
        for (index, axis) in chart.axes.iter().enumerate() {
            let (x, y) = point(index, score(axis));
            let _ = write!(points, "{}{x:.1},{y:.1}", if index == 0 { "M" } else { "L" });
        }
        points.push('Z');
        points
    };

    let _ = write!(
        svg,
        r#"<text x="20" y="28" font-size="16" font-weight="600">{}</text>"#,
        escape(&chart.title)
    );

    // Rings and axes.
    svg.push_str(r#"<g fill="none" stroke-width="1">"#);
    for ring in [25.0, 50.0, 75.0, 100.0] {
        let mut ring_path = String::new();
        for index in 0..count {
            let (x, y) = point(index, ring);
            let _ = write!(ring_path, "{}{x:.1},{y:.1}", if index == 0 { "M" } else { "L" });
        }
        let _ = write!(svg, r#"<path d="{ring_path}Z" stroke="{GRID_COLOUR}"/>"#);
    }
    for index in 0..chart.axes.len() {
        let (x, y) = point(index, 100.0);
        let _ = write!(
            svg,
            r#"<line x1="{:.1}" y1="{:.1}" x2="{x:.1}" y2="{y:.1}" stroke="{GRID_COLOUR}"/>"#,
            CENTRE.0, CENTRE.1
        );
    }
    svg.push_str("</g>");

    if !chart.axes.is_empty() {
        // The band is the optimistic polygon with the pessimistic one cut out (even-odd rule):
        // every pessimistic vertex lies inside the optimistic polygon on the same axis.
        let _ = write!(
            svg,
            r#"<path d="{}{}" fill="{BAND_COLOUR}" fill-opacity="0.3" fill-rule="evenodd" stroke="{BAND_COLOUR}" stroke-dasharray="4 3"><title>Pessimistic to optimistic range</title></path>"#,
            polygon(&|axis| axis.optimistic.max(axis.pessimistic)),
            polygon(&|axis| axis.pessimistic.min(axis.optimistic)),
        );
        let known = chart.axes.iter().all(|axis| axis.score.is_some());
        // With an unknown axis the outline is open at it, and an open outline is not filled.
        let (outline, fill) = if known {
            (polygon(&|axis| axis.score.unwrap_or_default()), "0.18")
        } else {
            (score_runs(chart, &point), "0")
        };
        let _ = write!(
            svg,
            r#"<path d="{outline}" fill="{SCORE_COLOUR}" fill-opacity="{fill}" stroke="{SCORE_COLOUR}" stroke-width="2.5" stroke-linejoin="round"/>"#
        );
    }
    // Ring values on top of the polygons, with a halo so they stay legible.
    let _ = write!(
        svg,
        r#"<g font-size="10" fill="{MUTED_COLOUR}" text-anchor="start" stroke="white" stroke-width="3" paint-order="stroke">"#
    );
    for ring in [0.0, 25.0, 50.0, 75.0, 100.0] {
        let y = CENTRE.1 - RADIUS * ring / 100.0;
        let _ = write!(svg, r#"<text x="{:.1}" y="{:.1}">{ring}</text>"#, CENTRE.0 + 4.0, y - 2.0);
    }
    svg.push_str("</g>");
    for (index, axis) in chart.axes.iter().enumerate() {
        let Some(score) = axis.score else { continue };
        let (x, y) = point(index, score);
        let _ = write!(
            svg,
            r#"<circle cx="{x:.1}" cy="{y:.1}" r="4" fill="{SCORE_COLOUR}"><title>{}: {:.1}</title></circle>"#,
            escape(&axis.label),
            clamp_score(score)
        );
    }

    // Axis labels, anchored away from the centre so they never overlap the chart.
    for (index, axis) in chart.axes.iter().enumerate() {
        let (x, y) = at_radius(index, RADIUS + LABEL_GAP);
        let anchor = if (x - CENTRE.0).abs() < 1.0 {
            "middle"
        } else if x > CENTRE.0 {
            "start"
        } else {
            "end"
        };
        let baseline = if y < CENTRE.1 - RADIUS * 0.9 { y - 16.0 } else { y };
        let _ = write!(
            svg,
            r#"<text x="{x:.1}" y="{baseline:.1}" text-anchor="{anchor}"><tspan font-weight="600">{}</tspan><tspan x="{x:.1}" dy="15" fill="{MUTED_COLOUR}">{} ({:.0}-{:.0})</tspan></text>"#,
            escape(&axis.label),
            score_text(axis.score),
            clamp_score(axis.pessimistic.min(axis.optimistic)),
            clamp_score(axis.optimistic.max(axis.pessimistic)),
        );
    }

    // Legend.
    let legend_y = f64::from(HEIGHT) - 18.0;
    let _ = write!(
        svg,
        r#"<g font-size="12"><rect x="20" y="{:.1}" width="14" height="10" fill="{SCORE_COLOUR}" fill-opacity="0.5" stroke="{SCORE_COLOUR}"/><text x="40" y="{legend_y:.1}">Score</text><rect x="100" y="{:.1}" width="14" height="10" fill="{BAND_COLOUR}" fill-opacity="0.3" stroke="{BAND_COLOUR}" stroke-dasharray="4 3"/><text x="120" y="{legend_y:.1}">Pessimistic to optimistic (unknowns at worst / best)</text></g>"#,
        legend_y - 9.0,
        legend_y - 9.0,
    );
    close(svg)
}

fn description(chart: &Radar) -> String {
    let mut text = chart.summary.clone();
    if !text.is_empty() && !text.ends_with(' ') {
        text.push(' ');
    }
    text.push_str("Barrier scores out of 100, higher is better, with the pessimistic to optimistic range: ");
    let axes: Vec<String> = chart
        .axes
        .iter()
        .map(|axis| {
            format!(
                "{} {} ({:.1} to {:.1})",
                axis.label,
                score_text(axis.score),
                clamp_score(axis.pessimistic.min(axis.optimistic)),
                clamp_score(axis.optimistic.max(axis.pessimistic))
            )
        })
        .collect();
    text.push_str(&axes.join("; "));
    text.push('.');
    text
}

/// A score as the chart writes it: one decimal, or `unknown` when nothing is known.
fn score_text(score: Option<f64>) -> String {
    score.map_or_else(|| "unknown".to_owned(), |score| format!("{:.1}", clamp_score(score)))
}

/// The score outline when some axis is unknown: one open run per stretch of neighbouring known
/// axes (going round), each ending at an unknown axis, which is left as a gap.
fn score_runs(chart: &Radar, point: &dyn Fn(usize, f64) -> (f64, f64)) -> String {
    let count = chart.axes.len();
    let first_unknown = chart.axes.iter().position(|axis| axis.score.is_none()).unwrap_or(0);
    let mut path = String::new();
    let mut in_run = false;
    for step in 1..=count {
        let index = (first_unknown + step) % count;
        match chart.axes[index].score {
            Some(score) => {
                let (x, y) = point(index, score);
                let _ = write!(path, "{}{x:.1},{y:.1}", if in_run { "L" } else { "M" });
                in_run = true;
            }
            None => in_run = false,
        }
    }
    path
}
