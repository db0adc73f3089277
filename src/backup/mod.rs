//! `pg_dump -Fc` plus a schema-only dump, verified with `pg_restore --list` and
//! checksummed.
