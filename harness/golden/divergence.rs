//! Comparing one greedy transcript with another (a golden, or the other pipeline): the
//! first divergent step, and whether it was a near tie there (the expected top-2 margin so
//! small that a precision change may flip it: a different but legitimate greedy path).

use serde::{Deserialize, Serialize};

/// Where two transcripts part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Divergence {
    /// The first differing step (index of the generated token, from 0).
    pub step: usize,
    /// The expected token id there.
    pub expected_id: i64,
    /// The token id produced.
    pub got_id: i64,
    /// The expected transcript's top-1 minus top-2 logit at that step.
    pub expected_margin: f32,
    /// The produced transcript's margin at that step.
    pub got_margin: Option<f32>,
    /// The threshold the margin was judged against.
    pub near_tie: f32,
}

/// How a transcript compares with the one it is checked against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Every compared step is the same.
    Identical {
        /// Steps compared (the shorter transcript's length).
        compared: usize,
    },
    /// They part at a step where the expected token barely won: a precision flip.
    NearTie(Divergence),
    /// They part at a step where the expected token was a clear winner.
    HardMismatch(Divergence),
    /// The prompt ids differ, so the outputs cannot be compared: the chat template or the
    /// tokenizer changed.
    PromptMismatch {
        /// The first differing prompt position.
        position: usize,
        /// The expected id there (None: the expected prompt is shorter).
        expected: Option<i64>,
        /// The id produced there (None: the produced prompt is shorter).
        got: Option<i64>,
    },
}

impl Verdict {
    /// The verdict's name in reports.
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Identical { .. } => "identical",
            Verdict::NearTie(_) => "near_tie",
            Verdict::HardMismatch(_) => "hard_mismatch",
            Verdict::PromptMismatch { .. } => "prompt_mismatch",
        }
    }

    /// A correctness failure (a near tie is reported, not failed).
    pub fn is_failure(&self) -> bool {
        matches!(self, Verdict::HardMismatch(_) | Verdict::PromptMismatch { .. })
    }

    /// Ordering by badness, for keeping the worst of several samples.
    pub fn severity(&self) -> u8 {
        match self {
            Verdict::Identical { .. } => 0,
            Verdict::NearTie(_) => 1,
            Verdict::HardMismatch(_) => 2,
            Verdict::PromptMismatch { .. } => 3,
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Identical { compared } => write!(f, "identical ({compared} steps)"),
            Verdict::NearTie(d) | Verdict::HardMismatch(d) => {
                let got_margin = d.got_margin.map_or(String::new(), |m| format!(", margin {m:.4}"));
                // A side without logits (openvino-genai's) has no margin: said so, not "inf".
                let expected_margin = match d.expected_margin.is_finite() {
                    true => format!("margin {:.4}", d.expected_margin),
                    false => "margin unknown: no logits".to_string(),
                };
                write!(
                    f,
                    "{} at step {}: expected id {} ({expected_margin}, near tie below {}) got id {}{got_margin}",
                    self.name().replace('_', " "),
                    d.step,
                    d.expected_id,
                    d.near_tie,
                    d.got_id
                )
            }
            Verdict::PromptMismatch { position, expected, got } => write!(
                f,
                "prompt mismatch at position {position}: expected {} got {} (the chat template or tokenizer changed)",
                expected.map_or("end".into(), |i| i.to_string()),
                got.map_or("end".into(), |i| i.to_string())
            ),
        }
    }
}

/// One side of a comparison: output ids and their margins.
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    /// Generated ids.
    pub ids: &'a [i64],
    /// Top-1 minus top-2 logit per step (same length as `ids`).
    pub margins: &'a [f32],
}

impl<'a> Side<'a> {
    /// The first `n` steps (all of them if there are fewer).
    pub fn prefix(self, n: usize) -> Side<'a> {
        Side { ids: &self.ids[..n.min(self.ids.len())], margins: &self.margins[..n.min(self.margins.len())] }
    }
}

/// Compare `got` with `expected` over their common length (a transcript that stopped
/// earlier at max_new_tokens, or at a full window, is compared as far as it goes).
pub fn compare(expected: Side, got: Side, near_tie: f32) -> Verdict {
    let compared = expected.ids.len().min(got.ids.len());
    let Some(step) = (0..compared).find(|&i| expected.ids[i] != got.ids[i]) else {
        return Verdict::Identical { compared };
    };
    let expected_margin = expected.margins.get(step).copied().unwrap_or(f32::INFINITY);
    let d = Divergence {
        step,
        expected_id: expected.ids[step],
        got_id: got.ids[step],
        expected_margin,
        got_margin: got.margins.get(step).copied(),
        near_tie,
    };
    if expected_margin < near_tie {
        Verdict::NearTie(d)
    } else {
        Verdict::HardMismatch(d)
    }
}

/// An output must reach this share of its reference's length (MLPerf's rule for LLM
/// accuracy runs): silent garbage often ends early, and a transcript that stops early at
/// eos is otherwise "identical" over the few steps it has.
pub const MIN_LENGTH_RATIO: f64 = 0.9;

/// An output that ended at eos well before its reference would have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShortOutput {
    /// Tokens the output has, its eos included.
    pub got: usize,
    /// Tokens the reference has up to the same eos id (its whole length when it never
    /// emits it: then at least that many).
    pub expected: usize,
}

impl std::fmt::Display for ShortOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ends at eos after {} tokens, the reference runs {} (under {:.0}% of its length)",
            self.got,
            self.expected,
            100.0 * MIN_LENGTH_RATIO
        )
    }
}

/// Whether `got`, which stopped at eos when `stopped_at_eos`, is shorter than
/// [`MIN_LENGTH_RATIO`] of `expected`. The eos id is `got`'s own last token, so no model
/// configuration is needed: the reference's length is counted up to its first occurrence of
/// that id (a reference generated past eos has it there), or is its whole length.
pub fn short_output(expected: &[i64], got: &[i64], stopped_at_eos: bool) -> Option<ShortOutput> {
    let eos = got.last().filter(|_| stopped_at_eos)?;
    let expected = expected.iter().position(|id| id == eos).map_or(expected.len(), |i| i + 1);
    ((got.len() as f64) < MIN_LENGTH_RATIO * expected as f64).then_some(ShortOutput { got: got.len(), expected })
}

/// Compare prompt ids; `None` when they are equal.
pub fn compare_prompts(expected: &[i64], got: &[i64]) -> Option<Verdict> {
    let position = (0..expected.len().max(got.len())).find(|&i| expected.get(i) != got.get(i))?;
    Some(Verdict::PromptMismatch {
        position,
        expected: expected.get(position).copied(),
        got: got.get(position).copied(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side<'a>(ids: &'a [i64], margins: &'a [f32]) -> Side<'a> {
        Side { ids, margins }
    }

    #[test]
    fn identical_over_the_common_prefix() {
        let v = compare(side(&[1, 2, 3], &[1.0; 3]), side(&[1, 2], &[1.0; 2]), 0.1);
        assert_eq!(v, Verdict::Identical { compared: 2 });
        assert!(!v.is_failure());
    }

    #[test]
    fn small_expected_margin_is_a_near_tie_at_the_first_divergent_step() {
        let v = compare(side(&[1, 2, 3, 4], &[1.0, 0.05, 0.01, 1.0]), side(&[1, 9, 3, 4], &[1.0, 0.02, 1.0, 1.0]), 0.1);
        let Verdict::NearTie(d) = &v else { panic!("{v:?}") };
        assert_eq!((d.step, d.expected_id, d.got_id, d.expected_margin, d.got_margin), (1, 2, 9, 0.05, Some(0.02)));
        assert!(!v.is_failure());
    }

    #[test]
    fn large_expected_margin_is_a_hard_mismatch() {
        let v = compare(side(&[1, 2], &[1.0, 2.5]), side(&[1, 7], &[1.0, 0.01]), 0.1);
        assert!(matches!(&v, Verdict::HardMismatch(d) if d.step == 1), "{v:?}");
        assert!(v.is_failure());
        assert!(v.to_string().contains("hard mismatch at step 1"), "{v}");
    }

    #[test]
    fn margin_equal_to_threshold_is_hard() {
        assert!(matches!(compare(side(&[5], &[0.1]), side(&[6], &[0.1]), 0.1), Verdict::HardMismatch(_)));
    }

    #[test]
    fn an_output_ending_at_eos_under_ninety_percent_of_its_reference_is_short() {
        // The reference went past its eos (2) at step 9: its natural length is 10.
        let reference = [5, 5, 5, 5, 5, 5, 5, 5, 5, 2, 7, 7];
        assert_eq!(
            short_output(&reference, &[5, 5, 5, 5, 5, 5, 5, 2], true),
            Some(ShortOutput { got: 8, expected: 10 })
        );
        assert_eq!(
            short_output(&reference, &[5, 5, 5, 5, 5, 5, 5, 5, 2], true),
            None,
            "90% of the reference is enough"
        );
        // A reference that never emits the eos id counts whole.
        assert_eq!(short_output(&[4; 48], &[4, 4, 2], true), Some(ShortOutput { got: 3, expected: 48 }));
        // Not stopped at eos (max tokens, a full window): a limit, not a short answer.
        assert_eq!(short_output(&[4; 48], &[4, 4, 2], false), None);
        assert!(ShortOutput { got: 3, expected: 48 }.to_string().contains("after 3 tokens"));
    }

    #[test]
    fn prompt_mismatch_names_the_position() {
        assert_eq!(compare_prompts(&[1, 2, 3], &[1, 2, 3]), None);
        assert_eq!(
            compare_prompts(&[1, 2, 3], &[1, 4, 3]),
            Some(Verdict::PromptMismatch { position: 1, expected: Some(2), got: Some(4) })
        );
        assert_eq!(
            compare_prompts(&[1, 2], &[1, 2, 3]),
            Some(Verdict::PromptMismatch { position: 2, expected: None, got: Some(3) })
        );
    }
}
