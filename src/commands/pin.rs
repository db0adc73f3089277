//! External SQL files (`prisma migrate diff --script`, `alembic upgrade --sql`,
//! a hand-written migration) in the CLI: `pgalign pin FILE --db URL -o
//! plan.sql`, and the path `apply --plan FILE` and `rehearse --plan FILE` take
//! for a file without a pgalign header.
//!
//! The file is imported exactly as the wizard imports it
//! ([`crate::plan::external`]): linted against the live database by the engine
//! behind `pgalign lint --db`, sized, and regrouped into pgalign's transaction
//! groups; the result is a pinned pgalign plan (header, body SHA-256, live
//! fingerprint, the lint's hazards as step comments), which the apply gate then
//! checks like any plan pgalign computed.

use crate::apply::Refusal;
use crate::catalog::Model;
use crate::cli::PinArgs;
use crate::db::ConnSettings;
use crate::exit::Exit;
use crate::plan::{self, PlanFile};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// The first line of every plan pgalign writes.
const PLAN_FIRST_LINE: &[u8] = b"-- pgalign plan";

/// An external file turned into a pinned pgalign plan.
pub struct Pinned {
    /// The SHA-256 of the external file's bytes.
    pub file_sha256: String,
    /// The pinned plan's text and its reading.
    pub text: String,
    pub plan: PlanFile,
    /// The live schema the file was linted against (for `<plan>.live.json`).
    pub live: Model,
    /// The notes of the import (its own BEGIN/COMMIT replaced …).
    pub notes: Vec<String>,
}

/// True when `bytes` is not a plan pgalign wrote: no `-- pgalign plan` first
/// line (after a UTF-8 byte-order mark). A file that starts like a pgalign plan
/// stays one, and a damaged one is refused as such, never re-imported.
pub fn is_external(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    !bytes.starts_with(PLAN_FIRST_LINE)
}

/// Checks the file's bytes against `--expect-sha256`: missing is an error that
/// says how to get it, a mismatch a refusal (exit 3).
pub fn check_reviewed(bytes: &[u8], path: &Path, expected: Option<&str>) -> Result<String> {
    let actual = crate::util::sha256_hex(bytes);
    let Some(expected) = expected else {
        bail!(
            "{} has no pgalign header, so it is applied only as the exact file that was reviewed: pass --expect-sha256 with the SHA-256 of its bytes (`sha256sum {}` prints it: {actual}), or pin it first with `pgalign pin`",
            path.display(),
            path.display()
        );
    };
    if !expected.trim().eq_ignore_ascii_case(&actual) {
        return Err(Refusal::NotReviewed {
            expected: expected.to_string(),
            actual,
        })
        .with_context(|| format!("external file {}", path.display()));
    }
    Ok(actual)
}

/// Lints `bytes` (the file `path`) against `target` and pins it as a plan.
pub async fn pin(bytes: &[u8], path: &Path, target: &ConnSettings) -> Result<Pinned> {
    let name = path.display().to_string();
    let imported = plan::external::import_bytes(bytes, &name, target).await?;
    let text = plan::render_plan(
        &imported.plan,
        &crate::util::redact(&target.to_string()),
        &crate::util::now_rfc3339(),
    );
    let read = plan::parse_plan(&text).with_context(|| format!("pinning {name}"))?;
    Ok(Pinned {
        file_sha256: crate::util::sha256_hex(bytes),
        text,
        plan: read,
        live: imported.live.model,
        notes: imported.plan.notes,
    })
}

/// Writes a pinned plan as `path` (mode 0600) with its `.live.json` beside it.
pub fn write(pinned: &Pinned, path: &Path) -> Result<()> {
    crate::util::write_private(path, pinned.text.as_bytes())
        .with_context(|| format!("writing plan file {}", path.display()))?;
    crate::apply::write_live_sidecar(path, &pinned.live)?;
    Ok(())
}

/// `DIR/pinned-<first 12 hex of the file's SHA-256>.sql`: where `apply` keeps
/// the pinned form of an external file in its session folder (never over a
/// `plan.sql` that `diff` or the wizard wrote there).
pub fn session_path(dir: &Path, file_sha256: &str) -> PathBuf {
    dir.join(format!("pinned-{}.sql", &file_sha256[..12]))
}

/// One line for stderr: what was linted and what the pinned plan holds.
pub fn describe(pinned: &Pinned, path: &Path, target: &ConnSettings) -> String {
    let s = &pinned.plan.header.summary;
    let groups = pinned.plan.steps.iter().map(|s| s.group).max().unwrap_or(0);
    crate::util::printable(&format!(
        "external file {} (SHA-256 {}) linted against {target}: {} statement(s) in {groups} group(s); hazards: danger {}, warning {}, blocker {}",
        path.display(),
        pinned.file_sha256,
        pinned.plan.steps.len(),
        s.danger,
        s.warning,
        s.blocker
    ))
}

/// `pgalign pin FILE --db URL -o plan.sql`.
pub async fn run(args: PinArgs) -> Result<Exit> {
    let settings = ConnSettings::parse(args.db.conninfo()).context("parsing --db")?;
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("reading external file {}", args.file.display()))?;
    if !is_external(&bytes) {
        bail!(
            "{} is already a pgalign plan (its first line is `-- pgalign plan`): apply it as it is",
            args.file.display()
        );
    }
    if args.expect_sha256.is_some() {
        check_reviewed(&bytes, &args.file, args.expect_sha256.as_deref())?;
    }
    if std::fs::canonicalize(&args.output).ok() == std::fs::canonicalize(&args.file).ok()
        && args.output.exists()
    {
        bail!(
            "--output {} is the external file itself; write the pinned plan to another file",
            args.output.display()
        );
    }
    let pinned = pin(&bytes, &args.file, &settings).await?;
    write(&pinned, &args.output)?;
    eprintln!("pgalign: {}", describe(&pinned, &args.file, &settings));
    for note in pinned.notes.iter().skip(1) {
        eprintln!("pgalign: note: {}", crate::util::printable(note));
    }
    super::print_stdout(&format!(
        "plan:        {}\nbody-sha256: {}\nfrom:        {} (SHA-256 {})\n",
        args.output.display(),
        pinned.plan.actual_sha256,
        args.file.display(),
        pinned.file_sha256
    ))?;
    eprintln!(
        "pgalign: apply it with: pgalign apply --db URL --plan {} --expect-sha256 {}",
        crate::apply::progress::shell_word(&args.output.display().to_string()),
        pinned.plan.actual_sha256
    );
    Ok(Exit::Ok)
}
