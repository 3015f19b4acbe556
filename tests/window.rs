//! proptest over the static window rules on random contexts, window
//! lengths and padding sides, with pad ids that also occur as real tokens (so the mask,
//! not the id, must say what is real).

use bakeoff::pipelines::window::{fill_window, Padding, WindowFill};
use proptest::prelude::*;

fn padding() -> impl Strategy<Value = Padding> {
    prop_oneof![Just(Padding::Left), Just(Padding::Right)]
}

fn fill(context: &[i64], w: usize, pad: i64, padding: Padding) -> (Vec<i64>, Vec<i64>, Vec<i64>, WindowFill) {
    // Dirty buffers: a fill must not depend on what the previous step left behind.
    let (mut ids, mut mask, mut pos) = (vec![99; w], vec![7; w], vec![-3; w]);
    let f = fill_window(context, pad, padding, &mut ids, &mut mask, &mut pos);
    (ids, mask, pos, f)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn window_invariants(
        context in proptest::collection::vec(0i64..50, 1..300),
        w in 1usize..160,
        pad in 0i64..50,
        padding in padding(),
    ) {
        let (ids, mask, pos, f) = fill(&context, w, pad, padding);
        let real = context.len().min(w);
        // Exactly W positions; the mask counts the real tokens and is 0/1.
        prop_assert_eq!((ids.len(), mask.len(), pos.len()), (w, w, w));
        prop_assert!(mask.iter().all(|&m| m == 0 || m == 1));
        prop_assert_eq!(mask.iter().sum::<i64>() as usize, real);
        prop_assert_eq!(f.real, real);
        // The real positions are one contiguous block, at the end (left) or the start (right).
        let first = mask.iter().position(|&m| m == 1).unwrap();
        prop_assert!(mask[first..first + real].iter().all(|&m| m == 1));
        match padding {
            Padding::Left => prop_assert_eq!(first, w - real),
            Padding::Right => prop_assert_eq!(first, 0),
        }
        // Real tokens are the newest `real` tokens of the context, in order; padding is pad.
        prop_assert_eq!(&ids[first..first + real], &context[context.len() - real..]);
        prop_assert!(ids.iter().zip(&mask).all(|(&id, &m)| m == 1 || id == pad));
        // The row to read holds the last real token: the newest context token.
        prop_assert_eq!(f.last_row, first + real - 1);
        prop_assert_eq!(mask[f.last_row], 1);
        prop_assert_eq!(ids[f.last_row], *context.last().unwrap());
        // Real tokens' positions count 0..real-1 whatever the padding; padding sits at 0.
        let real_pos: Vec<i64> = pos.iter().zip(&mask).filter(|(_, &m)| m == 1).map(|(&p, _)| p).collect();
        prop_assert_eq!(real_pos, (0..real as i64).collect::<Vec<_>>());
        prop_assert!(pos.iter().zip(&mask).all(|(&p, &m)| m == 1 || p == 0));
        // Truncation keeps the newest W tokens and is flagged exactly when the context is longer.
        prop_assert_eq!(f.truncated, context.len() > w);
    }

    #[test]
    fn both_paddings_hold_the_same_tokens_at_the_same_positions(
        context in proptest::collection::vec(0i64..1000, 1..200),
        w in 1usize..160,
    ) {
        let (li, lm, lp, lf) = fill(&context, w, -1, Padding::Left);
        let (ri, rm, rp, rf) = fill(&context, w, -1, Padding::Right);
        let real = |ids: &[i64], mask: &[i64], pos: &[i64]| -> Vec<(i64, i64)> {
            ids.iter().zip(mask).zip(pos).filter(|((_, &m), _)| m == 1).map(|((&i, _), &p)| (i, p)).collect()
        };
        prop_assert_eq!(real(&li, &lm, &lp), real(&ri, &rm, &rp));
        prop_assert_eq!((lf.real, lf.truncated), (rf.real, rf.truncated));
    }
}
