//! Issue 14, point 7: a barrier with nothing known has no score. It is null in the result, the
//! stored columns, the list, the exports and the comparisons, and left out of the statistics;
//! never a 0 that reads as the worst score.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::helpers::{TestApp, reference_profile, spawn_app, spawn_app_with, test_settings};

/// A profile that states nothing but its indication: nothing is known about scalability (nor
/// about most barriers), while outcomes, with critical factors, is scored at its worst case.
fn sparse(name: &str) -> Value {
    json!({"profile_version": "2", "program": {"name": name, "indication": "ibd"}})
}

/// Reference programs that answer the scalability questions.
const KNOWN: [&str; 3] = ["disc_mature_allogeneic", "gvhd_approved_pediatric", "knee_oa_allogeneic_phase2"];

async fn get_json(app: &TestApp, path: &str) -> Value {
    let response = app.get(path).await;
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

fn metric<'a>(rows: &'a Value, name: &str) -> &'a Value {
    rows.as_array().unwrap().iter().find(|row| row["metric"] == name).unwrap_or_else(|| panic!("no {name}"))
}

#[tokio::test]
async fn a_barrier_with_nothing_known_is_null_in_the_result_the_store_the_list_and_the_exports() {
    let app = spawn_app().await;

    let response = app.post_json("/v1/score", &json!({"profile": sparse("Sparse")})).await;
    assert_eq!(response.status(), 200);
    let result: Value = response.json().await.unwrap();
    let scalability = &result["barriers"][3];
    assert_eq!((&scalability["barrier"], &scalability["band"]), (&json!("scalability"), &json!("unknown")));
    assert!(scalability.get("score").is_some_and(Value::is_null), "present and null: {scalability}");
    assert_eq!(scalability["optimistic"], 100.0, "the bounds stay numbers");
    assert!(result["barriers"][5]["score"].is_number(), "outcomes is scored at its worst case");

    let stored = app.submit(&sparse("Sparse")).await;
    assert!(stored["result"]["barriers"][3]["score"].is_null());
    let id = stored["id"].as_str().unwrap();
    let read = get_json(&app, &format!("/v1/assessments/{id}")).await;
    assert!(read["result"]["barriers"][3]["score"].is_null());
    let column: Option<f64> = sqlx::query_scalar("SELECT scalability FROM assessments WHERE id = $1")
        .bind(uuid::Uuid::parse_str(id).unwrap())
        .fetch_one(&mut app.database().await)
        .await
        .unwrap();
    assert_eq!(column, None, "stored as NULL, not 0");

    let list = get_json(&app, "/v1/assessments").await;
    let item = &list["items"][0];
    assert!(item["scores"].get("scalability").is_some_and(Value::is_null), "{item}");
    assert!(item["scores"]["outcomes"].is_number());

    let csv = app.get("/v1/exports/assessments.csv").await.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header = reader.headers().unwrap().clone();
    let cell = |record: &csv::StringRecord, name: &str| {
        record[header.iter().position(|column| column == name).unwrap()].to_owned()
    };
    let record = reader.records().next().unwrap().unwrap();
    assert_eq!(cell(&record, "scalability"), "", "an empty cell, not 0");
    assert_eq!(
        cell(&record, "outcomes").parse::<f64>().unwrap(),
        item["scores"]["outcomes"].as_f64().unwrap()
    );

    let ndjson = app.get("/v1/exports/assessments.ndjson").await.text().await.unwrap();
    let line: Value = serde_json::from_str(ndjson.lines().next().unwrap()).unwrap();
    assert!(line["scores"].get("scalability").is_some_and(Value::is_null), "{line}");
    assert_eq!(&line, item);
}

#[tokio::test]
async fn statistics_count_only_the_known_scores_of_a_barrier() {
    let mut settings = test_settings();
    // Folding when the test says so: the counts are checked queued, folded and rebuilt.
    settings.stats_fold_interval = None;
    let app = spawn_app_with(settings).await;
    let pool = sqlx::PgPool::connect_with(app.database_options.clone()).await.unwrap();
    app.submit(&sparse("Sparse")).await;
    let known = app.submit(&reference_profile(KNOWN[0])).await;
    let known_score = known["result"]["barriers"][3]["score"].as_f64().unwrap();
    assert!(known_score > 0.0);

    for moment in ["queued", "folded", "rebuilt"] {
        match moment {
            "folded" => {
                msc_readiness::persistence::score_counts::fold(&pool).await.unwrap();
            }
            "rebuilt" => {
                sqlx::query("SELECT rebuild_score_counts()").execute(&pool).await.unwrap();
            }
            _ => {}
        }
        // The rollup, and a scan of the assessments (a filter that excludes nothing).
        for path in ["/v1/stats/summary", "/v1/stats/summary?created_before=2999-01-01T00:00:00Z"] {
            let summary = get_json(&app, path).await;
            let statistics = &summary["statistics"];
            assert_eq!(metric(statistics, "overall_index")["count"], 2, "{path} {moment}");
            let scalability = metric(statistics, "scalability");
            assert_eq!(scalability["count"], 1, "{path} {moment}: {scalability}");
            assert_eq!(
                (&scalability["min"], &scalability["max"]),
                (&json!(known_score), &json!(known_score))
            );
            let histogram: u64 = summary["histogram"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|bin| bin["metric"] == "scalability")
                .map(|bin| bin["count"].as_u64().unwrap())
                .sum();
            assert_eq!(histogram, 1, "{path} {moment}");
        }
    }
    let periods = get_json(&app, "/v1/stats/timeseries?interval=month").await;
    assert_eq!(periods[0]["count"], 2);
    assert_eq!(periods[0]["scalability"], known_score, "the mean of the known score alone");
}

/// Pages through the list sorted by scalability; returns the items in page order and the cursors.
async fn pages(app: &TestApp, order: &str) -> (Vec<Value>, Vec<String>) {
    let (mut items, mut cursors) = (Vec::new(), Vec::new());
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/assessments?sort=scalability&order={order}&limit=2");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let page = get_json(app, &path).await;
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => {
                cursors.push(next.to_owned());
                cursor = Some(next.to_owned());
            }
            None => return (items, cursors),
        }
    }
}

#[tokio::test]
async fn sorting_by_a_barrier_puts_unknown_scores_last_and_pages_through_every_row_once() {
    let app = spawn_app().await;
    let mut ids = HashSet::new();
    for round in 0..3 {
        let record = app.submit(&sparse(&format!("Sparse {round}"))).await;
        ids.insert(record["id"].as_str().unwrap().to_owned());
    }
    for name in KNOWN {
        let record = app.submit(&reference_profile(name)).await;
        ids.insert(record["id"].as_str().unwrap().to_owned());
    }

    for order in ["asc", "desc"] {
        let (items, cursors) = pages(&app, order).await;
        let seen: Vec<String> = items.iter().map(|item| item["id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(seen.len(), ids.len(), "{order}: every row exactly once");
        assert_eq!(seen.iter().cloned().collect::<HashSet<_>>(), ids, "{order}");
        let scores: Vec<Option<f64>> =
            items.iter().map(|item| item["scores"]["scalability"].as_f64()).collect();
        let known = scores.iter().take_while(|score| score.is_some()).count();
        assert_eq!(known, KNOWN.len(), "{order}: known scores first, unknown last: {scores:?}");
        assert!(scores[known..].iter().all(Option::is_none), "{order}: {scores:?}");
        let sorted = scores[..known].windows(2).all(|pair| match order {
            "asc" => pair[0] <= pair[1],
            _ => pair[0] >= pair[1],
        });
        assert!(sorted, "{order}: {scores:?}");
        // Page boundaries fall before, across and inside the unknown scores (6 rows, 2 a page).
        assert!(cursors.iter().any(|cursor| cursor.starts_with("null~")), "{order}: {cursors:?}");
        assert!(cursors.iter().any(|cursor| !cursor.starts_with("null~")), "{order}: {cursors:?}");
    }

    // A null cursor in a sort whose column is never null is past every row: an empty last page
    // (the schema's pattern accepts it for every sort, so it is not refused).
    let any = ids.iter().next().unwrap();
    for order in ["asc", "desc"] {
        let page =
            get_json(&app, &format!("/v1/assessments?sort=overall_index&order={order}&cursor=null~{any}"))
                .await;
        assert_eq!(page["items"].as_array().map(Vec::len), Some(0), "{order}");
        assert!(page["next_cursor"].is_null(), "{order}");
    }

    // A comparison has no change for a barrier unknown on either side.
    let sparse_id =
        &get_json(&app, "/v1/assessments?sort=scalability&order=asc&limit=500").await["items"][5]["id"];
    let known_id =
        &get_json(&app, "/v1/assessments?sort=scalability&order=asc&limit=1").await["items"][0]["id"];
    let path =
        format!("/v1/assessments/{}/compare/{}", known_id.as_str().unwrap(), sparse_id.as_str().unwrap());
    let comparison = get_json(&app, &path).await;
    let scalability = &comparison["barriers"][3];
    assert_eq!(scalability["barrier"], "scalability");
    assert!(scalability["score"]["from"].is_number(), "{scalability}");
    assert!(
        scalability["score"]["to"].is_null() && scalability["score"]["change"].is_null(),
        "{scalability}"
    );
}
