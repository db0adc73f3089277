//! The alignment report, rendered from the journal alone (a pure function).
