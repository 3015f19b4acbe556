//! The static window rules of static128, as one pure function so that
//! they can be tested and fuzzed without a model:
//!
//! - the window has exactly W positions; real tokens are the context's newest
//!   min(len, W) tokens, the rest is padding with mask 0;
//! - left padding puts the last real token at W-1 (so the logits row to read is fixed);
//!   right padding puts it at real-1;
//! - position ids of real tokens count 0..real-1 whatever the padding; padding gets 0;
//! - a context longer than W keeps its newest W tokens, and the fill says it truncated.

use serde::{Deserialize, Serialize};

/// Where the padding goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Padding {
    /// Padding first, real tokens flush right (the last real token at W-1).
    #[default]
    Left,
    /// Real tokens first, padding after.
    Right,
}

/// What static128 does when prompt + generated tokens no longer fit the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Overflow {
    /// Stop generating (the original loop's behaviour); a prompt longer than W is an error.
    #[default]
    Stop,
    /// Drop the oldest tokens, keeping the newest W (the transcript records it).
    TruncateLeft,
}

/// What one fill did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowFill {
    /// Real (unmasked) positions.
    pub real: usize,
    /// Whether older context was dropped to fit.
    pub truncated: bool,
    /// The window row holding the last real token: its logits row gives the next token.
    pub last_row: usize,
}

/// Write the window for `context` into `ids`, `mask` and `pos` (all of length W).
///
/// # Panics
/// If the three buffers differ in length, the window is empty, or the context is.
pub fn fill_window(
    context: &[i64],
    pad_id: i64,
    padding: Padding,
    ids: &mut [i64],
    mask: &mut [i64],
    pos: &mut [i64],
) -> WindowFill {
    let w = ids.len();
    assert!(w > 0 && mask.len() == w && pos.len() == w, "window buffers must share one non-zero length");
    assert!(!context.is_empty(), "the context must hold at least one token");
    let real = context.len().min(w);
    let kept = &context[context.len() - real..];
    let start = match padding {
        Padding::Left => w - real,
        Padding::Right => 0,
    };
    ids.fill(pad_id);
    mask.fill(0);
    pos.fill(0);
    ids[start..start + real].copy_from_slice(kept);
    mask[start..start + real].fill(1);
    for (i, p) in pos[start..start + real].iter_mut().enumerate() {
        *p = i as i64;
    }
    WindowFill { real, truncated: context.len() > w, last_row: start + real - 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(context: &[i64], w: usize, padding: Padding) -> (Vec<i64>, Vec<i64>, Vec<i64>, WindowFill) {
        let (mut ids, mut mask, mut pos) = (vec![0; w], vec![0; w], vec![0; w]);
        let f = fill_window(context, -1, padding, &mut ids, &mut mask, &mut pos);
        (ids, mask, pos, f)
    }

    #[test]
    fn left_padding_puts_the_last_token_at_the_end() {
        let (ids, mask, pos, f) = fill(&[7, 8, 9], 5, Padding::Left);
        assert_eq!(ids, [-1, -1, 7, 8, 9]);
        assert_eq!(mask, [0, 0, 1, 1, 1]);
        assert_eq!(pos, [0, 0, 0, 1, 2]);
        assert_eq!(f, WindowFill { real: 3, truncated: false, last_row: 4 });
    }

    #[test]
    fn right_padding_counts_positions_from_zero() {
        let (ids, mask, pos, f) = fill(&[7, 8, 9], 5, Padding::Right);
        assert_eq!(ids, [7, 8, 9, -1, -1]);
        assert_eq!(mask, [1, 1, 1, 0, 0]);
        assert_eq!(pos, [0, 1, 2, 0, 0]);
        assert_eq!(f.last_row, 2);
    }

    #[test]
    fn overlong_context_keeps_the_newest_and_says_so() {
        let (ids, _, pos, f) = fill(&[1, 2, 3, 4, 5, 6], 4, Padding::Left);
        assert_eq!(ids, [3, 4, 5, 6]);
        assert_eq!(pos, [0, 1, 2, 3]);
        assert!(f.truncated);
    }
}
