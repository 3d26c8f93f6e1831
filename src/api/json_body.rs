//! Reading JSON request bodies: wrong media type 415, malformed JSON 400, and a body that is JSON
//! but not a valid request 422 naming every invalid field (path and reason, in plain words).

use actix_web::HttpRequest;
use actix_web::http::header;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::problem::{ApiError, FieldError};
use super::{direct_read, duplicate_keys};
use crate::scoring::parse_errors::{self, InvalidField};

/// Parses `body` as `T`, returning it with the JSON value it came from (stored as received).
pub fn parse<T: DeserializeOwned>(
    request: &HttpRequest,
    body: &[u8],
) -> Result<(T, serde_json::Value), ApiError> {
    let value = parse_json(request, body)?;
    match validate(&value, body) {
        Ok(parsed) => Ok((parsed, value)),
        Err(errors) => Err(ApiError::invalid_fields(errors)),
    }
}

/// Parses `body` as `T` for a request whose body is not kept, such as a what-if score: straight
/// into `T` when it is valid (no JSON value, no second read); otherwise as [`parse`] and then
/// `check` do, so that every invalid field is named as there.
pub fn parse_not_kept<T: DeserializeOwned>(
    request: &HttpRequest,
    body: &[u8],
    check: impl FnOnce(&T, &serde_json::Value) -> Result<(), ApiError>,
) -> Result<T, ApiError> {
    require_json(request)?;
    if let Some(parsed) = direct_read::read(body) {
        return Ok(parsed);
    }
    let (parsed, value) = parse(request, body)?;
    check(&parsed, &value)?;
    Ok(parsed)
}

/// Reads `value`, the JSON document `body` holds, as `T`, or names every invalid field (path and
/// reason, in the order written, at most `MAX_ERRORS`). No HTTP: an import's worker reads each
/// line of a file with it, as a request body is read.
pub fn validate<T: DeserializeOwned>(value: &serde_json::Value, body: &[u8]) -> Result<T, Vec<FieldError>> {
    // NUL is reported, then taken out, so that the rest of the body is still checked.
    let mut errors = Vec::new();
    let mut without_nul = None;
    if has_nul_character(value) {
        let mut copy = value.clone();
        take_out_nul_characters(&mut copy, String::new(), &mut errors);
        without_nul = Some(copy);
    }
    match parse_errors::deserialize_all::<T>(without_nul.as_ref().unwrap_or(value)) {
        Ok(parsed) if errors.is_empty() => return Ok(parsed),
        Ok(_) => {}
        Err(found) => {
            for error in found {
                if !errors.iter().any(|known: &InvalidField| known.field == error.field) {
                    errors.push(error);
                }
            }
        }
    }
    parse_errors::sort_in_document_order(&mut errors, body);
    errors.truncate(parse_errors::MAX_ERRORS);
    Err(errors.into_iter().map(|error| FieldError { field: error.field, message: error.message }).collect())
}

/// Reads a JSON body as a value: wrong media type 415, malformed JSON 400.
fn parse_json(request: &HttpRequest, body: &[u8]) -> Result<serde_json::Value, ApiError> {
    require_json(request)?;
    // serde_json rejects lone surrogates and nesting beyond 128 levels as malformed.
    let read = duplicate_keys::read(body)
        .map_err(|error| ApiError::BadRequest(format!("malformed JSON: {error}")))?;
    match read.repeated_key {
        None => Ok(read.value),
        Some(field) => Err(ApiError::invalid_fields(vec![duplicate_keys::repeated_key_error(field)])),
    }
}

/// A body of another media type than JSON is refused with 415.
fn require_json(request: &HttpRequest) -> Result<(), ApiError> {
    let is_json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(|media_type| media_type.trim().to_ascii_lowercase())
        .is_some_and(|media_type| media_type == "application/json" || media_type.ends_with("+json"));
    if !is_json {
        return Err(ApiError::UnsupportedMediaType(
            "the request body must be JSON: send Content-Type: application/json".into(),
        ));
    }
    Ok(())
}

/// Reads a JSON body that is read and answered but never stored, such as a registry record: the
/// NUL characters PostgreSQL cannot store may stand in it, and the reader decides what to use.
pub fn parse_unstored(request: &HttpRequest, body: &[u8]) -> Result<serde_json::Value, ApiError> {
    parse_json(request, body)
}

/// Refuses a JSON array where `parsed` has an object. serde reads an array as a struct (fields by
/// position), so `"lot_consistency": [3, true]` would pass for an object; the schema says object,
/// and an array there is a client mistake. Found by comparing the input with `parsed` written back.
pub fn reject_arrays_read_as_objects(
    field: &str,
    input: &serde_json::Value,
    parsed: &impl Serialize,
) -> Result<(), ApiError> {
    match array_read_as_object(field, input, parsed) {
        Some(error) => Err(ApiError::invalid_fields(vec![error])),
        None => Ok(()),
    }
}

/// The field of `input` (at `field`) holding an array where `parsed` has an object, if any.
pub fn array_read_as_object(
    field: &str,
    input: &serde_json::Value,
    parsed: &impl Serialize,
) -> Option<FieldError> {
    let steps = super::shape_check::array_read_as_object(input, parsed)?;
    let mut path = field.to_owned();
    for step in &steps {
        step.write_to(&mut path);
    }
    Some(FieldError { field: path, message: "expected an object, got a list".into() })
}

/// PostgreSQL cannot store NUL in text or jsonb, and no input of this service needs it. Records
/// every string and key holding one, strips NUL from strings and drops such keys.
fn take_out_nul_characters(value: &mut serde_json::Value, path: String, errors: &mut Vec<InvalidField>) {
    let join = |key: &str| if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") };
    let message = || "text must not contain NUL characters (\\u0000)".to_owned();
    match value {
        serde_json::Value::String(text) if text.contains('\0') => {
            text.retain(|character| character != '\0');
            errors.push(InvalidField { field: path, message: message() });
        }
        serde_json::Value::Array(items) => {
            for (index, item) in items.iter_mut().enumerate() {
                take_out_nul_characters(item, format!("{path}[{index}]"), errors);
            }
        }
        serde_json::Value::Object(fields) => {
            fields.retain(|key, _| {
                let keep = !key.contains('\0');
                if !keep {
                    errors.push(InvalidField { field: join(key), message: message() });
                }
                keep
            });
            for (key, item) in fields.iter_mut() {
                take_out_nul_characters(item, join(key), errors);
            }
        }
        _ => {}
    }
}

fn has_nul_character(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(text) => text.contains('\0'),
        serde_json::Value::Array(items) => items.iter().any(has_nul_character),
        serde_json::Value::Object(fields) => {
            fields.iter().any(|(key, item)| key.contains('\0') || has_nul_character(item))
        }
        _ => false,
    }
}
