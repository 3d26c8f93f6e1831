//! The OpenAPI document, generated from the handlers' annotations.

use actix_web::App;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa_actix_web::AppExt;

use super::assessments::{Detail, Order, SortBy, View};
use super::evidence_form::EvidenceForm;
use super::jobs::{ReportFormat, Selection};
use super::stats::{AssessmentSelection, GroupBy, TimeInterval};
use crate::jobs::staging::ImportMode;

/// Top-level metadata of the API; paths and schemas are collected from the registered handlers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "MSC Translational Readiness API",
        description = "Scores a mesenchymal stem/stromal cell (MSC) therapy program against the barriers that keep such \
therapies from reaching patients (cell survival, retention, source and manufacturing variability, scalability, safety, \
outcome measures, regulatory readiness), explains every point of the score with the evidence behind it, and stores each \
assessment for comparison, trend tracking and dashboards. Errors are RFC 9457 problem documents.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    // Query-parameter enums are referenced by `IntoParams` but not collected from it.
    components(schemas(
        SortBy, Order, View, Detail, EvidenceForm, AssessmentSelection, GroupBy, TimeInterval, ImportMode, Selection,
        ReportFormat
    )),
    tags(
        (name = "assessments", description = "Score program profiles, store, list, compare and re-score assessments"),
        (name = "programs", description = "Programs and their assessment histories"),
        (name = "profiles", description = "Help writing profiles: draft a trial from a ClinicalTrials.gov record"),
        (name = "charts", description = "SVG charts: an assessment's barrier radar and a program's trend"),
        (name = "statistics", description = "Aggregates of the stored assessments for dashboards, as flat JSON tables"),
        (name = "exports", description = "The assessment list as streamed CSV or NDJSON files"),
        (name = "jobs", description = "Bulk work as jobs with progress: import a portfolio, re-score it under the current model, and the model-upgrade report"),
        (name = "model", description = "The scoring model and its evidence registry"),
        (name = "access", description = "API keys of the organisation and its audit trail (admin scope)"),
        (name = "operations", description = "Health, readiness and metrics for operators"),
        (name = "problems", description = "Pages explaining each kind of error: the `type` of every problem document points to one"),
    )
)]
struct ApiDoc;

/// Declares the bearer schemes (Swagger UI's "Authorize" button) and, on every operation that
/// requires a key, the answers authentication itself can give: 401, 403 and 429. Runs on the
/// complete document: the paths are collected from the handlers after `ApiDoc` is built.
fn document_security(openapi: &mut utoipa::openapi::OpenApi) {
    let scheme = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .bearer_format("mscr_<key id>_<secret>")
        .description(Some(
            "An API key of your organisation. The first one comes from `msc-readiness keys create \
--organisation <name>`; admins create more with `POST /v1/keys`. Scopes: `read`, `write`, `admin`.",
        ))
        .build();
    let metrics_scheme = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .description(Some(
            "Operators only, for `GET /metrics`: the service-wide `METRICS_TOKEN`. API clients never \
need it; use `api_key`.",
        ))
        .build();
    let components = openapi.components.get_or_insert_with(Default::default);
    components.add_security_scheme("api_key", SecurityScheme::Http(scheme));
    components.add_security_scheme("metrics_token", SecurityScheme::Http(metrics_scheme));
    for item in openapi.paths.paths.values_mut() {
        let operations = [&mut item.get, &mut item.post, &mut item.put, &mut item.delete, &mut item.patch];
        for operation in operations.into_iter().flatten() {
            let answers: &[(&str, &str)] = if requires(operation, "api_key") {
                &[
                    ("401", "No API key, or an invalid, expired or revoked one (see `WWW-Authenticate`)"),
                    ("403", "The API key lacks the scope this operation needs"),
                    (
                        "429",
                        "Too many requests with this API key, or too many failed authentications from this \
client address or with this key id; retry after `Retry-After` seconds",
                    ),
                ]
            } else if requires(operation, "metrics_token") {
                &[("401", "No metrics token, or a wrong one (see `WWW-Authenticate`)")]
            } else {
                &[]
            };
            for (status, description) in answers {
                let response = problem_response(description, status);
                operation.responses.responses.insert((*status).to_owned(), RefOr::T(response));
            }
        }
    }
}

/// Whether the operation's security requirements name `scheme` (utoipa keeps them opaque).
fn requires(operation: &utoipa::openapi::path::Operation, scheme: &str) -> bool {
    serde_json::to_value(&operation.security).is_ok_and(|requirements| {
        requirements
            .as_array()
            .is_some_and(|all| all.iter().any(|requirement| requirement.get(scheme).is_some()))
    })
}

fn problem_response(description: &str, status: &str) -> utoipa::openapi::Response {
    use utoipa::openapi::header::HeaderBuilder;
    use utoipa::openapi::{Object, Type};

    let header = |description: &str, kind: Type| {
        HeaderBuilder::new().schema(Some(Object::with_type(kind))).description(Some(description)).build()
    };
    let response = ResponseBuilder::new().description(description).content(
        super::problem::PROBLEM_CONTENT_TYPE,
        ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build(),
    );
    match status {
        "401" | "403" => response
            .header("WWW-Authenticate", header("The bearer challenge, naming the error", Type::String)),
        "429" => response.header("Retry-After", header("Seconds to wait before retrying", Type::Integer)),
        _ => response,
    }
    .build()
}

/// The complete OpenAPI document of the service, as served at `/openapi.json`.
pub fn spec() -> utoipa::openapi::OpenApi {
    let (_, mut spec) =
        App::new().into_utoipa_app().openapi(ApiDoc::openapi()).configure(super::configure).split_for_parts();
    document_security(&mut spec);
    document_service_failures(&mut spec);
    name_tagged_variants(&mut spec);
    document_request_chosen_views(&mut spec);
    describe_enum_labels(&mut spec);
    document_uploaded_files(&mut spec);
    spec
}

/// An uploaded file (`POST /v1/imports`) is text of its media type, read line by line or record by
/// record; a JSON Schema of the body (`type: string`) says nothing about it, and would have
/// generators send JSON values "of the wrong type" that are, on the wire, text like any other.
/// Each media type of the upload has no schema: any text, described by the request body.
fn document_uploaded_files(spec: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::schema::{Object, Schema, SchemaType};

    let Some(upload) = spec.paths.paths.get_mut("/v1/imports").and_then(|item| item.post.as_mut()) else {
        return;
    };
    let Some(RefOr::T(body)) = upload.request_body.as_mut() else { return };
    for content in body.content.values_mut() {
        if let RefOr::T(content) = content {
            content.schema = Some(RefOr::T(Schema::Object(Object::with_type(SchemaType::AnyValue))));
        }
    }
}

/// Shapes the request chooses (`detail=summary`, `Prefer: return=minimal`, `evidence=ids`) carry
/// no property that tells them apart, so they are an `anyOf` of the shapes: a `oneOf` without a
/// discriminator makes client generators try every variant in turn.
fn document_request_chosen_views(spec: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::schema::{AnyOfBuilder, Schema};

    let Some(components) = spec.components.as_mut() else { return };
    for name in ["AssessmentView", "EvidenceItem"] {
        let Some(RefOr::T(Schema::OneOf(one_of))) = components.schemas.get(name) else { continue };
        let any_of = one_of
            .items
            .iter()
            .cloned()
            .fold(AnyOfBuilder::new(), AnyOfBuilder::item)
            .description(one_of.description.clone())
            .build();
        components.schemas.insert(name.to_owned(), RefOr::T(Schema::AnyOf(any_of)));
    }
}

/// Adds each value's label to the description of the labelled enums, as `GET /v1/model` gives
/// them in `labels`, so that the API documentation reads `phase1_2` as the dashboard does.
fn describe_enum_labels(spec: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::schema::Schema;

    let Some(components) = spec.components.as_mut() else { return };
    let labels = crate::scoring::labels::all();
    for (field, schema_name) in crate::scoring::labels::SCHEMA_NAMES {
        let (Some(RefOr::T(Schema::Object(schema))), Some(values)) =
            (components.schemas.get_mut(schema_name), labels.get(field))
        else {
            continue;
        };
        let listed: Vec<String> =
            values.iter().map(|value| format!("`{}`: {}", value.value, value.label)).collect();
        let description = schema.description.take().unwrap_or_default();
        schema.description = Some(format!(
            "{description}\n\nLabels (`labels.{field}` of `GET /v1/model`): {}.",
            listed.join("; ")
        ));
    }
}

/// Gives each variant of an internally tagged enum (a `oneOf` of objects told apart by one
/// property holding a single constant, serde's `tag`) a schema of its own, named after the enum
/// and the tag (`GateTest` + `factor_at_least` = `GateTestFactorAtLeast`), and declares the tag
/// as the `oneOf`'s discriminator. Client generators then make one named type per variant and
/// pick it by the tag, instead of trying every anonymous variant in turn.
fn name_tagged_variants(spec: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::schema::{Discriminator, Schema};

    let Some(components) = spec.components.as_mut() else { return };
    let mut named = Vec::new();
    for (name, schema) in &mut components.schemas {
        let RefOr::T(Schema::OneOf(one_of)) = schema else { continue };
        let Some((tag, values)) = tag_of(&one_of.items) else { continue };
        let mut mapping = Vec::new();
        for (item, value) in one_of.items.iter_mut().zip(values) {
            let variant = format!("{name}{}", pascal_case(&value));
            mapping.push((value, format!("#/components/schemas/{variant}")));
            let schema = std::mem::replace(item, RefOr::Ref(Ref::from_schema_name(variant.clone())));
            named.push((variant, schema));
        }
        one_of.discriminator = Some(Discriminator::with_mapping(tag, mapping));
    }
    components.schemas.extend(named);
}

/// The property every item of a `oneOf` has with one constant value, and each item's value.
fn tag_of(items: &[RefOr<utoipa::openapi::schema::Schema>]) -> Option<(String, Vec<String>)> {
    use utoipa::openapi::schema::Schema;

    let constant = |item: &RefOr<Schema>, property: &str| -> Option<String> {
        let RefOr::T(Schema::Object(object)) = item else { return None };
        let RefOr::T(Schema::Object(tag)) = object.properties.get(property)? else { return None };
        match tag.enum_values.as_deref() {
            Some([serde_json::Value::String(value)])
                if object.required.iter().any(|name| name == property) =>
            {
                Some(value.clone())
            }
            _ => None,
        }
    };
    let RefOr::T(Schema::Object(first)) = items.first()? else { return None };
    first.properties.keys().find_map(|property| {
        let values: Option<Vec<String>> = items.iter().map(|item| constant(item, property)).collect();
        values.map(|values| (property.clone(), values))
    })
}

/// `factor_at_least` → `FactorAtLeast`.
fn pascal_case(snake: &str) -> String {
    snake
        .split('_')
        .map(|word| {
            let mut characters = word.chars();
            characters
                .next()
                .map_or_else(String::new, |first| first.to_uppercase().chain(characters).collect())
        })
        .collect()
}

/// Adds the failures any operation can meet to every operation that does not document them
/// itself, so that no handler has to repeat them: `504` past the request deadline, and `503`
/// when the database is unavailable (all but the two operations that never touch it).
fn document_service_failures(spec: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::header::HeaderBuilder;
    use utoipa::openapi::{Content, Object, Ref, RefOr, ResponseBuilder, Type};

    let failure = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content("application/problem+json", Content::new(Some(Ref::from_schema_name("Problem"))))
            .header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(Some(Object::with_type(Type::Integer)))
                    .description(Some("Seconds to wait before retrying"))
                    .build(),
            )
            .build()
    };
    let unavailable = failure(
        "The database is unavailable (down, refusing connections, or every connection busy for longer \
than the acquire timeout); retry after `Retry-After` seconds, with the same Idempotency-Key for a POST",
    );
    let deadline = failure(
        "The request did not complete within the request deadline; its work was cancelled. Retry after \
`Retry-After` seconds, with the same Idempotency-Key for a POST",
    );
    for (path, item) in &mut spec.paths.paths {
        let touches_database = !matches!(path.as_str(), "/healthz" | "/metrics" | "/problems/{name}");
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            let responses = &mut operation.responses.responses;
            if touches_database {
                responses.entry("503".into()).or_insert_with(|| RefOr::T(unavailable.clone()));
            }
            responses.entry("504".into()).or_insert_with(|| RefOr::T(deadline.clone()));
        }
    }
}
