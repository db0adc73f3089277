//! How a wizard session ended, and the exit status that follows from it.

use crate::exit::Exit;

/// How a session ended. Journaled (`session-ended`) and shown as the words of
/// [`Outcome::as_str`], which are the ones earlier versions wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Aligned,
    AlreadyInSync,
    ApplyFailed,
    DifferencesRemain,
    /// An external plan applied with no desired schema to verify against.
    AppliedUnverified,
    /// Applied, but a `[[post_check]]` of pgalign.toml failed.
    PostChecksFailed,
    Aborted,
}

impl Outcome {
    /// The journal's and the report's words.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Aligned => "aligned",
            Outcome::AlreadyInSync => "already in sync",
            Outcome::ApplyFailed => "apply failed",
            Outcome::DifferencesRemain => "differences remain",
            Outcome::AppliedUnverified => "applied, not verified (no desired schema)",
            Outcome::PostChecksFailed => "applied, post-checks failed",
            Outcome::Aborted => "aborted",
        }
    }

    /// The wizard's exit status. DESIGN.md §2 gives the wizard 0 (finished),
    /// 1 (error) and 130 (aborted), and no 2: differences left after the
    /// apply are a failed alignment, so they exit 1, as before.
    pub fn exit(self) -> Exit {
        match self {
            Outcome::Aligned | Outcome::AlreadyInSync | Outcome::AppliedUnverified => Exit::Ok,
            Outcome::Aborted => Exit::Aborted,
            Outcome::ApplyFailed => Exit::Error,
            Outcome::DifferencesRemain => Exit::Error,
            // The schema is applied, a check the team trusts is not green.
            Outcome::PostChecksFailed => Exit::Error,
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Outcome;
    use crate::exit::Exit;

    #[test]
    fn every_outcome_keeps_its_journal_words_and_differences_remaining_exit_1() {
        let all = [
            (Outcome::Aligned, "aligned", Exit::Ok),
            (Outcome::AlreadyInSync, "already in sync", Exit::Ok),
            (Outcome::ApplyFailed, "apply failed", Exit::Error),
            (
                Outcome::DifferencesRemain,
                "differences remain",
                Exit::Error,
            ),
            (
                Outcome::AppliedUnverified,
                "applied, not verified (no desired schema)",
                Exit::Ok,
            ),
            (
                Outcome::PostChecksFailed,
                "applied, post-checks failed",
                Exit::Error,
            ),
            (Outcome::Aborted, "aborted", Exit::Aborted),
        ];
        for (o, words, exit) in all {
            assert_eq!((o.to_string().as_str(), o.exit()), (words, exit), "{o:?}");
        }
    }
}
