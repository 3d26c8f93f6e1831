//! The lines of an import: one submission each, read with the same field-path errors as a single
//! `POST /v1/assessments`; and the mapping of a CSV record onto such a line. No I/O.

use chrono::{DateTime, Datelike, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::api::duplicate_keys;
use crate::api::json_body;
use crate::api::problem::FieldError;
use crate::api::programs::{ProgramKey, Text};
use crate::scoring::Profile;

/// One submission of an import: an NDJSON line, or a CSV record mapped onto one.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"program": "DISC-101", "program_name": "Disc program", "assessed_at": "2024-03-31T00:00:00Z",
    "idempotency_key": "disc-101-2024-q1", "profile": {"program": {"indication": "intervertebral_disc_degeneration"}}}))]
pub struct ImportLine {
    /// The program's key: created on first use (named `program_name`, or else by its key). Give
    /// this or `program_id`, or neither for an assessment filed under no program.
    pub program: Option<ProgramKey>,
    /// An existing program of the organisation.
    pub program_id: Option<Uuid>,
    /// The name of a program created from `program` (1-200 characters); ignored when it exists.
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200)]
    pub program_name: Option<Text<200>>,
    /// When the program was assessed (RFC 3339, not in the future): a historical assessment takes
    /// this place in its program's history. Without it, the time it is stored.
    pub assessed_at: Option<DateTime<Utc>>,
    /// Makes the line's import durable: a line with a key already imported by the organisation
    /// (in any file, at any time) is skipped, or refused if its content differs. Without one, the
    /// line's content is its key, so the same file sent twice stores nothing twice. 1-255
    /// printable ASCII characters.
    #[schema(min_length = 1, max_length = 255, pattern = "^[!-~]{1,255}$")]
    pub idempotency_key: Option<String>,
    /// The program profile, as in `POST /v1/assessments`.
    pub profile: Profile,
}

/// A line read and checked.
pub struct ParsedLine {
    pub line: ImportLine,
    /// The profile as received, stored as is.
    pub profile_json: serde_json::Value,
    /// The SHA-256 digest of the line as parsed (its JSON with keys in order, so that spacing and
    /// key order do not matter), which recognises it again.
    pub digest: [u8; 32],
    /// The line's import key: its `idempotency_key`, or its digest.
    pub key: String,
}

fn error(field: &str, message: impl Into<String>) -> FieldError {
    FieldError { field: field.to_owned(), message: message.into() }
}

/// Reads one line; `now` bounds `assessed_at`. Every invalid field is named, with its path.
pub fn parse_line(text: &str, now: DateTime<Utc>) -> Result<ParsedLine, Vec<FieldError>> {
    let duplicate_keys::Read { value: mut content, repeated_key } = duplicate_keys::read(text.as_bytes())
        .map_err(|parse| vec![error("", format!("not a JSON document: {parse}"))])?;
    if !content.is_object() {
        return Err(vec![error(
            "",
            "expected a JSON object with `profile` (and `program`, `assessed_at`, ...)",
        )]);
    }
    if let Some(field) = repeated_key {
        return Err(vec![duplicate_keys::repeated_key_error(field)]);
    }
    let line: ImportLine = json_body::validate(&content, text.as_bytes())?;
    // Written as serde_json would, byte for byte: digests of lines imported before are compared.
    let written = crate::json_writer::to_vec(&content)
        .map_err(|written| vec![error("", format!("not a JSON document: {written}"))])?;
    let digest: [u8; 32] = Sha256::digest(&written).into();
    let profile_json = content.get_mut("profile").map(serde_json::Value::take).unwrap_or_default();
    let mut errors = Vec::new();
    if let Some(found) = json_body::array_read_as_object("profile", &profile_json, &line.profile) {
        errors.push(found);
    }
    if line.program.is_some() && line.program_id.is_some() {
        errors.push(error(
            "program_id",
            "give the program by `program` (its key) or by `program_id`, not both",
        ));
    }
    if line.program_name.is_some() && line.program.is_none() {
        errors.push(error("program_name", "names a program created from `program`; give `program` too"));
    }
    if let Some(at) = line.assessed_at {
        if at > now {
            errors.push(error("assessed_at", format!("must not be in the future (it is {at})")));
        } else if !(0..=9999).contains(&at.year()) {
            errors.push(error("assessed_at", "must be an RFC 3339 time with a four-digit year"));
        }
    }
    let key = match &line.idempotency_key {
        Some(key) if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) => {
            errors.push(error("idempotency_key", "must be 1-255 printable ASCII characters"));
            String::new()
        }
        Some(key) => key.clone(),
        None => content_key(&digest),
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ParsedLine { line, profile_json, digest, key })
}

/// The key of a line without its own: its digest.
fn content_key(digest: &[u8; 32]) -> String {
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("sha256:{hex}")
}

/// The columns of an import CSV, from its header row: the line's own fields by name, and each
/// profile input by its path under `profile.` (as in error messages: `profile.delivery.route`).
pub struct CsvColumns(Vec<Column>);

enum Column {
    /// `program`, `program_id`, `program_name`, `assessed_at`, `idempotency_key`: text as is.
    Line(&'static str),
    /// A profile input: the path of keys under `profile`.
    Profile(Vec<String>),
}

/// The line fields a CSV column may name.
const LINE_COLUMNS: [&str; 5] = ["program", "program_id", "program_name", "assessed_at", "idempotency_key"];

impl CsvColumns {
    /// Reads the header row; a column that is neither a line field nor a `profile.` path is named
    /// in the error, as a query parameter would be.
    pub fn from_header<'a>(header: impl IntoIterator<Item = &'a str>) -> Result<Self, FieldError> {
        let mut columns = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        for name in header {
            let name = name.trim();
            if seen.contains(&name) {
                return Err(error(name, "this column appears twice in the header row"));
            }
            seen.push(name);
            if let Some(field) = LINE_COLUMNS.iter().find(|field| **field == name) {
                columns.push(Column::Line(field));
            } else if let Some(path) = name.strip_prefix("profile.") {
                let keys: Vec<String> = path.split('.').map(str::to_owned).collect();
                if keys.iter().any(String::is_empty) {
                    return Err(error(
                        name,
                        "a profile column is a dotted path such as `profile.delivery.route`",
                    ));
                }
                columns.push(Column::Profile(keys));
            } else {
                return Err(error(
                    name,
                    format!(
                        "unknown column; a column is one of {} or a profile input's path such as `profile.delivery.route`",
                        LINE_COLUMNS.join(", ")
                    ),
                ));
            }
        }
        if !columns.iter().any(|column| matches!(column, Column::Profile(_))) {
            return Err(error("", "the header row names no profile column (`profile.<path>`)"));
        }
        Ok(Self(columns))
    }

    /// The line a record stands for, as a JSON document. An empty cell is an unknown input, left
    /// out; a profile cell holding a JSON number, `true`, `false`, a list or an object is read as
    /// that, any other cell as text.
    pub fn to_line<'a>(&self, record: impl IntoIterator<Item = &'a str>) -> Result<String, FieldError> {
        let mut line = serde_json::Map::new();
        let mut profile = serde_json::Value::Object(serde_json::Map::new());
        for (column, cell) in self.0.iter().zip(record) {
            if cell.is_empty() {
                continue;
            }
            match column {
                Column::Line(field) => {
                    line.insert((*field).to_owned(), serde_json::Value::String(cell.to_owned()));
                }
                Column::Profile(path) => {
                    let value = match serde_json::from_str::<serde_json::Value>(cell.trim()) {
                        Ok(
                            value @ (serde_json::Value::Number(_)
                            | serde_json::Value::Bool(_)
                            | serde_json::Value::Array(_)
                            | serde_json::Value::Object(_)),
                        ) => value,
                        _ => serde_json::Value::String(cell.to_owned()),
                    };
                    set_path(&mut profile, path, value)?;
                }
            }
        }
        line.insert("profile".to_owned(), profile);
        Ok(serde_json::Value::Object(line).to_string())
    }
}

fn set_path(
    profile: &mut serde_json::Value,
    path: &[String],
    value: serde_json::Value,
) -> Result<(), FieldError> {
    let mut at = profile;
    for (depth, key) in path.iter().enumerate() {
        let serde_json::Value::Object(fields) = at else {
            return Err(error(
                &format!("profile.{}", path[..depth].join(".")),
                "this column holds a value, and another column a field inside it",
            ));
        };
        if depth + 1 == path.len() {
            if fields.contains_key(key) {
                return Err(error(
                    &format!("profile.{}", path.join(".")),
                    "this column holds an object, and another column a field inside it",
                ));
            }
            fields.insert(key.clone(), value);
            return Ok(());
        }
        at = fields.entry(key.clone()).or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_lines_digest_is_the_one_stored_for_lines_imported_before() {
        // Keys of lines imported earlier hold the SHA-256 of the line as serde_json wrote it.
        let text = r#"{ "program": "DISC-1", "profile": {"program": {"name": "Caf\u00e9 \"A\" \\ é",
            "stage": "phase2"}, "quality": {"viability_at_release_pct": 92.5}}, "assessed_at": "2024-03-31T00:00:00Z" }"#;
        let parsed = parse_line(text, now()).unwrap_or_else(|errors| panic!("{errors:?}"));
        let content: serde_json::Value = serde_json::from_str(text).unwrap();
        let before: [u8; 32] = Sha256::digest(content.to_string().as_bytes()).into();
        assert_eq!(parsed.digest, before);
        assert_eq!(parsed.key, content_key(&before));
        assert!(parsed.key.starts_with("sha256:") && parsed.key.len() == 7 + 64, "{}", parsed.key);
    }

    #[test]
    fn a_line_reads_like_a_submission_with_every_invalid_field_named() {
        let errors = parse_line(
            r#"{"program": "bad key!", "profile": {"delivery": {"route": "teleport"}}, "assessed_at": "2030-01-01T00:00:00Z"}"#,
            now(),
        )
        .err()
        .unwrap();
        let fields: Vec<&str> = errors.iter().map(|error| error.field.as_str()).collect();
        assert_eq!(fields, ["program", "profile.delivery.route"]);

        let errors =
            parse_line(r#"{"profile": {}, "assessed_at": "2030-01-01T00:00:00Z"}"#, now()).err().unwrap();
        assert_eq!(errors[0].field, "assessed_at");
        assert_eq!(parse_line("[1]", now()).err().unwrap()[0].field, "");
        assert_eq!(parse_line("{", now()).err().unwrap()[0].field, "");
    }

    #[test]
    fn a_line_without_its_own_key_is_known_by_its_content_whatever_its_spacing_and_order() {
        let a = parse_line(r#"{"program": "A", "profile": {"program": {"stage": "phase2"}}}"#, now())
            .ok()
            .unwrap();
        let b =
            parse_line(r#"{ "profile":{"program":{"stage":"phase2"}},"program":"A" }"#, now()).ok().unwrap();
        let c = parse_line(r#"{"program": "B", "profile": {"program": {"stage": "phase2"}}}"#, now())
            .ok()
            .unwrap();
        assert_eq!(a.key, b.key);
        assert_ne!(a.key, c.key);
        let keyed = parse_line(r#"{"idempotency_key": "k-1", "profile": {}}"#, now()).ok().unwrap();
        assert_eq!(keyed.key, "k-1");
    }

    #[test]
    fn a_csv_record_maps_onto_a_line_by_its_header() {
        let columns = CsvColumns::from_header([
            "program",
            "assessed_at",
            "profile.program.stage",
            "profile.manufacturing.cells_per_lot",
            "profile.delivery.route",
        ])
        .ok()
        .unwrap();
        let line = columns.to_line(["DISC-1", "", "phase2", "1e9", "intradiscal"]).unwrap();
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"program": "DISC-1", "profile": {"program": {"stage": "phase2"},
                "manufacturing": {"cells_per_lot": 1e9}, "delivery": {"route": "intradiscal"}}})
        );
        assert_eq!(CsvColumns::from_header(["program", "colour"]).err().unwrap().field, "colour");
        let clash = CsvColumns::from_header(["profile.program", "profile.program.stage"]).ok().unwrap();
        assert_eq!(clash.to_line(["early", "phase2"]).unwrap_err().field, "profile.program");
        let clash = CsvColumns::from_header(["profile.program.stage", "profile.program"]).ok().unwrap();
        assert_eq!(clash.to_line(["phase2", "{}"]).unwrap_err().field, "profile.program");
    }
}
