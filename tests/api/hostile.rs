//! Hostile clients (issue 20): inputs and traffic shaped to break the service rather than use it.
//! Each test is a finding of the issue that answered 500, grew memory or let a client hold a core.

use crate::helpers::{assert_problem, spawn_app};

/// Every view that takes the shared filters: the list, the statistics and both exports.
const FILTERED_VIEWS: [&str; 7] = [
    "/v1/assessments",
    "/v1/stats/summary",
    "/v1/stats/grouped?by=indication",
    "/v1/stats/limiting-barriers",
    "/v1/stats/timeseries?interval=week",
    "/v1/exports/assessments.csv",
    "/v1/exports/assessments.ndjson",
];

fn with_query(view: &str, query: &str) -> String {
    let separator = if view.contains('?') { '&' } else { '?' };
    format!("{view}{separator}{query}")
}

#[tokio::test]
async fn a_nul_in_a_text_filter_or_a_time_postgresql_cannot_hold_is_a_400_naming_the_parameter() {
    let app = spawn_app().await;
    for view in FILTERED_VIEWS {
        for (query, parameter) in [
            ("model_version=%00", "model_version"),
            ("model_version=2.0.0%00x", "model_version"),
            ("created_from=-262143-01-01T00:00:00Z", "created_from"),
            ("created_before=-004714-01-01T00:00:00Z", "created_before"),
            ("created_before=%2B262142-12-31T23:59:59Z", "created_before"),
            ("created_from=10000-01-01T00:00:00Z", "created_from"),
        ] {
            let path = with_query(view, query);
            let problem = assert_problem(app.get(&path).await, 400).await;
            assert_eq!(problem["errors"][0]["field"], parameter, "{path}: {problem}");
        }
        // The edges of RFC 3339's years still filter (to nothing here).
        for query in ["created_from=0000-01-01T00:00:00Z", "created_before=9999-12-31T23:59:59Z"] {
            let path = with_query(view, query);
            assert_eq!(app.get(&path).await.status(), 200, "{path}");
        }
    }
}
