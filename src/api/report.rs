//! The printable report of one stored assessment: a self-contained HTML page a steering committee
//! reads on paper (the browser prints it to PDF with the print stylesheet of `report.css`).
//!
//! It is rendered from the stored result as JSON, so a result stored under an earlier model
//! version is shown as stored; a part it lacks is left out.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use actix_web::{HttpResponse, get, web};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use super::caller::Caller;
use super::problem::{ApiError, Problem};
use crate::persistence::{assessments as store, programs};
use crate::scoring::{Evidence, Model};

/// Mitigations shown, highest readiness gain first.
const TOP_MITIGATIONS: usize = 5;

/// Printable assessment report
///
/// An HTML page for a steering committee: program, date, model version, the index and every
/// barrier score with band and bounds, the readiness level with its streams and roadmap, the
/// limiting barrier, the top mitigations with their evidence, the warnings, and every input with
/// its source. A print stylesheet lays it out for paper (print it to PDF from the browser).
#[utoipa::path(
    security(("api_key" = ["read"])),
    tag = "assessments",
    params(("id" = Uuid, Path, description = "Assessment id")),
    responses(
        (status = 200, description = "The report, as an HTML page", body = String, content_type = "text/html"),
        (status = 404, description = "No such assessment", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/assessments/{id}/report")]
pub async fn assessment_report(
    caller: Caller,
    id: web::Path<Uuid>,
    pool: web::Data<PgPool>,
) -> Result<HttpResponse, ApiError> {
    let stored = store::fetch(&pool, caller.organisation, *id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no assessment {id}")))?;
    let program = match stored.program_id {
        Some(program_id) => programs::fetch(&pool, caller.organisation, program_id)
            .await?
            .map(|program| (program.key, program.name)),
        None => None,
    };
    let labels = Labels::new(&crate::scoring::labels::all());
    let html = Report { labels, evidence: Model::current().evidence() }.render(
        &stored.id,
        program.as_ref(),
        &stored.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        &stored.model_version,
        &stored.profile,
        &stored.result.into_value()?,
    );
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(html))
}

/// The readable label of each enum value, by field.
struct Labels(BTreeMap<(String, String), String>);

impl Labels {
    fn new(all: &BTreeMap<String, Vec<crate::scoring::labels::ValueLabel>>) -> Self {
        Self(
            all.iter()
                .flat_map(|(field, values)| {
                    values.iter().map(|value| ((field.clone(), value.value.clone()), value.label.clone()))
                })
                .collect(),
        )
    }

    /// The label of `value` in `field`, or the value in words when the model has none.
    fn of(&self, field: &str, value: &Value) -> String {
        let Some(wire) = value.as_str() else { return "unknown".to_owned() };
        self.0.get(&(field.to_owned(), wire.to_owned())).cloned().unwrap_or_else(|| wire.replace('_', " "))
    }
}

struct Report<'a> {
    labels: Labels,
    evidence: &'a [Evidence],
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A score to one decimal, or `unknown` for a barrier with nothing known.
fn score(value: &Value) -> String {
    value.as_f64().map_or_else(|| "unknown".to_owned(), |number| format!("{number:.1}"))
}

fn percent(value: &Value) -> String {
    value.as_f64().map_or_else(|| "–".to_owned(), |share| format!("{:.0} %", share * 100.0))
}

fn text(value: &Value) -> String {
    escape(value.as_str().unwrap_or(""))
}

fn items(value: &Value) -> &[Value] {
    value.as_array().map_or(&[], Vec::as_slice)
}

/// A link to the record an identifier names: a DOI, PubMed or PMC id, trial registration or URL.
pub fn identifier_link(identifier: &str) -> Option<String> {
    let id = identifier.trim();
    let digits = |text: &str| !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit());
    if id.starts_with("https://") || id.starts_with("http://") {
        Some(id.to_owned())
    } else if let Some(doi) = id.strip_prefix("doi:").or(Some(id)).filter(|doi| doi.starts_with("10.")) {
        Some(format!("https://doi.org/{doi}"))
    } else if let Some(pmid) = id.strip_prefix("PMID:").or_else(|| id.strip_prefix("PMID ")) {
        digits(pmid.trim()).then(|| format!("https://pubmed.ncbi.nlm.nih.gov/{}/", pmid.trim()))
    } else if id.starts_with("PMC") && digits(&id[3..]) {
        Some(format!("https://pmc.ncbi.nlm.nih.gov/articles/{id}/"))
    } else if id.starts_with("NCT") && id.len() == 11 && digits(&id[3..]) {
        Some(format!("https://clinicaltrials.gov/study/{id}"))
    } else {
        None
    }
}

impl Report<'_> {
    /// The model's label of a factor's level (`80_to_89_pct` → its label), else the key in words.
    fn level_label(&self, factor: &str, key: &str) -> String {
        Model::current()
            .definition()
            .factors
            .iter()
            .find(|definition| definition.code.as_str() == factor)
            .and_then(|definition| definition.levels.iter().find(|level| level.key == key))
            .map_or_else(|| key.replace('_', " "), |level| level.label.clone())
    }

    /// Links for a claim of the registry: its DOI, PubMed id, registry id or URL, where it has one.
    fn claim_links(&self, claim_id: &str) -> String {
        let Some(entry) = self.evidence.iter().find(|entry| entry.id == claim_id) else {
            return String::new();
        };
        let candidates = [
            entry.doi.as_deref().map(|doi| format!("doi:{doi}")),
            entry.pmid.as_deref().map(|pmid| format!("PMID:{pmid}")),
            entry.pmcid.clone(),
            entry.registry_id.clone(),
            entry.url.clone(),
        ];
        candidates
            .iter()
            .flatten()
            .filter_map(|identifier| {
                identifier_link(identifier)
                    .map(|href| format!(" <a href=\"{}\">{}</a>", escape(&href), escape(identifier)))
            })
            .collect()
    }

    fn citations(&self, evidence: &Value) -> String {
        let list = items(evidence);
        if list.is_empty() {
            return String::new();
        }
        let mut html = String::from("<ul class=\"citations\">");
        for item in list {
            let claim = item["claim_id"].as_str().unwrap_or("");
            let _ = write!(
                html,
                "<li><span class=\"claim\">{}</span> {} <span class=\"status\">({})</span>{}</li>",
                escape(claim),
                text(&item["citation"]),
                escape(&self.labels.of("verification_status", &item["verification_status"])),
                self.claim_links(claim),
            );
        }
        html.push_str("</ul>");
        html
    }

    fn render(
        &self,
        id: &Uuid,
        program: Option<&(String, String)>,
        created: &str,
        model_version: &str,
        profile: &Value,
        result: &Value,
    ) -> String {
        let overall = &result["overall"];
        let title = match program {
            Some((key, name)) => format!("{} · {}", escape(key), escape(name)),
            None => escape(profile["program"]["name"].as_str().unwrap_or("Assessment without a program")),
        };
        let mut html = String::new();
        let _ = write!(
            html,
            "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Readiness report · {title}</title>\n\
<link rel=\"stylesheet\" href=\"/dashboard/report.css\">\n</head>\n<body>\n<main class=\"report\">\n\
<header><h1>{title}</h1>\n<p class=\"meta\">Assessment <code>{id}</code> · {created} · model {model} · \
indication profile {indication}</p></header>\n",
            model = escape(model_version),
            indication = text(&result["indication_profile"]["name"]),
        );
        self.summary(&mut html, overall);
        self.warnings(&mut html, result);
        self.barriers(&mut html, result);
        self.readiness(&mut html, &result["readiness"]);
        self.mitigations(&mut html, result);
        self.inputs(&mut html, result, profile);
        html.push_str("</main>\n</body>\n</html>\n");
        html
    }

    fn summary(&self, html: &mut String, overall: &Value) {
        let unclear = if overall["unclear"].as_bool() == Some(true) {
            let reasons: Vec<String> = items(&overall["unclear_reasons"])
                .iter()
                .map(|reason| format!("{}.", text(reason)))
                .collect();
            format!(
                "<p class=\"unclear\" id=\"unclear\"><strong>Unclear:</strong> too little is known to read the \
index as more than a sketch. {}</p>",
                reasons.join(" ")
            )
        } else {
            String::new()
        };
        let _ = write!(
            html,
            "<section class=\"summary\"><h2>Summary</h2>\n<dl class=\"figures\">\
<dt>Readiness index</dt><dd><strong>{index}</strong> ({band}; bounds {low}–{high})</dd>\
<dt>Limiting barrier</dt><dd>{limiting}</dd>\
<dt>Coverage</dt><dd>{coverage}</dd><dt>Confidence</dt><dd>{confidence}</dd></dl>\n{unclear}</section>\n",
            index = score(&overall["readiness_index"]),
            band = escape(&self.labels.of("band", &overall["band"])),
            low = score(&overall["pessimistic"]),
            high = score(&overall["optimistic"]),
            limiting = escape(&self.labels.of("barrier", &overall["limiting_barrier"])),
            coverage = percent(&overall["coverage"]),
            confidence = percent(&overall["confidence"]),
        );
    }

    fn warnings(&self, html: &mut String, result: &Value) {
        let mut warnings: Vec<&Value> = items(&result["warnings"]).iter().collect();
        // Serious first: what blocks translation leads.
        warnings.sort_by_key(|warning| warning["severity"].as_str() != Some("serious"));
        html.push_str("<section class=\"warnings\"><h2>Warnings</h2>\n");
        if warnings.is_empty() {
            html.push_str("<p>No consistency warnings.</p>\n");
        } else {
            html.push_str("<ul>");
            for warning in warnings {
                let _ = write!(
                    html,
                    "<li class=\"severity-{severity}\"><strong>{label}</strong> · {title}: {message}{citations}</li>",
                    severity = escape(warning["severity"].as_str().unwrap_or("caution")),
                    label = escape(&self.labels.of("severity", &warning["severity"])),
                    title = escape(&self.labels.of("warning", &warning["warning"])),
                    message = text(&warning["message"]),
                    citations = self.citations(&warning["evidence"]),
                );
            }
            html.push_str("</ul>\n");
        }
        html.push_str("</section>\n");
    }

    fn barriers(&self, html: &mut String, result: &Value) {
        html.push_str(
            "<section class=\"barriers\"><h2>Barrier scores</h2>\n<table><thead><tr><th scope=\"col\">Barrier</th>\
<th scope=\"col\" class=\"number\">Score</th><th scope=\"col\">Band</th><th scope=\"col\" class=\"number\">Bounds</th>\
<th scope=\"col\" class=\"number\">Coverage</th><th scope=\"col\" class=\"number\">Weight</th></tr></thead><tbody>",
        );
        for barrier in items(&result["barriers"]) {
            let _ = write!(
                html,
                "<tr><th scope=\"row\">{name}</th><td class=\"number\">{score}</td><td>{band}</td>\
<td class=\"number\">{low}–{high}</td><td class=\"number\">{coverage}</td><td class=\"number\">{weight}</td></tr>",
                name = escape(&self.labels.of("barrier", &barrier["barrier"])),
                score = score(&barrier["score"]),
                band = escape(&self.labels.of("band", &barrier["band"])),
                low = score(&barrier["pessimistic"]),
                high = score(&barrier["optimistic"]),
                coverage = percent(&barrier["coverage"]),
                weight = percent(&barrier["weight"]),
            );
        }
        html.push_str("</tbody></table></section>\n");
    }

    fn readiness(&self, html: &mut String, readiness: &Value) {
        if readiness.is_null() {
            return;
        }
        let approaching = readiness["approaching"]
            .as_u64()
            .map(|level| format!(" · approaching MSC-TRL {level}"))
            .unwrap_or_default();
        let _ = write!(
            html,
            "<section class=\"readiness\"><h2>Readiness level</h2>\n<p class=\"level\">MSC-TRL {}{approaching}</p>\n",
            readiness["msc_trl"].as_u64().unwrap_or(0)
        );
        if let Some(streams) = readiness["streams"].as_object() {
            html.push_str("<dl class=\"figures\">");
            for (stream, level) in streams {
                let level = level.as_u64().map_or_else(|| "–".to_owned(), |level| level.to_string());
                let name = self.labels.of("stream", &Value::String(stream.clone()));
                let _ = write!(html, "<dt>{}</dt><dd>{level}</dd>", escape(&name));
            }
            html.push_str("</dl>\n");
        }
        let roadmap = items(&readiness["roadmap"]);
        if !roadmap.is_empty() {
            html.push_str("<h3>Roadmap to the next level</h3><ol class=\"roadmap\">");
            for step in roadmap {
                let mitigation = step["mitigation"]["code"]
                    .as_str()
                    .map(|code| {
                        format!(
                            " <em>Mitigation {}: {}</em>",
                            escape(code),
                            text(&step["mitigation"]["title"])
                        )
                    })
                    .unwrap_or_default();
                let _ = write!(
                    html,
                    "<li><strong>Level {level} · {stream}</strong> {gate}{mitigation}{citations}</li>",
                    level = step["level"].as_u64().unwrap_or(0),
                    stream = escape(&self.labels.of("stream", &step["stream"])),
                    gate = text(&step["text"]),
                    citations = self.citations(&step["citations"]),
                );
            }
            html.push_str("</ol>\n");
        }
        html.push_str("</section>\n");
    }

    fn mitigations(&self, html: &mut String, result: &Value) {
        html.push_str("<section class=\"mitigations\"><h2>Top mitigations</h2>\n");
        let mitigations = items(&result["mitigations"]);
        if mitigations.is_empty() {
            html.push_str("<p>No mitigations proposed.</p>\n");
        } else {
            html.push_str("<ol>");
            for mitigation in mitigations.iter().take(TOP_MITIGATIONS) {
                let gain = mitigation["readiness_gain"].as_f64().unwrap_or(0.0);
                let _ = write!(
                    html,
                    "<li><strong>{action}</strong> <span class=\"meta\">{barrier} · index {gain:+.1} · effort {effort} · \
{maturity}</span>{tradeoff}{citations}</li>",
                    action = text(&mitigation["action"]),
                    barrier = escape(&self.labels.of("barrier", &mitigation["barrier"])),
                    effort = escape(&self.labels.of("effort", &mitigation["effort"]).to_lowercase()),
                    maturity = escape(&self.labels.of("maturity", &mitigation["maturity"]).to_lowercase()),
                    tradeoff = mitigation["tradeoff"]
                        .as_str()
                        .map(|tradeoff| format!("<p class=\"tradeoff\">Trade-off: {}</p>", escape(tradeoff)))
                        .unwrap_or_default(),
                    citations = self.citations(&mitigation["evidence"]),
                );
            }
            html.push_str("</ol>\n");
        }
        html.push_str("</section>\n");
    }

    /// Every factor's input as the model read it, by barrier, then the sources the profile cites.
    fn inputs(&self, html: &mut String, result: &Value, profile: &Value) {
        html.push_str(
            "<section class=\"inputs\"><h2>Inputs</h2>\n<table><thead><tr><th scope=\"col\">Barrier</th>\
<th scope=\"col\">Factor</th><th scope=\"col\">Input</th><th scope=\"col\">Level</th></tr></thead><tbody>",
        );
        for barrier in items(&result["barriers"]) {
            let name = escape(&self.labels.of("barrier", &barrier["barrier"]));
            for factor in items(&barrier["factors"]) {
                let level = match factor["level"].as_str() {
                    Some(key) => escape(&self.level_label(factor["factor"].as_str().unwrap_or(""), key)),
                    None => escape(&factor["state"].as_str().unwrap_or("unknown").replace('_', " ")),
                };
                let _ = write!(
                    html,
                    "<tr><td>{name}</td><td>{factor_name}</td><td class=\"input\">{input}</td><td>{level}</td></tr>",
                    factor_name = text(&factor["name"]),
                    input = text(&factor["input"]),
                );
            }
        }
        html.push_str("</tbody></table>\n<h3>Sources</h3>\n");
        let mut sources = String::new();
        if let Some(sections) = profile.as_object() {
            for (section, content) in sections {
                for source in items(&content["sources"]) {
                    let identifier = source["identifier"].as_str().unwrap_or("");
                    let linked = identifier_link(identifier).map_or_else(
                        || escape(identifier),
                        |href| format!("<a href=\"{}\">{}</a>", escape(&href), escape(identifier)),
                    );
                    let as_of = source["as_of"]
                        .as_str()
                        .map(|date| format!(" (as of {})", escape(date)))
                        .unwrap_or_default();
                    let _ = write!(
                        sources,
                        "<li><span class=\"claim\">{}</span> {} {linked}{as_of}</li>",
                        escape(section),
                        text(&source["citation"]),
                    );
                }
            }
        }
        if sources.is_empty() {
            html.push_str("<p>The profile cites no sources: every input is as the sponsor stated it.</p>\n");
        } else {
            let _ = writeln!(html, "<ul class=\"sources\">{sources}</ul>");
        }
        html.push_str("</section>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::identifier_link;

    #[test]
    fn identifiers_link_to_their_records() {
        assert_eq!(
            identifier_link("10.1186/s13287-020-01696-6").as_deref(),
            Some("https://doi.org/10.1186/s13287-020-01696-6")
        );
        assert_eq!(
            identifier_link("PMID:12345678").as_deref(),
            Some("https://pubmed.ncbi.nlm.nih.gov/12345678/")
        );
        assert_eq!(
            identifier_link("NCT00366145").as_deref(),
            Some("https://clinicaltrials.gov/study/NCT00366145")
        );
        assert_eq!(
            identifier_link("PMC7294366").as_deref(),
            Some("https://pmc.ncbi.nlm.nih.gov/articles/PMC7294366/")
        );
        assert_eq!(identifier_link("internal memo 4"), None);
        assert_eq!(identifier_link("NCT123"), None);
    }
}
