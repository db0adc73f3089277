//! The exit status of a pgalign process: the command-line contract of
//! DESIGN.md §2, owned by the library so that `session` and `tui` can say how
//! a run ended without asking the binary for numbers.

use std::process::ExitCode;

/// How a pgalign process ends. The numbers are public (scripts and CI read
/// them): extend, never renumber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// Success, no difference, nothing at or above `--fail-on`.
    Ok = 0,
    /// An error (also usage errors: never clap's 2).
    Error = 1,
    /// Differences or hazards found, a post-check failed, a rehearsal did not converge.
    Differences = 2,
    /// Refused: drift, a tampered plan, hazards not allowed, no confirmation.
    Refused = 3,
    /// Aborted by the operator (Ctrl-C, quit).
    Aborted = 130,
}

impl Exit {
    /// The process exit status.
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl From<Exit> for u8 {
    fn from(e: Exit) -> Self {
        e.code()
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e.code())
    }
}

#[cfg(test)]
mod tests {
    use super::Exit;

    #[test]
    fn the_numbers_are_the_ones_design_md_promises() {
        let all = [
            (Exit::Ok, 0),
            (Exit::Error, 1),
            (Exit::Differences, 2),
            (Exit::Refused, 3),
            (Exit::Aborted, 130),
        ];
        for (e, n) in all {
            assert_eq!(u8::from(e), n, "{e:?}");
        }
    }
}
