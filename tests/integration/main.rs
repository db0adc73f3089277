//! The one integration-test binary (one link on 2 cores). Every test gets its
//! own database on one throwaway cluster per run, or on `PGALIGN_TEST_URL`.

mod support;

mod apply;
mod backup;
mod cli;
mod conn;
mod convergence;
mod corpus;
mod e2e;
mod external;
mod lint;
mod rehearse;
mod report;
mod sizing;
mod tui;
mod unmanaged;
