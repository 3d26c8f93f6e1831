//! Reference programs: complete profiles of typical MSC programs, used as API examples, test
//! vectors with documented expected orderings, and benchmark input.

use super::profile::{Profile, parse_profile};

/// Each reference program's name and its JSON profile in version 1, as first written; the version 2
/// files are their conversions (a test checks that both score alike).
pub const REFERENCE_PROGRAMS_V1: &[(&str, &str)] = &[
    ("disc_early_academic", include_str!("reference_programs/v1/disc_early_academic.json")),
    ("disc_mature_allogeneic", include_str!("reference_programs/v1/disc_mature_allogeneic.json")),
    (
        "disc_early_intravenous_unknowns",
        include_str!("reference_programs/v1/disc_early_intravenous_unknowns.json"),
    ),
    ("disc_preclinical_startup", include_str!("reference_programs/v1/disc_preclinical_startup.json")),
    ("gvhd_approved_pediatric", include_str!("reference_programs/v1/gvhd_approved_pediatric.json")),
    (
        "crohns_fistula_failed_confirmatory",
        include_str!("reference_programs/v1/crohns_fistula_failed_confirmatory.json"),
    ),
    ("als_failed_pivotal", include_str!("reference_programs/v1/als_failed_pivotal.json")),
    (
        "heart_failure_autologous_neutral",
        include_str!("reference_programs/v1/heart_failure_autologous_neutral.json"),
    ),
    ("knee_oa_allogeneic_phase2", include_str!("reference_programs/v1/knee_oa_allogeneic_phase2.json")),
    ("stroke_mapc_intravenous", include_str!("reference_programs/v1/stroke_mapc_intravenous.json")),
    ("ards_umbilical_cord_phase2", include_str!("reference_programs/v1/ards_umbilical_cord_phase2.json")),
];

/// Each reference program's name and JSON profile (version 2).
pub const REFERENCE_PROGRAMS: &[(&str, &str)] = &[
    ("disc_early_academic", include_str!("reference_programs/disc_early_academic.json")),
    ("disc_mature_allogeneic", include_str!("reference_programs/disc_mature_allogeneic.json")),
    (
        "disc_early_intravenous_unknowns",
        include_str!("reference_programs/disc_early_intravenous_unknowns.json"),
    ),
    ("disc_preclinical_startup", include_str!("reference_programs/disc_preclinical_startup.json")),
    ("gvhd_approved_pediatric", include_str!("reference_programs/gvhd_approved_pediatric.json")),
    (
        "crohns_fistula_failed_confirmatory",
        include_str!("reference_programs/crohns_fistula_failed_confirmatory.json"),
    ),
    ("als_failed_pivotal", include_str!("reference_programs/als_failed_pivotal.json")),
    (
        "heart_failure_autologous_neutral",
        include_str!("reference_programs/heart_failure_autologous_neutral.json"),
    ),
    ("knee_oa_allogeneic_phase2", include_str!("reference_programs/knee_oa_allogeneic_phase2.json")),
    ("stroke_mapc_intravenous", include_str!("reference_programs/stroke_mapc_intravenous.json")),
    ("ards_umbilical_cord_phase2", include_str!("reference_programs/ards_umbilical_cord_phase2.json")),
    // Model 2.0 (issue 15): one per indication profile that no back-test case documents.
    ("ra_adipose_iv_phase1b2a", include_str!("reference_programs/ra_adipose_iv_phase1b2a.json")),
    ("gvhd_chronic_bm_iv_phase2", include_str!("reference_programs/gvhd_chronic_bm_iv_phase2.json")),
    ("copd_bm_iv_phase2", include_str!("reference_programs/copd_bm_iv_phase2.json")),
    ("ipf_bm_iv_phase1", include_str!("reference_programs/ipf_bm_iv_phase1.json")),
    ("bpd_ucb_intratracheal_phase2", include_str!("reference_programs/bpd_ucb_intratracheal_phase2.json")),
    (
        "hf_nonischemic_mpc_transendocardial_phase3",
        include_str!("reference_programs/hf_nonischemic_mpc_transendocardial_phase3.json"),
    ),
    ("ms_bm_iv_phase2", include_str!("reference_programs/ms_bm_iv_phase2.json")),
    ("sle_ucmsc_iv_phase2", include_str!("reference_programs/sle_ucmsc_iv_phase2.json")),
];

/// The reference programs, parsed.
pub fn reference_programs() -> Vec<(&'static str, Profile)> {
    REFERENCE_PROGRAMS
        .iter()
        .map(|(name, json)| {
            let profile = parse_profile(json.as_bytes())
                .expect("reference programs are valid: the every_reference_program_parses test parses them");
            (*name, profile)
        })
        .collect()
}
