//! The wizard without a terminal: state-machine transitions and refusals
//! (`tui/state.rs`), and `TestBackend` snapshots of every screen (`tui/screens.rs`).

mod acks;
mod external;
pub(crate) mod fixtures;
mod object_diff;
mod resume;
mod screens;
mod state;
