//! bakeoff's exit codes, in one place (like cargo-nextest's). Every command maps its
//! outcome to one of these; the README lists them.

/// Everything ran and passed.
pub const SUCCESS: i32 = 0;
/// bakeoff itself failed (a bug, an I/O error it cannot attribute to the input).
pub const HARNESS_ERROR: i32 = 1;
/// Bad input: a scenario, profile, model folder, golden or flag that is wrong. The
/// message names the file, the field or key, and what is allowed.
pub const INPUT_ERROR: i32 = 2;
/// A metric regressed beyond noise (significant and above the threshold).
pub const REGRESSION: i32 = 3;
/// Outputs are wrong: a golden hard mismatch or pipelines that disagree.
pub const CORRECTNESS_FAILURE: i32 = 4;
/// The run did not complete: failed, crashed or timed-out cells.
pub const INCOMPLETE: i32 = 5;

/// The code to exit with when several outcomes apply: the most severe first (harness,
/// input, correctness, regression, incomplete), success when there are none.
pub fn worst(codes: impl IntoIterator<Item = i32>) -> i32 {
    const ORDER: [i32; 5] = [HARNESS_ERROR, INPUT_ERROR, CORRECTNESS_FAILURE, REGRESSION, INCOMPLETE];
    let codes: Vec<i32> = codes.into_iter().collect();
    ORDER.into_iter().find(|c| codes.contains(c)).unwrap_or(SUCCESS)
}

/// An error that knows its exit code. Commands return it; `main` prints and exits.
#[derive(Debug)]
pub struct Failure {
    /// The exit code.
    pub code: i32,
    /// The message for stderr.
    pub message: String,
}

impl Failure {
    /// Bad input (exit 2).
    pub fn input(message: impl std::fmt::Display) -> Failure {
        Failure { code: INPUT_ERROR, message: message.to_string() }
    }

    /// Harness error (exit 1).
    pub fn harness(message: impl std::fmt::Display) -> Failure {
        Failure { code: HARNESS_ERROR, message: message.to_string() }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_severe_code_wins() {
        assert_eq!(worst([]), SUCCESS);
        assert_eq!(worst([INCOMPLETE, REGRESSION]), REGRESSION);
        assert_eq!(worst([INCOMPLETE, CORRECTNESS_FAILURE, REGRESSION]), CORRECTNESS_FAILURE);
        assert_eq!(worst([SUCCESS, INCOMPLETE]), INCOMPLETE);
    }
}
