//! What the back-test needs of the model (see `crate::validation`): a program's level, index and
//! limiting barrier without the explanations, and copies of the model with perturbed weights to
//! show which conclusions hold whatever the weights.

use super::engine::Scores;
use super::factors::Barrier;
use super::facts::Facts;
use super::model::Model;
use super::profile::{PivotalResult, Profile};
use super::readiness;

/// A profile normalised once, to be judged under many models.
#[derive(Debug, Clone, Copy)]
pub struct Prepared(Facts);

impl Prepared {
    /// Normalises a profile (converting version 1 first).
    pub fn new(profile: &Profile) -> Self {
        Self(Facts::from_profile(profile))
    }

    /// Whether the profile states a failed pivotal trial.
    pub fn states_failed_pivotal(&self) -> bool {
        self.0.pivotal_result == Some(PivotalResult::FailedPrimaryEndpoint)
    }

    /// Whether the profile shows the program in clinical trials: a trial authorised, a trial
    /// completed, or a later regulatory milestone.
    pub fn in_clinical_trials(&self) -> bool {
        let facts = &self.0;
        facts.trial_authorised().is_some()
            || facts.marketing_application.is_some()
            || facts.approval.is_some()
    }
}

/// The model's verdict on a program: what the back-test compares with what happened.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    /// MSC-TRL, 0-9.
    pub msc_trl: u8,
    /// Overall readiness index, 0-100, in tenths of a point.
    pub index_tenths: u16,
    /// The limiting barrier.
    pub limiting: Barrier,
}

/// A small, seeded generator (splitmix64): the same draws on every machine, no dependency.
struct Draws(u64);

impl Draws {
    fn next_unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Factor weights are integers; they are scaled by this before perturbing so that a ±25 % draw
/// of a weight of 5 is not rounded away. Only their ratios within a barrier matter.
const FACTOR_WEIGHT_RESOLUTION: f64 = 100.0;

impl Model {
    /// The verdict on a prepared profile.
    pub fn verdict(&self, prepared: &Prepared) -> Verdict {
        let scores = Scores::compute(self, &prepared.0);
        let readiness = readiness::assess(self, &prepared.0, &scores);
        Verdict {
            msc_trl: readiness.msc_trl,
            index_tenths: scores.overall.index,
            limiting: scores.overall.limiting,
        }
    }

    /// A copy of this model in which every factor weight and every indication profile's barrier
    /// weights are multiplied by a factor drawn uniformly from `1 ± spread`, seeded by `seed`.
    pub fn with_perturbed_weights(&self, seed: u64, spread: f64) -> Model {
        let mut draws = Draws(seed);
        let mut draw = || 1.0 + spread * (2.0 * draws.next_unit() - 1.0);
        let mut model = self.clone();
        for factor in model.factors_mut() {
            factor.weight =
                (f64::from(factor.weight) * FACTOR_WEIGHT_RESOLUTION * draw()).round().max(1.0) as u32;
        }
        for profile in model.profiles_mut() {
            for weight in profile.weights.iter_mut().filter(|weight| **weight > 0) {
                *weight = (f64::from(*weight) * draw()).round().max(1.0) as u32;
            }
        }
        model
    }
}
