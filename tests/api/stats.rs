use serde_json::{Value, json};

use crate::helpers::{
    StoredRow, TestApp, assert_problem, reference_profile, spawn_app, spawn_app_with, test_settings,
};

/// A set with hand-chosen scores, in the default organisation and in another one.
///
/// Program P was assessed three times (10 in January, 90 later in January, 30 in February: its
/// latest); three assessments have no program (20, 40, 50). Survival scores equal the overall
/// index; the other barriers score 50. Another organisation has two assessments of its own.
async fn seed_hand_computed_set(app: &TestApp) -> uuid::Uuid {
    let program = app.insert_program(app.organisation, "P").await;
    let other = app.insert_organisation("other").await;
    let other_program = app.insert_program(other, "Q").await;
    let row = |organisation, program, overall, limiting_barrier, indication, created_at, latest| StoredRow {
        organisation,
        program,
        overall,
        survival: overall,
        limiting_barrier,
        indication,
        created_at,
        latest,
    };
    let (gvhd, knee) = (Some("gvhd_acute"), Some("osteoarthritis_knee"));
    let default = app.organisation;
    app.insert_rows(&[
        row(default, Some(program), 10.0, "survival", gvhd, "2026-01-05T10:00:00Z", false),
        row(default, Some(program), 90.0, "safety", gvhd, "2026-01-20T10:00:00Z", false),
        row(default, Some(program), 30.0, "survival", gvhd, "2026-02-10T10:00:00Z", true),
        row(default, None, 20.0, "retention", knee, "2026-02-11T10:00:00Z", true),
        row(default, None, 40.0, "retention", knee, "2026-03-01T10:00:00Z", true),
        row(default, None, 50.0, "safety", None, "2026-03-15T10:00:00Z", true),
        row(other, Some(other_program), 99.0, "outcomes", gvhd, "2026-01-10T10:00:00Z", true),
        row(other, None, 5.0, "outcomes", knee, "2026-02-10T10:00:00Z", true),
    ])
    .await;
    program
}

async fn get_json(app: &TestApp, path: &str) -> Value {
    let response = app.get(path).await;
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

fn metric<'a>(rows: &'a Value, name: &str) -> &'a Value {
    rows.as_array().unwrap().iter().find(|row| row["metric"] == name).unwrap_or_else(|| panic!("no {name}"))
}

fn bins(histogram: &Value, name: &str) -> Vec<u64> {
    histogram
        .as_array()
        .unwrap()
        .iter()
        .filter(|bin| bin["metric"] == name)
        .map(|bin| bin["count"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn the_summary_counts_each_programs_latest_assessment_by_default_and_every_one_on_request() {
    let app = spawn_app().await;
    seed_hand_computed_set(&app).await;

    let latest = get_json(&app, "/v1/stats/summary").await;
    let all = get_json(&app, "/v1/stats/summary?assessments=all").await;

    // Latest: 30, 20, 40, 50. Sorted 20 30 40 50: quartiles at ranks 0.75, 1.5, 2.25.
    assert_eq!(
        metric(&latest["statistics"], "overall_index"),
        &json!({"metric": "overall_index", "count": 4, "mean": 35.0, "median": 35.0, "q1": 27.5, "q3": 42.5,
                "min": 20.0, "max": 50.0})
    );
    assert_eq!(metric(&latest["statistics"], "survival")["q3"], 42.5);
    assert_eq!(metric(&latest["statistics"], "regulatory")["median"], 50.0);
    assert_eq!(bins(&latest["histogram"], "overall_index"), [0, 0, 1, 1, 1, 1, 0, 0, 0, 0]);
    assert_eq!(
        latest["histogram"][0],
        json!({"metric": "overall_index", "from": 0.0, "to": 10.0, "count": 0})
    );
    assert_eq!(latest["statistics"].as_array().unwrap().len(), 8);
    assert_eq!(latest["histogram"].as_array().unwrap().len(), 80);
    // All: 10 20 30 40 50 90, quartiles at ranks 1.25, 2.5, 3.75. The other organisation's 99 and
    // 5 are in neither.
    assert_eq!(
        metric(&all["statistics"], "overall_index"),
        &json!({"metric": "overall_index", "count": 6, "mean": 40.0, "median": 35.0, "q1": 22.5, "q3": 47.5,
                "min": 10.0, "max": 90.0})
    );
    assert_eq!(bins(&all["histogram"], "overall_index"), [0, 1, 1, 1, 1, 1, 0, 0, 0, 1]);
}

#[tokio::test]
async fn grouped_limiting_and_timeseries_statistics_match_hand_computed_values() {
    let app = spawn_app().await;
    seed_hand_computed_set(&app).await;

    let grouped = get_json(&app, "/v1/stats/grouped?by=indication").await;
    let overall: Vec<(Value, u64, f64)> = grouped["statistics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["metric"] == "overall_index")
        .map(|row| (row["group"].clone(), row["count"].as_u64().unwrap(), row["mean"].as_f64().unwrap()))
        .collect();
    assert_eq!(
        overall,
        [(json!("gvhd_acute"), 1, 30.0), (json!("osteoarthritis_knee"), 2, 30.0), (Value::Null, 1, 50.0)]
    );
    let knee = grouped["statistics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["group"] == "osteoarthritis_knee" && row["metric"] == "overall_index")
        .unwrap();
    assert_eq!((knee["q1"].as_f64(), knee["q3"].as_f64()), (Some(25.0), Some(35.0)));
    assert_eq!(grouped["histogram"].as_array().unwrap().len(), 3 * 8 * 10);

    let limiting = get_json(&app, "/v1/stats/limiting-barriers").await;
    let shares: Vec<(&str, u64, f64)> = limiting
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (row["barrier"].as_str().unwrap(), row["count"].as_u64().unwrap(), row["share"].as_f64().unwrap())
        })
        .collect();
    assert_eq!(
        shares,
        [
            ("survival", 1, 0.25),
            ("retention", 2, 0.5),
            ("variability", 0, 0.0),
            ("scalability", 0, 0.0),
            ("safety", 1, 0.25),
            ("outcomes", 0, 0.0),
            ("regulatory", 0, 0.0),
        ]
    );

    // Per month; by default a program counts once per month, through its last assessment in it.
    let months = get_json(&app, "/v1/stats/timeseries?interval=month").await;
    let summary = |series: &Value| -> Vec<(String, u64, f64)> {
        series
            .as_array()
            .unwrap()
            .iter()
            .map(|period| {
                (
                    period["period_start"].as_str().unwrap().to_owned(),
                    period["count"].as_u64().unwrap(),
                    period["overall_index"].as_f64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(
        summary(&months),
        [
            ("2026-01-01T00:00:00Z".to_owned(), 1, 90.0),
            ("2026-02-01T00:00:00Z".to_owned(), 2, 25.0),
            ("2026-03-01T00:00:00Z".to_owned(), 2, 45.0),
        ]
    );
    assert_eq!(months[0]["survival"], 90.0);
    assert_eq!(months[0]["safety"], 50.0);
    let all_months = get_json(&app, "/v1/stats/timeseries?assessments=all").await;
    assert_eq!(summary(&all_months)[0], ("2026-01-01T00:00:00Z".to_owned(), 2, 50.0));
    // ISO weeks start on Monday; 2026-01-05 is one.
    let weeks = get_json(&app, "/v1/stats/timeseries?interval=week").await;
    assert_eq!(weeks.as_array().unwrap().len(), 5);
    assert_eq!(weeks[0]["period_start"], "2026-01-05T00:00:00Z");
}

#[tokio::test]
async fn statistics_apply_the_list_filters() {
    let app = spawn_app().await;
    let program = seed_hand_computed_set(&app).await;
    let overall = |statistics: Value| metric(&statistics["statistics"], "overall_index").clone();

    let knee = overall(get_json(&app, "/v1/stats/summary?indication=osteoarthritis_knee").await);
    assert_eq!((knee["count"].as_u64(), knee["mean"].as_f64()), (Some(2), Some(30.0)));
    let high = overall(get_json(&app, "/v1/stats/summary?min_overall=35").await);
    assert_eq!((high["count"].as_u64(), high["mean"].as_f64()), (Some(2), Some(45.0)));
    let history =
        overall(get_json(&app, &format!("/v1/stats/summary?program_id={program}&assessments=all")).await);
    assert_eq!((history["count"].as_u64(), history["median"].as_f64()), (Some(3), Some(30.0)));
    // The latest rule comes first: before February no program's latest assessment exists yet.
    let january = overall(get_json(&app, "/v1/stats/summary?created_before=2026-02-01T00:00:00Z").await);
    assert_eq!((january["count"].as_u64(), january["mean"].clone()), (Some(0), Value::Null));
    let limited = get_json(&app, "/v1/stats/limiting-barriers?limiting_barrier=retention").await;
    assert_eq!(limited[1]["share"], 1.0);
}

fn quantile(sorted: &[f64], p: f64) -> f64 {
    let rank = p * (sorted.len() - 1) as f64;
    let (low, high) = (sorted[rank.floor() as usize], sorted[rank.ceil() as usize]);
    low + (rank - rank.floor()) * (high - low)
}

/// Checks the summary against statistics computed here from the list's values of the same rows.
async fn assert_summary_matches(app: &TestApp, rows: &[&Value]) {
    let summary = get_json(app, "/v1/stats/summary").await;
    for name in [
        "overall_index",
        "survival",
        "retention",
        "variability",
        "scalability",
        "safety",
        "outcomes",
        "regulatory",
    ] {
        let mut values: Vec<f64> = rows
            .iter()
            .map(|row| if name == "overall_index" { &row[name] } else { &row["scores"][name] })
            .map(|value| value.as_f64().unwrap())
            .collect();
        values.sort_by(f64::total_cmp);
        let statistics = metric(&summary["statistics"], name);
        assert_eq!(statistics["count"].as_u64(), Some(values.len() as u64), "{name}");
        let close = |field: &str, expected: f64| {
            let actual = statistics[field].as_f64().unwrap();
            // Means and quartiles are given to one decimal, as scores are.
            let expected = (expected * 10.0).round() / 10.0;
            assert!((actual - expected).abs() < 1e-9, "{name} {field}: {actual} != {expected}");
        };
        close("mean", values.iter().sum::<f64>() / values.len() as f64);
        close("median", quantile(&values, 0.5));
        close("q1", quantile(&values, 0.25));
        close("q3", quantile(&values, 0.75));
        close("min", values[0]);
        close("max", values[values.len() - 1]);
        assert_eq!(bins(&summary["histogram"], name).iter().sum::<u64>(), values.len() as u64);
    }
}

#[tokio::test]
async fn the_latest_assessment_of_a_program_follows_submissions_rescores_and_deletions() {
    let app = spawn_app().await;
    let program: Value =
        app.post_json("/v1/programs", &json!({"key": "DISC-1", "name": "Disc"})).await.json().await.unwrap();
    let program_id = program["id"].as_str().unwrap();
    let mut first = Value::Null;
    for name in ["disc_early_academic", "disc_mature_allogeneic"] {
        let body = json!({"program_id": program_id, "profile": reference_profile(name)});
        let response = app.post_json("/v1/assessments", &body).await;
        assert_eq!(response.status(), 201);
        if first.is_null() {
            first = response.json().await.unwrap();
        }
    }
    let rescored: Value = app
        .post_json(&format!("/v1/assessments/{}/rescore", first["id"].as_str().unwrap()), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    app.submit(&reference_profile("gvhd_approved_pediatric")).await;
    app.submit(&reference_profile("knee_oa_allogeneic_phase2")).await;

    let list = get_json(&app, "/v1/assessments?limit=500&order=asc").await;
    let items: Vec<&Value> = list["items"].as_array().unwrap().iter().collect();
    assert_eq!(items.len(), 5);
    // The re-scored assessment is the program's newest: it and the two without a program count.
    let latest: Vec<&Value> = items
        .iter()
        .copied()
        .filter(|item| item["program_id"].is_null() || item["id"] == rescored["id"])
        .collect();
    assert_summary_matches(&app, &latest).await;
    let all = get_json(&app, "/v1/stats/summary?assessments=all").await;
    assert_eq!(metric(&all["statistics"], "overall_index")["count"], 5);

    // Withdrawing the latest makes the program's previous assessment its latest again.
    let deleted =
        app.client.delete(app.url(&format!("/v1/assessments/{}", rescored["id"].as_str().unwrap())));
    assert_eq!(deleted.send().await.unwrap().status(), 204);
    let previous: Vec<&Value> = items
        .iter()
        .copied()
        .filter(|item| item["program_id"].is_null() || item["id"] == items[1]["id"])
        .collect();
    assert_eq!(items[1]["program_id"], program["id"], "the second submission");
    assert_summary_matches(&app, &previous).await;
}

#[tokio::test]
async fn invalid_statistics_parameters_are_400_naming_the_parameter() {
    let app = spawn_app().await;
    for (path, parameter) in [
        ("/v1/stats/summary?assessments=some", "assessments"),
        ("/v1/stats/summary?colour=blue", "colour"),
        ("/v1/stats/summary?min_overall=high", "min_overall"),
        ("/v1/stats/summary?min_overall=120", "min_overall"),
        ("/v1/stats/summary?readiness_level=12", "readiness_level"),
        ("/v1/stats/summary?indication=gout", "indication"),
        ("/v1/stats/grouped?by=colour", "by"),
        ("/v1/stats/grouped?interval=week&by=route", "interval"),
        ("/v1/stats/limiting-barriers?max_retention=-1", "max_retention"),
        ("/v1/stats/timeseries?interval=day", "interval"),
    ] {
        let problem = assert_problem(app.get(path).await, 400).await;
        assert_eq!(problem["errors"][0]["field"], parameter, "{path}: {problem}");
    }
    let missing = assert_problem(app.get("/v1/stats/grouped").await, 400).await;
    assert_eq!(missing["errors"][0]["field"], "by", "{missing}");
}

#[tokio::test]
async fn statistics_of_an_organisation_without_assessments_are_empty_not_errors() {
    let app = spawn_app().await;
    let other = app.insert_organisation("other").await;
    app.insert_rows(&[StoredRow {
        organisation: other,
        program: None,
        overall: 70.0,
        survival: 70.0,
        limiting_barrier: "safety",
        indication: None,
        created_at: "2026-01-01T00:00:00Z",
        latest: true,
    }])
    .await;

    let summary = get_json(&app, "/v1/stats/summary").await;
    assert_eq!(metric(&summary["statistics"], "overall_index")["count"], 0);
    assert!(metric(&summary["statistics"], "overall_index")["median"].is_null());
    assert_eq!(
        get_json(&app, "/v1/stats/grouped?by=route").await,
        json!({"statistics": [], "histogram": []})
    );
    assert_eq!(get_json(&app, "/v1/stats/timeseries").await, json!([]));
    let limiting = get_json(&app, "/v1/stats/limiting-barriers").await;
    assert!(limiting.as_array().unwrap().iter().all(|row| row["count"] == 0 && row["share"] == 0.0));
}

/// The statistics of a view read from the rollup, and the same view forced onto a scan of the
/// assessments by a filter that excludes nothing.
async fn assert_rollup_matches_scan(app: &TestApp, moment: &str) {
    for view in [
        "/v1/stats/summary?",
        "/v1/stats/summary?indication=intervertebral_disc_degeneration&",
        "/v1/stats/summary?readiness_level=3&",
        "/v1/stats/summary?limiting_barrier=variability&",
        "/v1/stats/grouped?by=indication&",
        "/v1/stats/grouped?by=tissue_source&",
        "/v1/stats/grouped?by=route&",
        "/v1/stats/grouped?by=stage&",
        "/v1/stats/grouped?by=readiness_level&",
        "/v1/stats/grouped?by=model_version&",
        "/v1/stats/grouped?by=stage&stage=phase3&",
        "/v1/stats/limiting-barriers?",
        "/v1/stats/limiting-barriers?limiting_barrier=outcomes&",
        "/v1/stats/summary?assessments=all&",
        "/v1/stats/summary?assessments=all&stage=phase2&",
        "/v1/stats/grouped?by=indication&assessments=all&",
        "/v1/stats/limiting-barriers?assessments=all&",
    ] {
        let rollup = get_json(app, view).await;
        let scan = get_json(app, &format!("{view}created_before=2999-01-01T00:00:00Z")).await;
        assert_eq!(rollup, scan, "{view} {moment}");
    }
}

#[tokio::test]
async fn the_rollup_answers_exactly_what_a_scan_of_the_assessments_answers() {
    // Folding only when the test says so: each comparison below has a known mix of folded and
    // queued changes.
    let mut settings = test_settings();
    settings.stats_fold_interval = None;
    // About 200 requests in a second or two: more than one key's default rate allows.
    settings.rate_limit = None;
    let app = spawn_app_with(settings).await;
    let pool = sqlx::PgPool::connect_with(app.database_options.clone()).await.unwrap();
    let queued = async || -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM score_count_changes").fetch_one(&pool).await.unwrap()
    };
    let fold = async || msc_readiness::persistence::score_counts::fold(&pool).await.unwrap();
    let other = app.client_with(&app.new_key("rollup other", "read,write").await);
    let mut programs = Vec::new();
    for key in ["A", "B"] {
        let program: Value =
            app.post_json("/v1/programs", &json!({"key": key, "name": key})).await.json().await.unwrap();
        programs.push(program["id"].as_str().unwrap().to_owned());
    }
    let mut stored = Vec::new();
    for (index, (name, _)) in msc_readiness::scoring::REFERENCE_PROGRAMS.iter().enumerate() {
        let program = programs.get(index % 3).map(|id| json!(id));
        let body = json!({"program_id": program, "profile": reference_profile(name)});
        let response = app.post_json("/v1/assessments", &body).await;
        assert_eq!(response.status(), 201);
        stored.push(response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
        // Another organisation's assessments are in the same queue and rollup tables.
        let body = json!({"profile": reference_profile(name)});
        let response = other.post(app.url("/v1/assessments")).json(&body).send().await.unwrap();
        assert_eq!(response.status(), 201);
    }
    // Every submission (ours and the other organisation's) entered both selections; every one of
    // ours in program A or B but the last left the latest selection, superseded within it.
    let submissions = 2 * stored.len() as i64;
    let in_a_or_b = stored.len().div_ceil(3) + (stored.len() + 1) / 3;
    assert_eq!(queued().await, 2 * submissions + (in_a_or_b as i64 - 2));
    assert_rollup_matches_scan(&app, "before any fold").await;
    fold().await;
    assert_eq!(queued().await, 0);
    assert_rollup_matches_scan(&app, "after folding").await;

    // Changes queued on top of folded counts: a re-score, and deleting a program's latest.
    let rescored = app.post_json(&format!("/v1/assessments/{}/rescore", stored[0]), &json!({})).await;
    assert_eq!(rescored.status(), 201);
    let deleted = app.client.delete(app.url(&format!("/v1/assessments/{}", stored[4]))).send().await.unwrap();
    assert_eq!(deleted.status(), 204);
    assert!(queued().await > 0);
    assert_rollup_matches_scan(&app, "with queued changes").await;
    fold().await;
    assert_rollup_matches_scan(&app, "after the second fold").await;

    // Folded incrementally, the rollup holds what recounting it from the assessments gives.
    let snapshot = "SELECT organisation_id, selection, dimension, grp, metric, counts FROM score_counts
                    ORDER BY organisation_id, selection, dimension, grp, metric";
    let mut database = app.database().await;
    type Row = (uuid::Uuid, String, String, String, String, Vec<i32>);
    let incremental: Vec<Row> = sqlx::query_as(snapshot).fetch_all(&mut database).await.unwrap();
    sqlx::query("SELECT rebuild_score_counts()").execute(&mut database).await.unwrap();
    let recounted: Vec<Row> = sqlx::query_as(snapshot).fetch_all(&mut database).await.unwrap();
    assert!(!recounted.is_empty());
    // Not assert_eq: a difference would print thousands of zero counts.
    let differing: Vec<_> = incremental
        .iter()
        .zip(&recounted)
        .filter(|(a, b)| a != b)
        .map(|(a, _)| (&a.1, &a.2, &a.3, &a.4))
        .collect();
    assert!(
        incremental.len() == recounted.len() && differing.is_empty(),
        "incremental {} rows, recounted {}; differing: {differing:?}",
        incremental.len(),
        recounted.len()
    );
}
