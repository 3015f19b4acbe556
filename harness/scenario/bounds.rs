//! Upper bounds of every size-like input (scenario fields and the matching command-line
//! flags), each with the reason it is where it is. A value past its bound is an input error
//! naming the field, never an allocation failure or an overflow deep inside a cell: a
//! careless `max_new_tokens = 100000000000` once reached the pipeline, which sized a buffer
//! by it and aborted the cell.

/// New tokens per generation: the longest context of the LLMs this harness targets; no
/// generation can go past its model's context.
pub const MAX_NEW_TOKENS: usize = crate::model::MAX_CONTEXT_TOKENS;
/// The static window: the same context bound; a static IR wider than the model's context
/// cannot exist.
pub const MAX_WINDOW: usize = crate::model::MAX_CONTEXT_TOKENS;
/// Measured generations per prompt: 100,000 is days of generation even for a tiny model;
/// a larger value is a typo.
pub const MAX_REPETITIONS: usize = 100_000;
/// Warm-up generations per prompt: warm-up only has to reach a steady state, which takes a
/// handful.
pub const MAX_WARMUP: usize = 1_000;
/// Soak rounds: 10,000 rounds of the smallest matrix is weeks.
pub const MAX_SOAK_ROUNDS: usize = 10_000;
/// Any timeout, seconds: a week. Larger values only disable the timeout (and past about
/// 1.8e19 s they overflow a `Duration`).
pub const MAX_TIMEOUT_S: f64 = 7.0 * 86_400.0;
/// A cell's memory limit, MiB: 16 TiB, past any machine this runs on (and past it the byte
/// count overflows).
pub const MAX_MEMORY_MB: u64 = 16 << 20;
/// Models in one scenario: 64 already makes a matrix of thousands of cells; more is a
/// generated file gone wrong.
pub const MAX_MODELS: usize = 64;
/// Prompts in one scenario.
pub const MAX_PROMPTS: usize = 100_000;
/// One prompt's text, bytes: 1 MiB is about 250,000 tokens, past any context above.
pub const MAX_PROMPT_BYTES: usize = 1 << 20;

/// Turns of one conversation at most: each turn re-renders the whole history, so a
/// conversation's work grows with the square of its turns; real chat benchmarks run a
/// handful.
pub const MAX_TURNS: usize = 64;

/// A size-like value past its bound: the message names the field, the value, what is
/// allowed and why.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct OutOfBounds(pub String);

impl From<OutOfBounds> for String {
    fn from(e: OutOfBounds) -> String {
        e.0
    }
}

/// `Err` naming `field` when `value` is past `max` (or below `min`).
pub fn check<T: PartialOrd + std::fmt::Display>(
    field: &str,
    value: T,
    min: T,
    max: T,
    why: &str,
) -> Result<(), OutOfBounds> {
    if value < min || value > max {
        return Err(OutOfBounds(format!("{field}: {value} is out of range; allowed: {min} to {max} ({why})")));
    }
    Ok(())
}

/// Seconds: a finite positive number up to [`MAX_TIMEOUT_S`].
pub fn check_seconds(field: &str, value: f64) -> Result<(), OutOfBounds> {
    if !value.is_finite() || value <= 0.0 || value > MAX_TIMEOUT_S {
        return Err(OutOfBounds(format!(
            "{field}: must be a positive number of seconds up to {MAX_TIMEOUT_S} (a week), got {value}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn out_of_range_values_name_the_field_and_the_range() {
        let e = super::check("generation.max_new_tokens", 100_000_000_000usize, 1, super::MAX_NEW_TOKENS, "context")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "generation.max_new_tokens: 100000000000 is out of range; allowed: 1 to 131072 (context)");
        assert!(super::check("x", 5usize, 1, 10, "").is_ok());
        assert!(super::check_seconds("timeouts.compile_s", 1e30)
            .unwrap_err()
            .to_string()
            .contains("timeouts.compile_s"));
        assert!(super::check_seconds("timeouts.compile_s", f64::INFINITY).is_err());
        assert!(super::check_seconds("timeouts.compile_s", 30.0).is_ok());
    }
}
