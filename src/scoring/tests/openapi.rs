//! The public types document themselves for the API: every schema they reference is emitted,
//! and every property and enum has a description.

use utoipa::OpenApi;

use crate::scoring::{Assessment, ModelDocument, Profile};

#[derive(OpenApi)]
#[openapi(components(schemas(Profile, Assessment, ModelDocument)))]
struct ScoringSchemas;

#[test]
fn every_referenced_schema_is_emitted_and_described() {
    let spec = serde_json::to_value(ScoringSchemas::openapi()).expect("serialises");
    let schemas = spec["components"]["schemas"].as_object().expect("schemas");
    for name in ["Profile", "Assessment", "ModelDocument", "Route", "FactorAssessment", "Evidence"] {
        assert!(schemas.contains_key(name), "{name} missing");
    }
    let text = spec.to_string();
    for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = &reference[..reference.find('"').expect("closing quote")];
        assert!(schemas.contains_key(name), "{name} is referenced but not emitted");
    }
    for (name, schema) in schemas {
        let described = schema.get("description").is_some()
            || schema.get("oneOf").is_some_and(|variants| {
                variants.as_array().is_some_and(|v| v.iter().all(|v| v.get("description").is_some()))
            });
        assert!(described, "{name} has no description");
        if let Some(properties) = schema.get("properties").and_then(|p| p.as_object()) {
            for (property, body) in properties {
                let documented = body.get("description").is_some()
                    || body.get("$ref").is_some()
                    || body.get("oneOf").is_some()
                    || body.get("allOf").is_some();
                assert!(documented, "{name}.{property} has no description");
            }
        }
    }
}

#[test]
fn enum_schemas_list_the_wire_names() {
    use crate::scoring::Barrier;
    use crate::scoring::profile::{CultureFormat, ProfileVersion, Route};
    let spec = serde_json::to_value(ScoringSchemas::openapi()).expect("serialises");
    let values = |name: &str| -> Vec<String> {
        spec["components"]["schemas"][name]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} is an enum schema"))
            .iter()
            .map(|value| value.as_str().expect("string").to_owned())
            .collect()
    };
    let keys = |keys: &[&str]| keys.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>();
    use crate::scoring::input_types::Scale;
    assert_eq!(values("Route"), keys(Route::KEYS));
    assert_eq!(values("CultureFormat"), keys(CultureFormat::KEYS));
    assert_eq!(values("ProfileVersion"), keys(ProfileVersion::KEYS));
    assert_eq!(values("Barrier"), keys(Barrier::KEYS));
    assert_eq!(values("FactorCode")[0], "SV1");
}
