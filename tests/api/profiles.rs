//! POST /v1/profiles/trial-from-registry: a trial drafted from a ClinicalTrials.gov record.

use serde_json::{Value, json};

use crate::helpers::{ORGANISATION_A, assert_problem, spawn_app};

const PATH: &str = "/v1/profiles/trial-from-registry";

/// A randomised, placebo-controlled, double-blind Phase 3 trial, completed, with results posted,
/// written with the ClinicalTrials.gov API v2 field names, plus modules the import ignores.
fn completed_phase3_record() -> Value {
    json!({
        "protocolSection": {
            "identificationModule": {
                "nctId": "NCT01541579",
                "briefTitle": "Adipose Derived Mesenchymal Stem Cells for Induction of Remission in Perianal Fistulizing Crohn's Disease",
                "acronym": "ADMIRE-CD"
            },
            "statusModule": {
                "overallStatus": "COMPLETED",
                "lastUpdatePostDateStruct": {"date": "2019-02-21", "type": "ACTUAL"}
            },
            "sponsorCollaboratorsModule": {"leadSponsor": {"name": "Tigenix S.A.U.", "class": "INDUSTRY"}},
            "designModule": {
                "studyType": "INTERVENTIONAL",
                "phases": ["PHASE3"],
                "designInfo": {
                    "allocation": "RANDOMIZED",
                    "maskingInfo": {"masking": "DOUBLE", "whoMasked": ["PARTICIPANT", "INVESTIGATOR"]}
                },
                "enrollmentInfo": {"count": 212, "type": "ACTUAL"}
            },
            "armsInterventionsModule": {
                "armGroups": [
                    {"label": "Cx601", "type": "EXPERIMENTAL"},
                    {"label": "Placebo", "type": "PLACEBO_COMPARATOR"}
                ]
            },
            "outcomesModule": {
                "primaryOutcomes": [{"measure": "Combined remission", "timeFrame": "Week 24"}]
            }
        },
        "derivedSection": {"conditionBrowseModule": {"meshes": [{"id": "D003424", "term": "Crohn Disease"}]}},
        "hasResults": true
    })
}

fn fields(problem: &Value) -> Vec<&str> {
    problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|error| error["field"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_registry_record_answers_the_trial_it_implies_with_the_fields_read_and_not_mapped() {
    let app = spawn_app().await;
    // The scope of POST /v1/score is enough.
    let reader = app.client_with(&app.new_key(ORGANISATION_A, "read").await);

    let response = reader.post(app.url(PATH)).json(&completed_phase3_record()).send().await.unwrap();

    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    let trial = &answer["trial"];
    assert_eq!(trial["registry_id"], "NCT01541579");
    assert_eq!(trial["title"], "ADMIRE-CD");
    assert_eq!(trial["phase"], "phase3");
    assert_eq!(trial["status"], "completed");
    assert_eq!(trial["randomised"], true);
    assert_eq!(trial["blinding"], "double_blind");
    assert_eq!(trial["control"], "placebo_or_sham");
    assert_eq!(trial["enrolled_participants"], 212);
    assert_eq!(trial["planned_participants"], Value::Null);
    assert_eq!(trial["primary_endpoint"]["description"], "Combined remission");
    assert_eq!(trial["primary_endpoint"]["time_frame_months"], 5.52);
    assert_eq!(trial["result"], Value::Null, "never derived from the record");
    assert_eq!(
        trial["sources"],
        json!([{
            "citation": "ClinicalTrials.gov record NCT01541579",
            "identifier": "NCT01541579",
            "kind": "registry",
            "as_of": "2019-02-21"
        }])
    );
    let read: Vec<&str> =
        answer["read"].as_array().unwrap().iter().map(|field| field.as_str().unwrap()).collect();
    assert!(read.contains(&"protocolSection.designModule.designInfo.maskingInfo.whoMasked"), "{read:?}");
    assert!(read.contains(&"hasResults"), "{read:?}");
    assert!(!read.iter().any(|field| field.starts_with("derivedSection")), "{read:?}");
    assert_eq!(answer["not_mapped"].as_array().unwrap().len(), 1, "{answer}");
    assert_eq!(answer["not_mapped"][0]["field"], "hasResults");
    assert!(answer["not_mapped"][0]["reason"].as_str().unwrap().contains("result is left unset"));

    // The trial goes into a version 2 profile as it is.
    let profile = json!({"profile_version": "2", "clinical": {"trials": [trial]}});
    let scored = app.post_json("/v1/score", &json!({"profile": profile})).await;
    assert_eq!(scored.status(), 200);
}

#[tokio::test]
async fn json_that_is_not_a_study_record_is_a_422_naming_what_is_missing_or_wrong() {
    let app = spawn_app().await;

    let problem = assert_problem(app.post_json(PATH, &json!({"name": "Disc program"})).await, 422).await;
    assert_eq!(problem["type"], "/problems/validation-error");
    assert_eq!(fields(&problem), ["protocolSection"]);
    assert!(problem["errors"][0]["message"].as_str().unwrap().starts_with("this field is required"));

    let mut record = completed_phase3_record();
    record["protocolSection"]["identificationModule"].as_object_mut().unwrap().remove("nctId");
    let problem = assert_problem(app.post_json(PATH, &record).await, 422).await;
    assert_eq!(fields(&problem), ["protocolSection.identificationModule.nctId"]);
    assert_eq!(
        problem["detail"],
        "The request has 1 invalid field: protocolSection.identificationModule.nctId."
    );

    // Wrong types in the fields read: each named, in the order written (serde_json writes keys
    // sorted, so `hasResults` comes before `protocolSection` in the body sent).
    let mut record = completed_phase3_record();
    record["hasResults"] = json!("yes");
    record["protocolSection"]["designModule"]["phases"] = json!("PHASE2");
    let problem = assert_problem(app.post_json(PATH, &record).await, 422).await;
    assert_eq!(fields(&problem), ["hasResults", "protocolSection.designModule.phases"]);
    assert_eq!(problem["errors"][1]["message"], "expected a list, got the text \"PHASE2\"");

    let malformed = app
        .client
        .post(app.url(PATH))
        .header("content-type", "application/json")
        .body("{\"protocolSection\": ")
        .send()
        .await
        .unwrap();
    assert_problem(malformed, 400).await;
}
