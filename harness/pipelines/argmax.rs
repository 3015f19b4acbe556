//! Greedy choice over one row of logits, with the top-2 margin goldens need.

/// The argmax of a logits row and how far ahead of the runner-up it is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Top2 {
    /// Index of the largest logit; the first one on an exact tie (as `std::max_element`
    /// in openvino-genai's greedy sampler).
    pub id: usize,
    /// Largest minus second-largest logit (0 on an exact tie).
    pub margin: f32,
}

/// One pass over the row: argmax and margin. NaN logits never win.
pub fn top2(logits: &[f32]) -> Top2 {
    let mut best = f32::NEG_INFINITY;
    let mut second = f32::NEG_INFINITY;
    let mut id = 0usize;
    for (i, &x) in logits.iter().enumerate() {
        if x > best {
            second = best;
            best = x;
            id = i;
        } else if x > second {
            second = x;
        }
    }
    let margin = if second.is_finite() { best - second } else { f32::INFINITY };
    Top2 { id, margin }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_largest_and_reports_the_gap() {
        let t = top2(&[0.1, 2.5, -1.0, 2.0]);
        assert_eq!(t.id, 1);
        assert!((t.margin - 0.5).abs() < 1e-6);
    }

    #[test]
    fn exact_tie_takes_the_first_and_margin_zero() {
        let t = top2(&[1.0, 3.0, 3.0, 0.0]);
        assert_eq!(t, Top2 { id: 1, margin: 0.0 });
    }

    #[test]
    fn nan_never_wins() {
        assert_eq!(top2(&[f32::NAN, 1.0, 0.5]).id, 1);
    }
}
