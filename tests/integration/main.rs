//! The one integration-test binary (one link on 2 cores). Every test gets its
//! own database on one throwaway cluster per run, or on `PGALIGN_TEST_URL`.
// Test code keeps its own few `unsafe` calls (atexit, kill, geteuid).
#![allow(unsafe_code)]

mod support;

mod apply;
mod apply_locks;
mod backup;
mod cli;
mod config;
mod conn;
mod convergence;
mod corpus;
mod e2e;
mod external;
mod external_cli;
mod ledger;
mod lint;
mod postcheck;
mod rehearse;
mod rehearse_measure;
mod rehearse_postcheck;
mod report;
mod restore;
mod security_apply;
mod security_cluster;
mod security_desired;
mod security_io;
mod sizing;
mod tui;
mod unmanaged;
