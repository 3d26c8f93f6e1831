use super::*;

const BARRIERS: [&str; 7] =
    ["Survival", "Retention", "Variability", "Scalability", "Safety", "Outcomes", "Regulatory"];

fn radar_of(scores: [f64; 7]) -> Radar {
    Radar {
        title: "Barrier scores".to_owned(),
        summary: "Overall readiness index 50.0.".to_owned(),
        axes: BARRIERS
            .iter()
            .zip(scores)
            .map(|(label, score)| RadarAxis {
                label: (*label).to_owned(),
                score: Some(score),
                pessimistic: (score - 10.0).max(0.0),
                optimistic: (score + 10.0).min(100.0),
            })
            .collect(),
    }
}

fn trend_of(points: usize) -> Trend {
    Trend {
        title: "DISC-101".to_owned(),
        dates: (0..points).map(|day| format!("2026-11-{:02}", day + 1)).collect(),
        series: std::iter::once("Overall readiness index")
            .chain(BARRIERS)
            .enumerate()
            .map(|(offset, label)| TrendSeries {
                label: label.to_owned(),
                values: (0..points).map(|point| Some((10.0 * (offset + point) as f64).min(100.0))).collect(),
            })
            .collect(),
    }
}

/// Parses the document as XML and checks what every chart promises: an SVG root that is an
/// accessible image, with a title and a description.
fn parse(svg: &str) -> roxmltree::Document<'_> {
    let document = roxmltree::Document::parse(svg).unwrap_or_else(|error| panic!("{error} in {svg}"));
    let root = document.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.tag_name().namespace(), Some("http://www.w3.org/2000/svg"));
    assert_eq!(root.attribute("role"), Some("img"));
    let child =
        |name: &str| root.children().find(|node| node.has_tag_name(name)).and_then(|node| node.text());
    assert!(child("title").is_some_and(|title| !title.is_empty()));
    assert!(child("desc").is_some_and(|desc| !desc.is_empty()));
    document
}

fn texts(document: &roxmltree::Document<'_>) -> Vec<String> {
    document
        .descendants()
        .filter(|node| node.has_tag_name("tspan") || node.has_tag_name("text"))
        .filter_map(|node| node.text())
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_radar_is_well_formed_and_labels_the_seven_barriers() {
    let svg = radar(&radar_of([55.5, 40.0, 62.0, 70.0, 81.0, 35.0, 48.0]));
    let document = parse(&svg);
    let texts = texts(&document);
    for barrier in BARRIERS {
        assert!(texts.iter().any(|text| text == barrier), "no label {barrier} in {texts:?}");
    }
    for ring in ["0", "25", "50", "75", "100"] {
        assert!(texts.iter().any(|text| text == ring), "no ring label {ring}");
    }
    let description =
        document.descendants().find(|node| node.has_tag_name("desc")).and_then(|node| node.text());
    assert!(description.is_some_and(|desc| desc.contains("Survival 55.5 (45.5 to 65.5)")), "{description:?}");
}

#[test]
fn a_radar_draws_scores_at_0_and_100_inside_the_chart() {
    for scores in [[0.0; 7], [100.0; 7], [0.0, 100.0, 0.0, 100.0, 0.0, 100.0, 0.0]] {
        let svg = radar(&radar_of(scores));
        let document = parse(&svg);
        for circle in document.descendants().filter(|node| node.has_tag_name("circle")) {
            for attribute in ["cx", "cy"] {
                let value: f64 =
                    circle.attribute(attribute).and_then(|v| v.parse().ok()).expect("numeric coordinate");
                assert!((0.0..=600.0).contains(&value), "{attribute}={value} for {scores:?}");
            }
        }
    }
}

#[test]
fn out_of_range_and_non_finite_scores_are_clamped() {
    let svg = radar(&radar_of([-5.0, 150.0, f64::NAN, f64::INFINITY, 50.0, 50.0, 50.0]));
    parse(&svg);
    assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
}

#[test]
fn text_is_escaped() {
    let mut chart = radar_of([50.0; 7]);
    chart.title = "<script>alert('x')</script> & \"friends\"\u{0}\u{1b}".to_owned();
    chart.axes[0].label = "Survival <b>&</b>".to_owned();
    let svg = radar(&chart);
    let document = parse(&svg);
    assert!(!svg.contains("<script>") && !svg.contains("<b>"));
    let title = document
        .root_element()
        .children()
        .find(|node| node.has_tag_name("title"))
        .and_then(|node| node.text());
    assert_eq!(title, Some("<script>alert('x')</script> & \"friends\""));
    assert!(texts(&document).iter().any(|text| text == "Survival <b>&</b>"));

    let mut trend_chart = trend_of(2);
    trend_chart.series[1].label = "a<b>&\"c\"".to_owned();
    trend_chart.dates[0] = "<date>".to_owned();
    let document_text = trend(&trend_chart);
    let document = parse(&document_text);
    assert!(texts(&document).iter().any(|text| text == "a<b>&\"c\""));
    assert!(texts(&document).iter().any(|text| text == "<date>"));
}

#[test]
fn a_trend_is_well_formed_with_a_legend_of_every_series() {
    let svg = trend(&trend_of(12));
    let document = parse(&svg);
    let texts = texts(&document);
    for barrier in BARRIERS.iter().copied().chain(["Overall readiness index"]) {
        assert!(texts.iter().any(|text| text == barrier), "no legend entry {barrier}");
    }
    assert_eq!(document.descendants().filter(|node| node.has_tag_name("polyline")).count(), 8);
    let dates = texts.iter().filter(|text| text.starts_with("2026-11-")).count();
    assert!((2..=7).contains(&dates), "{dates} date labels");
    assert!(texts.iter().any(|text| text == "2026-11-12"), "the latest date is labelled");
}

#[test]
fn a_single_point_trend_draws_points_without_lines() {
    let svg = trend(&trend_of(1));
    let document = parse(&svg);
    assert_eq!(document.descendants().filter(|node| node.has_tag_name("polyline")).count(), 0);
    assert_eq!(document.descendants().filter(|node| node.has_tag_name("circle")).count(), 8);
    let description =
        document.descendants().find(|node| node.has_tag_name("desc")).and_then(|node| node.text());
    assert!(
        description.is_some_and(|desc| desc.starts_with("1 assessment, on 2026-11-01")),
        "{description:?}"
    );
}

#[test]
fn an_empty_trend_says_so() {
    let svg = trend(&trend_of(0));
    let document = parse(&svg);
    assert!(texts(&document).iter().any(|text| text == "No assessments yet"));
}

/// Issue 14: a barrier with nothing known is not drawn at 0 but left as a gap, marked `unknown`.
#[test]
fn an_unknown_barrier_is_a_gap_marked_unknown_in_the_radar() {
    let mut chart = radar_of([55.5, 40.0, 62.0, 70.0, 81.0, 35.0, 48.0]);
    chart.axes[3].score = None;
    chart.axes[3].pessimistic = 0.0;
    chart.axes[3].optimistic = 100.0;
    let svg = radar(&chart);
    let document = parse(&svg);
    assert!(texts(&document).iter().any(|text| text == "unknown (0-100)"), "{svg}");
    let description =
        document.descendants().find(|node| node.has_tag_name("desc")).and_then(|node| node.text());
    assert!(
        description.is_some_and(|desc| desc.contains("Scalability unknown (0.0 to 100.0)")),
        "{description:?}"
    );
    // A marker on each known axis only, and an outline of two open runs around the gap.
    assert_eq!(document.descendants().filter(|node| node.has_tag_name("circle")).count(), 6);
    let outline = document
        .descendants()
        .filter(|node| node.has_tag_name("path"))
        .filter_map(|node| node.attribute("d"))
        .find(|d| !d.contains('Z'))
        .expect("an open score outline");
    assert_eq!(outline.matches('M').count(), 1, "{outline}");
    assert_eq!(outline.matches('L').count(), 5, "{outline}");
}

#[test]
fn an_unknown_value_breaks_the_trend_line() {
    let mut chart = trend_of(5);
    chart.series[1].values[2] = None;
    chart.series[2].values[4] = None;
    let svg = trend(&chart);
    let document = parse(&svg);
    // Series 1 becomes two lines around its gap; series 2 ends in the gap, so its legend says so.
    assert_eq!(document.descendants().filter(|node| node.has_tag_name("polyline")).count(), 9);
    assert_eq!(document.descendants().filter(|node| node.has_tag_name("circle")).count(), 8 * 5 - 2);
    assert!(texts(&document).iter().any(|text| text == "unknown"));
    let description =
        document.descendants().find(|node| node.has_tag_name("desc")).and_then(|node| node.text());
    assert!(description.is_some_and(|desc| desc.contains("Retention 20.0 to unknown")), "{description:?}");
}
