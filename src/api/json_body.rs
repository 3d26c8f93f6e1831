//! Reading JSON request bodies: wrong media type 415, malformed JSON 400, and a body that is JSON
//! but not a valid request 422 with the path of the offending field.

use actix_web::HttpRequest;
use actix_web::http::header;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::problem::{ApiError, FieldError};

/// Parses `body` as `T`, returning it with the JSON value it came from (stored as received).
pub fn parse<T: DeserializeOwned>(
    request: &HttpRequest,
    body: &[u8],
) -> Result<(T, serde_json::Value), ApiError> {
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
    // serde_json rejects lone surrogates and nesting beyond 128 levels as malformed.
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|error| ApiError::BadRequest(format!("malformed JSON: {error}")))?;
    if let Some(field) = path_of_nul_character(&value, String::new()) {
        return Err(invalid(field, "text must not contain NUL characters (\\u0000)".into()));
    }
    let parsed = serde_path_to_error::deserialize(&value).map_err(|error| {
        let field = error.path().to_string();
        invalid(if field == "." { String::new() } else { field }, error.into_inner().to_string())
    })?;
    Ok((parsed, value))
}

/// Refuses a JSON array where `parsed` has an object. serde reads an array as a struct (fields by
/// position), so `"lot_consistency": [3, true]` would pass for an object; the schema says object,
/// and an array there is a client mistake. Found by comparing the input with `parsed` written back.
pub fn reject_arrays_read_as_objects(
    field: &str,
    input: &serde_json::Value,
    parsed: &impl Serialize,
) -> Result<(), ApiError> {
    let Ok(normal) = serde_json::to_value(parsed) else { return Ok(()) };
    match path_of_array_read_as_object(input, &normal, field.to_owned()) {
        Some(path) => Err(invalid(path, "expected an object, not an array".into())),
        None => Ok(()),
    }
}

fn path_of_array_read_as_object(
    input: &serde_json::Value,
    normal: &serde_json::Value,
    path: String,
) -> Option<String> {
    use serde_json::Value::{Array, Object};
    match (input, normal) {
        (Array(_), Object(_)) => Some(path),
        (Array(items), Array(normal_items)) => {
            items.iter().zip(normal_items).enumerate().find_map(|(index, (item, normal))| {
                path_of_array_read_as_object(item, normal, format!("{path}[{index}]"))
            })
        }
        (Object(fields), Object(normal_fields)) => fields.iter().find_map(|(key, item)| {
            let normal = normal_fields.get(key)?;
            path_of_array_read_as_object(
                item,
                normal,
                if path.is_empty() { key.clone() } else { format!("{path}.{key}") },
            )
        }),
        _ => None,
    }
}

fn invalid(field: String, message: String) -> ApiError {
    let detail = if field.is_empty() { message.clone() } else { format!("{field}: {message}") };
    ApiError::Validation { detail, errors: vec![FieldError { field, message }] }
}

/// PostgreSQL cannot store NUL in text or jsonb, and no input of this service needs it.
fn path_of_nul_character(value: &serde_json::Value, path: String) -> Option<String> {
    let join = |key: &str| if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") };
    match value {
        serde_json::Value::String(text) => text.contains('\0').then_some(path),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(index, item)| path_of_nul_character(item, format!("{path}[{index}]"))),
        serde_json::Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            if key.contains('\0') { Some(join(key)) } else { path_of_nul_character(item, join(key)) }
        }),
        _ => None,
    }
}
