//! The answer to a request no handler matched: `405` with `Allow` when the path exists under other
//! methods, `404` otherwise.
//!
//! actix puts each handler's method guard on its own resource, so a wrong method falls through to
//! the default service like an unknown path would. The documented paths and their methods are read
//! from the OpenAPI document, so every new endpoint is covered without a list to keep up to date.

use actix_web::dev::ResourceDef;
use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use utoipa::openapi::OpenApi;

use super::problem::ApiError;

/// Every documented path pattern with the methods it answers.
pub struct KnownRoutes {
    routes: Vec<(ResourceDef, Vec<Method>)>,
}

impl KnownRoutes {
    /// The routes of `spec`, plus the OpenAPI document and the Swagger UI, which it does not list.
    pub fn new(spec: &OpenApi) -> Self {
        let mut routes: Vec<(ResourceDef, Vec<Method>)> = spec
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let operations = [
                    (Method::GET, &item.get),
                    (Method::PUT, &item.put),
                    (Method::POST, &item.post),
                    (Method::DELETE, &item.delete),
                    (Method::OPTIONS, &item.options),
                    (Method::HEAD, &item.head),
                    (Method::PATCH, &item.patch),
                    (Method::TRACE, &item.trace),
                ];
                let methods = operations
                    .into_iter()
                    .filter_map(|(method, operation)| operation.as_ref().map(|_| method))
                    .collect();
                (ResourceDef::new(path.as_str()), methods)
            })
            .collect();
        routes.push((ResourceDef::new("/openapi.json"), vec![Method::GET]));
        routes.push((ResourceDef::new("/docs"), vec![Method::GET]));
        routes.push((ResourceDef::new("/docs/{_:.*}"), vec![Method::GET]));
        Self { routes }
    }

    /// The methods `path` answers; empty when no route has this path.
    pub fn allowed_methods(&self, path: &str) -> Vec<Method> {
        let mut allowed: Vec<Method> = Vec::new();
        for (pattern, methods) in &self.routes {
            if pattern.is_match(path) {
                for method in methods {
                    if !allowed.contains(method) {
                        allowed.push(method.clone());
                    }
                }
            }
        }
        allowed
    }
}

/// The default service: 405 with `Allow` for a known path, 404 for anything else.
pub async fn unmatched(request: HttpRequest, routes: web::Data<KnownRoutes>) -> HttpResponse {
    let allowed = routes.allowed_methods(request.path());
    if allowed.is_empty() {
        ApiError::NotFound(format!("no resource at {}", request.path())).error_response()
    } else {
        ApiError::MethodNotAllowed { method: request.method().clone(), allowed }.error_response()
    }
}
