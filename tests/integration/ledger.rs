//! Migration ledgers and data statements (DESIGN.md §7, issue 13 items 1–2),
//! with the real tool: a schema_version team (runbook 001), Alembic from PyPI
//! in a virtual environment, an Alembic directory with two heads, and the
//! data statements a desired source holds besides its ledger rows.

use crate::support::*;
use std::path::Path;
use std::process::{Command, Output};

fn diff(live: &TestDb, desired: &str, plan: &Path, extra: &[&str]) -> Output {
    let shadow = admin().redacted_url();
    let mut args = vec![
        "diff",
        "--db",
        live.url().leak(),
        "--desired",
        desired,
        "--shadow",
        shadow.leak(),
        "-o",
        plan.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

fn verify(live: &TestDb, desired: &str, extra: &[&str]) -> Output {
    let shadow = admin().redacted_url();
    let mut args = vec![
        "verify",
        "--db",
        live.url().leak(),
        "--desired",
        desired,
        "--shadow",
        shadow.leak(),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

fn apply(live: &TestDb, plan: &Path) -> Output {
    pgalign()
        .args(["apply", "--db", &live.url(), "--confirm-target", &live.name])
        .args(["--plan", plan.to_str().unwrap()])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

const CM_LIVE: &str = "CREATE SCHEMA cm;
CREATE TABLE cm.schema_version (
  version INTEGER PRIMARY KEY,
  applied_at TIMESTAMPTZ DEFAULT now(),
  description TEXT
);
CREATE TABLE cm.settings (key text PRIMARY KEY, value text);
CREATE TABLE cm.users (id int PRIMARY KEY, email text);
INSERT INTO cm.schema_version (version, description) VALUES
  (1, 'init'), (2, 'users'), (3, 'settings');
";

/// Runbook 001's `db/init/` file 004: a new table, the version row, a seed
/// row and a backfill.
const CM_004: &str = "CREATE TABLE IF NOT EXISTS cm.audit_log (
  id BIGSERIAL PRIMARY KEY,
  ts TIMESTAMPTZ NOT NULL DEFAULT now(),
  action TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_audit_log_ts ON cm.audit_log(ts);

-- Update schema version
INSERT INTO cm.schema_version (version, description)
VALUES (4, 'Add audit log table');

INSERT INTO cm.settings (key, value) VALUES ('audit', 'on');
UPDATE cm.users SET email = lower(email) WHERE email <> lower(email);
";

#[test]
fn a_schema_version_team_gets_its_version_row_planned_applied_and_verified() {
    let live = test_db("ledger_cm");
    live.exec(CM_LIVE);
    let dir = temp_dir();
    let init = dir.path().join("db/init");
    std::fs::create_dir_all(&init).unwrap();
    // The team's directory: 001–003 as the live database has them, then 004.
    std::fs::write(
        init.join("001_schema.sql"),
        "CREATE SCHEMA IF NOT EXISTS cm;
CREATE TABLE IF NOT EXISTS cm.schema_version (
  version INTEGER PRIMARY KEY,
  applied_at TIMESTAMPTZ DEFAULT now(),
  description TEXT
);
CREATE TABLE cm.settings (key text PRIMARY KEY, value text);
CREATE TABLE cm.users (id int PRIMARY KEY, email text);
",
    )
    .unwrap();
    std::fs::write(init.join("004_add_audit_log.sql"), CM_004).unwrap();
    let desired = init.to_str().unwrap();
    let f004 = init.join("004_add_audit_log.sql").display().to_string();

    // verify before: the ledger difference names the table and both sides.
    let o = verify(&live, desired, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("ledger cm.schema_version: insert version(s) 4 (live has 1, 2, 3)"),
        "{}",
        stdout(&o)
    );

    let plan = dir.path().join("plan.sql");
    let o = diff(&live, desired, &plan, &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "ledger recognised: cm.schema_version: named like a version ledger, and the desired source inserts its rows ({f004}:9)"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "not planned (seed rows): {f004}:12: INSERT INTO cm.settings (key, value) VALUES ('audit', 'on')"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "not planned (a backfill): {f004}:13: UPDATE cm.users SET email"
        )),
        "{err}"
    );
    assert!(!err.contains("not planned (seed rows): {f004}:9"), "{err}");
    let text = std::fs::read_to_string(&plan).unwrap();
    // The data step comes after every schema step, with its hazard and title.
    let create = text.find("CREATE TABLE cm.audit_log").expect("schema step");
    let insert = text
        .find("INSERT INTO cm.schema_version (version, description) VALUES\n  ('4', 'Add audit log table');")
        .unwrap_or_else(|| panic!("ledger step in\n{text}"));
    assert!(create < insert, "{text}");
    assert!(
        text.contains(
            "-- warning[ops]: writes 1 row(s) into the migration ledger cm.schema_version"
        ),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "-- note: not planned (seed rows): {f004}:12: INSERT INTO cm.settings"
        )),
        "{text}"
    );

    let o = apply(&live, &plan);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        live.query_one("SELECT string_agg(version::text || ':' || coalesce(description, '') || ':' || (applied_at IS NOT NULL)::text, ',' ORDER BY version) FROM cm.schema_version"),
        "1:init:true,2:users:true,3:settings:true,4:Add audit log table:true"
    );
    // Seed rows were listed, not run.
    assert_eq!(
        live.query_one("SELECT count(*)::text FROM cm.settings"),
        "0"
    );
    let o = verify(&live, desired, &[]);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    assert!(
        stderr(&o).contains("not planned (seed rows)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn alembic_moves_to_the_desired_revision_and_heads_come_from_the_directory() {
    let live = test_db("ledger_alembic_dir");
    live.exec(
        "CREATE TABLE alembic_version (version_num varchar(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));
         INSERT INTO alembic_version VALUES ('a1');
         CREATE TABLE items (id int PRIMARY KEY)",
    );
    let dir = temp_dir();
    let versions = dir.path().join("alembic/versions");
    std::fs::create_dir_all(&versions).unwrap();
    std::fs::write(
        versions.join("a1_init.py"),
        "revision = 'a1'\ndown_revision = None\n",
    )
    .unwrap();
    std::fs::write(
        versions.join("b2_price.py"),
        "revision: str = \"b2\"\ndown_revision: Union[str, None] = 'a1'\n",
    )
    .unwrap();
    // A desired schema without the ledger's rows: the directory says where it must be.
    let desired = dir.path().join("schema.sql");
    std::fs::write(
        &desired,
        "CREATE TABLE alembic_version (version_num varchar(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));
         CREATE TABLE items (id int PRIMARY KEY, price numeric);\n",
    )
    .unwrap();
    let alembic = dir.path().join("alembic");
    let (d, a) = (desired.to_str().unwrap(), alembic.to_str().unwrap());
    let o = verify(&live, d, &["--alembic-dir", a]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("ledger public.alembic_version: set revision to b2 (live: a1)"),
        "{}",
        stdout(&o)
    );
    let plan = dir.path().join("plan.sql");
    let o = diff(&live, d, &plan, &["--alembic-dir", a]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let text = std::fs::read_to_string(&plan).unwrap();
    assert!(
        text.contains(
            "UPDATE public.alembic_version SET version_num = 'b2' WHERE version_num = 'a1';"
        ),
        "{text}"
    );
    let o = apply(&live, &plan);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        live.query_one("SELECT string_agg(version_num, ',') FROM alembic_version"),
        "b2"
    );
    let o = verify(&live, d, &["--alembic-dir", a]);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));

    // A fork: two heads are an error that names them; nothing is planned.
    std::fs::write(
        versions.join("c3_fork.py"),
        "revision = \"c3\"\ndown_revision = \"a1\"\n",
    )
    .unwrap();
    let plan2 = dir.path().join("plan2.sql");
    let o = diff(&live, d, &plan2, &["--alembic-dir", a]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("has 2 heads (b2, c3)"),
        "{}",
        stderr(&o)
    );
    assert!(!plan2.exists());
    // A revision file that does not parse names its file and line.
    std::fs::write(
        versions.join("c3_fork.py"),
        "import x\n\nrevision = make()\n",
    )
    .unwrap();
    let o = verify(&live, d, &["--alembic-dir", a]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "{}:3: cannot read `revision`",
            versions.join("c3_fork.py").display()
        )),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_ledger_with_unexpected_columns_is_an_error_naming_it() {
    let live = test_db("ledger_badcols");
    live.exec("CREATE TABLE alembic_version (version_num varchar(32), note text)");
    let dir = temp_dir();
    let desired = dir.path().join("schema.sql");
    std::fs::write(
        &desired,
        "CREATE TABLE alembic_version (version_num varchar(32), note text);\n",
    )
    .unwrap();
    let plan = dir.path().join("plan.sql");
    let o = diff(&live, desired.to_str().unwrap(), &plan, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("ledger table public.alembic_version (Alembic's version table) has unexpected column(s) note"),
        "{}",
        stderr(&o)
    );
    assert!(!plan.exists());
}

/// A configured ledger with no primary key and rows filled by a `cmd:` source.
#[test]
fn a_configured_ledger_from_a_command_source_and_a_prisma_failure() {
    let live = test_db("ledger_cfg");
    live.exec(
        "CREATE TABLE releases (tag text, note text);
         INSERT INTO releases VALUES ('v1', 'first');",
    );
    let dir = temp_dir();
    std::fs::write(
        dir.path().join("pgalign.toml"),
        "ledgers = [\"public.releases\"]\n",
    )
    .unwrap();
    let desired = "cmd:printf \"CREATE TABLE releases (tag text, note text); CREATE SEQUENCE s;\\nINSERT INTO releases VALUES ('v1', 'first'), ('v2', 'second');\\nSELECT pg_catalog.setval('s', 1);\\n\"";
    let shadow = admin().redacted_url();
    let o = pgalign()
        .current_dir(dir.path())
        .args([
            "diff",
            "--db",
            &live.url(),
            "--desired",
            desired,
            "--shadow",
            &shadow,
        ])
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("ledger recognised: public.releases: listed under `ledgers` in pgalign.toml"),
        "{err}"
    );
    assert!(
        err.contains("not planned (a sequence position): the desired-schema command's output:3: SELECT pg_catalog.setval('s', 1)"),
        "{err}"
    );
    let plan = stdout(&o);
    assert!(
        plan.contains("INSERT INTO public.releases (tag, note) VALUES\n  ('v2', 'second');"),
        "{plan}"
    );
    assert!(!plan.contains("('v1', 'first')"), "{plan}");

    // Prisma's ledger with a failed migration on live: verify names it.
    let p = test_db("ledger_prisma");
    let prisma = "CREATE TABLE _prisma_migrations (id varchar(36) PRIMARY KEY, checksum varchar(64) NOT NULL, finished_at timestamptz, migration_name varchar(255) NOT NULL, logs text, rolled_back_at timestamptz, started_at timestamptz NOT NULL DEFAULT now(), applied_steps_count int NOT NULL DEFAULT 0);";
    p.exec(&format!("{prisma} INSERT INTO _prisma_migrations (id, checksum, migration_name) VALUES ('1', 'c', '0001_init');"));
    let desired = dir.path().join("prisma.sql");
    std::fs::write(&desired, prisma).unwrap();
    let o = verify(&p, desired.to_str().unwrap(), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("ledger: ledger public._prisma_migrations on the live database has a failed or unfinished migration 0001_init"),
        "{}",
        stdout(&o)
    );
}

/// Alembic from PyPI in a virtual environment: the desired state is `alembic
/// upgrade head --sql`, the live database is at the first revision (a real
/// `alembic upgrade`), pgalign plans and applies the rest, and Alembic agrees.
#[test]
fn alembic_from_pypi_agrees_after_the_alignment() {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let dir = temp_dir();
    let venv = dir.path().join("venv");
    let ok = Command::new("python3")
        .args(["-m", "venv", venv.to_str().unwrap()])
        .status()
        .is_ok_and(|s| s.success())
        && Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "alembic", "sqlalchemy", "psycopg2-binary"])
            .status()
            .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            !ci,
            "CI=true: pip install alembic sqlalchemy psycopg2-binary must work"
        );
        eprintln!("skipped: could not install alembic from PyPI into a virtual environment");
        return;
    }
    let live = test_db("ledger_alembic_pypi");
    let proj = dir.path().join("proj");
    std::fs::create_dir_all(&proj).unwrap();
    let alembic = |args: &[&str]| -> Output {
        Command::new(venv.join("bin/alembic"))
            .current_dir(&proj)
            .args(args)
            .output()
            .unwrap()
    };
    let o = alembic(&["init", "alembic"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = &live.settings;
    let mut url = format!(
        "postgresql+psycopg2://{}@/{}?host={}&port={}",
        s.user, live.name, s.host, s.port
    );
    if let Some(pw) = &s.password {
        url = url.replacen('@', &format!(":{pw}@"), 1);
    }
    let ini = proj.join("alembic.ini");
    let text = std::fs::read_to_string(&ini).unwrap();
    let text: String = text
        .lines()
        .map(|l| {
            if l.starts_with("sqlalchemy.url") {
                format!("sqlalchemy.url = {}", url.replace('%', "%%"))
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&ini, text).unwrap();
    let versions = proj.join("alembic/versions");
    std::fs::write(
        versions.join("1a2b3c4d5e6f_items.py"),
        "\"\"\"items\"\"\"\nfrom alembic import op\nimport sqlalchemy as sa\n\nrevision = '1a2b3c4d5e6f'\ndown_revision = None\nbranch_labels = None\ndepends_on = None\n\n\ndef upgrade():\n    op.create_table('items', sa.Column('id', sa.Integer, primary_key=True), sa.Column('name', sa.Text))\n\n\ndef downgrade():\n    op.drop_table('items')\n",
    )
    .unwrap();
    std::fs::write(
        versions.join("9f8e7d6c5b4a_price.py"),
        "\"\"\"price\"\"\"\nfrom typing import Sequence, Union\nfrom alembic import op\nimport sqlalchemy as sa\n\nrevision: str = \"9f8e7d6c5b4a\"\ndown_revision: Union[str, None] = \"1a2b3c4d5e6f\"\nbranch_labels: Union[str, Sequence[str], None] = None\ndepends_on: Union[str, Sequence[str], None] = None\n\n\ndef upgrade() -> None:\n    op.add_column('items', sa.Column('price', sa.Numeric))\n    op.execute(\"UPDATE items SET price = 0 WHERE price IS NULL\")\n\n\ndef downgrade() -> None:\n    op.drop_column('items', 'price')\n",
    )
    .unwrap();
    // The live database at the first revision, by Alembic itself.
    let o = alembic(&["upgrade", "1a2b3c4d5e6f"]);
    assert!(o.status.success(), "{}", stderr(&o));
    live.exec("INSERT INTO items (id, name) VALUES (1, 'a')");
    // The desired state: Alembic's offline SQL from base to head.
    let o = alembic(&["upgrade", "head", "--sql"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let desired = dir.path().join("desired.sql");
    std::fs::write(&desired, &o.stdout).unwrap();
    let sql = String::from_utf8_lossy(&o.stdout).into_owned();
    let backfill_line = 1 + sql[..sql
        .find("UPDATE items SET price = 0")
        .expect("backfill in the offline SQL")]
        .matches('\n')
        .count();

    let plan = dir.path().join("plan.sql");
    let adir = proj.join("alembic");
    let (d, a) = (desired.to_str().unwrap(), adir.to_str().unwrap());
    let o = diff(&live, d, &plan, &["--alembic-dir", a]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("ledger recognised: public.alembic_version: Alembic's version table"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "not planned (a backfill): {d}:{backfill_line}: UPDATE items SET price = 0"
        )),
        "{err}"
    );
    let text = std::fs::read_to_string(&plan).unwrap();
    let add = text
        .find("ADD COLUMN price")
        .unwrap_or_else(|| panic!("{text}"));
    let stamp = text
        .find("UPDATE public.alembic_version SET version_num = '9f8e7d6c5b4a' WHERE version_num = '1a2b3c4d5e6f';")
        .unwrap_or_else(|| panic!("{text}"));
    assert!(add < stamp, "{text}");
    let o = apply(&live, &plan);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let o = alembic(&["current"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("9f8e7d6c5b4a (head)"),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );
    let o = alembic(&["upgrade", "head"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        !stderr(&o).contains("Running upgrade"),
        "not a no-op: {}",
        stderr(&o)
    );
    let o = verify(&live, d, &["--alembic-dir", a]);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
}
