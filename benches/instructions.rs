//! A plain program (no harness) for counting instructions with callgrind, which repeats its count
//! for the same binary and inputs whatever else the machine runs; timings here varied by up to
//! 20 % between runs of the same binary. `bench/instructions.sh` runs it.
//!
//! `instructions STEP N` does STEP N times on the mature disc program's result (the body
//! `bench/load.sh` posts): `serde_json` writes the typed result with serde_json, `json_writer`
//! with the service's writer (`POST /v1/score`'s body), `compact` compacts it against the
//! reference programs' dictionary (every write), `hydrate` writes it from its compact form (a
//! `GET`, and the 201 of a write before issue 16's ninth round), `key_ordered` writes it from the
//! typed result in key order (the same bytes: a write's 201 now), `body_checked` reads the
//! `POST /v1/score` body of that program as a checked JSON value, the typed request from it and
//! the walk for arrays read as objects (a write's body, and `POST /v1/score`'s before issue 16's
//! eleventh round), `body_direct` reads it straight into its type (`POST /v1/score`'s now),
//! `assess` scores the program into its explained result (`POST /v1/score`'s scoring), `none` only
//! builds what the others share.

use std::hint::black_box;

use msc_readiness::api::assessments::ScoreRequest;
use msc_readiness::api::{direct_read, duplicate_keys, json_body};
use msc_readiness::json_writer;
use msc_readiness::persistence::model_versions;
use msc_readiness::scoring::{Model, reference_programs};

fn main() {
    let mut arguments = std::env::args().skip(1);
    let (Some(step), Some(times)) =
        (arguments.next(), arguments.next().and_then(|n| n.parse::<usize>().ok()))
    else {
        // `cargo bench` runs every bench with flags of its own: this one has nothing to time then.
        eprintln!(
            "usage: instructions assess|serde_json|json_writer|compact|hydrate|key_ordered|body_checked|body_direct|none N (see bench/instructions.sh)"
        );
        return;
    };
    let model = Model::current();
    let dictionary = model_versions::learn(model, &serde_json::to_value(model.document()).unwrap());
    let (_, profile) =
        reference_programs().into_iter().find(|(name, _)| *name == "disc_mature_allogeneic").unwrap();
    let result = model.assess(&profile);
    let compact = dictionary.compact_json(&result).unwrap().unwrap();
    let (_, profile_json) = msc_readiness::scoring::REFERENCE_PROGRAMS
        .iter()
        .find(|(name, _)| *name == "disc_mature_allogeneic")
        .unwrap();
    let body = format!(r#"{{"profile": {profile_json}}}"#).into_bytes();
    for _ in 0..times {
        match step.as_str() {
            "assess" => drop(black_box(model.assess(black_box(&profile)))),
            "serde_json" => drop(black_box(serde_json::to_vec(black_box(&result)).unwrap())),
            "json_writer" => drop(black_box(json_writer::to_vec(black_box(&result)).unwrap())),
            "compact" => drop(black_box(dictionary.compact_json(black_box(&result)).unwrap())),
            "hydrate" => {
                let compact: serde_json::Value = serde_json::from_slice(black_box(&compact)).unwrap();
                drop(black_box(json_writer::to_vec(&dictionary.hydrated(&compact)).unwrap()));
            }
            "key_ordered" => {
                drop(black_box(json_writer::to_vec(&json_writer::KeyOrdered(black_box(&result))).unwrap()))
            }
            "body_checked" => {
                let read = duplicate_keys::read(black_box(&body)).unwrap();
                assert!(read.repeated_key.is_none());
                let parsed: ScoreRequest = json_body::validate(&read.value, &body).unwrap();
                assert!(
                    json_body::array_read_as_object("profile", &read.value["profile"], &parsed.profile)
                        .is_none()
                );
                drop(black_box(parsed));
            }
            "body_direct" => drop(black_box(direct_read::read::<ScoreRequest>(black_box(&body)).unwrap())),
            "none" => {}
            other => {
                eprintln!("unknown step {other}");
                std::process::exit(2);
            }
        }
    }
}
