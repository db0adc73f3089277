//! The wizard without a terminal: state-machine transitions and refusals
//! (`tui/state.rs`), and `TestBackend` snapshots of every screen (`tui/screens.rs`).

mod external;
pub mod fixtures;
mod resume;
mod screens;
mod state;
