//! pgalign: guided, reviewable PostgreSQL schema alignment.
//!
//! Data flows one way (see ARCHITECTURE.md): commands and the wizard drive the
//! session; the session drives backup, plan, apply, verify and report; those read
//! the catalog; the catalog talks to the database through `db`.

pub mod apply;
pub mod backup;
pub mod catalog;
pub mod cli;
pub mod commands;
pub mod config;
pub mod db;
pub mod exit;
pub mod hazard;
pub mod journal;
pub mod ledger;
pub mod plan;
pub mod postcheck;
pub mod rehearse;
pub mod report;
pub mod session;
pub mod strings;
pub mod sys;
pub mod tui;
pub mod util;
