//! The trend chart of one program: the overall index and each barrier as lines over the
//! program's assessments, oldest left, with a legend.

use std::fmt::Write as _;

use super::svg::{GRID_COLOUR, MUTED_COLOUR, clamp_score, close, escape, open};

/// One line: a label and one value (0-100) per assessment; `None` where nothing was known (a
/// gap in the line, never a 0).
#[derive(Clone, Debug, PartialEq)]
pub struct TrendSeries {
    pub label: String,
    pub values: Vec<Option<f64>>,
}

/// A trend chart to draw. The first series is drawn emphasised (the overall index).
#[derive(Clone, Debug, PartialEq)]
pub struct Trend {
    pub title: String,
    /// The x-axis label of each assessment (its date), oldest first.
    pub dates: Vec<String>,
    pub series: Vec<TrendSeries>,
}

const WIDTH: u32 = 920;
const HEIGHT: u32 = 400;
const PLOT_LEFT: f64 = 50.0;
const PLOT_RIGHT: f64 = 600.0;
const PLOT_TOP: f64 = 50.0;
const PLOT_BOTTOM: f64 = 340.0;
const LEGEND_X: f64 = 630.0;
/// At most this many date labels on the x axis, so they never overlap.
const MAX_DATE_LABELS: usize = 6;

/// Okabe-Ito colours (distinguishable with the common colour-vision deficiencies), the
/// emphasised first series in black.
const COLOURS: [&str; 8] =
    ["#000000", "#e69f00", "#56b4e9", "#009e73", "#b8a200", "#0072b2", "#d55e00", "#cc79a7"];

/// Renders the chart as an SVG document. Assessments are spaced evenly: each is one step of the
/// program's history, however far apart their dates are.
pub fn trend(chart: &Trend) -> String {
    let mut svg = open("trend", WIDTH, HEIGHT, &chart.title, &description(chart));
    let count = chart.dates.len();
    let x = |index: usize| {
        if count <= 1 {
            (PLOT_LEFT + PLOT_RIGHT) / 2.0
        } else {
            PLOT_LEFT + (PLOT_RIGHT - PLOT_LEFT) * index as f64 / (count - 1) as f64
        }
    };
    let y = |value: f64| PLOT_BOTTOM - (PLOT_BOTTOM - PLOT_TOP) * clamp_score(value) / 100.0;

    let _ = write!(
        svg,
        r#"<text x="20" y="28" font-size="16" font-weight="600">{}</text>"#,
        escape(&chart.title)
    );

    // Grid and axes.
    let _ = write!(svg, r#"<g font-size="11" fill="{MUTED_COLOUR}" text-anchor="end">"#);
    for value in [0.0, 25.0, 50.0, 75.0, 100.0] {
        let line_y = y(value);
        let _ = write!(
            svg,
            r#"<line x1="{PLOT_LEFT}" y1="{line_y:.1}" x2="{PLOT_RIGHT}" y2="{line_y:.1}" stroke="{GRID_COLOUR}"/><text x="{:.1}" y="{:.1}">{value}</text>"#,
            PLOT_LEFT - 8.0,
            line_y + 4.0
        );
    }
    svg.push_str("</g>");
    let step = count.div_ceil(MAX_DATE_LABELS).max(1);
    let _ = write!(svg, r#"<g font-size="11" fill="{MUTED_COLOUR}" text-anchor="middle">"#);
    for (index, date) in chart.dates.iter().enumerate() {
        // Every step-th date, and the latest unless it would crowd the one before.
        if index % step == 0 || (index + 1 == count && (index % step) * 2 >= step) {
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{:.1}">{}</text>"#,
                x(index),
                PLOT_BOTTOM + 20.0,
                escape(date)
            );
        }
    }
    svg.push_str("</g>");
    if count == 0 {
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="{MUTED_COLOUR}">No assessments yet</text>"#,
            (PLOT_LEFT + PLOT_RIGHT) / 2.0,
            (PLOT_TOP + PLOT_BOTTOM) / 2.0
        );
    }

    // Lines, barriers first so the emphasised overall line is drawn on top.
    for (position, series) in chart.series.iter().enumerate().rev() {
        let colour = COLOURS[position % COLOURS.len()];
        let (width, radius) = if position == 0 { (3.5, 4.5) } else { (1.8, 3.0) };
        let _ = write!(svg, r#"<g stroke="{colour}" fill="{colour}">"#);
        let values = &series.values[..series.values.len().min(count)];
        // One polyline per run of known values: an unknown value breaks the line.
        let mut start = 0;
        for run in values.split(Option::is_none) {
            if run.len() > 1 {
                let mut points = String::new();
                for (offset, value) in run.iter().flatten().enumerate() {
                    let index = start + offset;
                    let _ = write!(
                        points,
                        "{}{:.1},{:.1}",
                        if offset == 0 { "" } else { " " },
                        x(index),
                        y(*value)
                    );
                }
                let _ = write!(
                    svg,
                    r#"<polyline points="{points}" fill="none" stroke-width="{width}" stroke-linejoin="round"/>"#
                );
            }
            start += run.len() + 1;
        }
        for (index, value) in values.iter().enumerate() {
            let Some(value) = value else { continue };
            let _ = write!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="{radius}" stroke="none"><title>{}, {}: {:.1}</title></circle>"#,
                x(index),
                y(*value),
                escape(&series.label),
                escape(&chart.dates[index]),
                clamp_score(*value)
            );
        }
        svg.push_str("</g>");
    }

    // Legend, with each series' latest value.
    svg.push_str(r#"<g font-size="13">"#);
    for (position, series) in chart.series.iter().enumerate() {
        let colour = COLOURS[position % COLOURS.len()];
        let row_y = PLOT_TOP + 8.0 + 26.0 * position as f64;
        let latest = series.values[..series.values.len().min(count)].last();
        let weight = if position == 0 { r#" font-weight="600""# } else { "" };
        let _ = write!(
            svg,
            r#"<line x1="{LEGEND_X}" y1="{row_y:.1}" x2="{:.1}" y2="{row_y:.1}" stroke="{colour}" stroke-width="{}"/><text x="{:.1}" y="{:.1}"{weight}>{}</text>"#,
            LEGEND_X + 24.0,
            if position == 0 { 3.5 } else { 2.0 },
            LEGEND_X + 32.0,
            row_y + 4.5,
            escape(&series.label)
        );
        if let Some(latest) = latest {
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="{MUTED_COLOUR}">{}</text>"#,
                f64::from(WIDTH) - 16.0,
                row_y + 4.5,
                value_text(*latest)
            );
        }
    }
    svg.push_str("</g>");
    close(svg)
}

fn description(chart: &Trend) -> String {
    let count = chart.dates.len();
    let (Some(first), Some(latest)) = (chart.dates.first(), chart.dates.last()) else {
        return "No assessments yet.".to_owned();
    };
    let mut text = if count == 1 {
        format!("1 assessment, on {first}. Scores out of 100, higher is better: ")
    } else {
        format!(
            "{count} assessments from {first} to {latest}. Scores out of 100, higher is better, first to latest: "
        )
    };
    let series: Vec<String> = chart
        .series
        .iter()
        .filter_map(|series| {
            let values = &series.values[..series.values.len().min(count)];
            match (values.first(), values.last()) {
                (Some(start), Some(end)) if count > 1 => {
                    Some(format!("{} {} to {}", series.label, value_text(*start), value_text(*end)))
                }
                (Some(value), _) => Some(format!("{} {}", series.label, value_text(*value))),
                _ => None,
            }
        })
        .collect();
    text.push_str(&series.join("; "));
    text.push('.');
    text
}

/// A value as the chart writes it: one decimal, or `unknown` when nothing was known.
fn value_text(value: Option<f64>) -> String {
    value.map_or_else(|| "unknown".to_owned(), |value| format!("{:.1}", clamp_score(value)))
}
