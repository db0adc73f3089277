//! `opaque`: pgalign cannot see what it does; never silently treated as safe.

use super::Found;
use crate::hazard::action::Action;
use crate::hazard::context::Cx;
use crate::hazard::{HazardId::Opaque, Severity};

pub fn check(action: &Action, _cx: &Cx) -> Vec<Found> {
    let w = |d: String| vec![Found::new(Opaque, Severity::Warning, d)];
    match action {
        Action::Do => w("DO block: runs procedural code pgalign cannot analyse".into()),
        Action::Call { name } => w(format!(
            "CALL {name}: runs a procedure pgalign cannot analyse"
        )),
        Action::Execute => w("EXECUTE of a prepared statement pgalign cannot see".into()),
        Action::SelectCalls { funcs } => w(format!(
            "calls {}: effects of functions are not analysed",
            funcs
                .iter()
                .map(|f| format!("{f}()"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        Action::CreateFunction {
            name,
            trigger,
            body_error: Some(err),
            ..
        } => vec![Found::new(
            Opaque,
            Severity::Info,
            format!(
                "the PL/pgSQL body of {}function {name} was not analysed ({err})",
                if *trigger { "trigger " } else { "" }
            ),
        )],
        _ => vec![],
    }
}

/// A statement the parser rejected.
pub fn unparsable(err: &str) -> Found {
    Found::new(
        Opaque,
        Severity::Warning,
        format!("pgalign cannot parse this statement ({err}); it is not analysed"),
    )
    .help("check it by hand; psql variables (:name) and client-side syntax are not SQL")
}

/// A psql meta-command that runs SQL pgalign cannot see, or that reaches the
/// shell, files, the environment or another database (a blocker: a desired
/// schema holding it is refused when loaded, see `hazard::psql_meta`).
pub fn meta_command(text: &str) -> Option<Found> {
    if let Some(why) = crate::hazard::psql_meta::refusal(text) {
        return Some(
            Found::new(
                Opaque,
                Severity::Blocker,
                format!("{text}: {why}; pgalign refuses it in a desired schema"),
            )
            .help("remove it: desired schema files are loaded as data, not run as scripts"),
        );
    }
    let cmd = text.split_whitespace().next().unwrap_or("");
    match cmd {
        "\\i" | "\\ir" | "\\include" | "\\include_relative" => Some(
            Found::new(
                Opaque,
                Severity::Warning,
                format!("{text}: includes another file that is not linted here"),
            )
            .help("lint the included file too"),
        ),
        "\\gexec" => Some(Found::new(
            Opaque,
            Severity::Warning,
            "\\gexec runs the query's output as SQL, unseen by pgalign",
        )),
        "\\c" | "\\connect" => Some(Found::new(
            crate::hazard::HazardId::Session,
            Severity::Warning,
            format!("{text}: switches connection; the statements after it run elsewhere"),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::ids;
    use super::*;

    #[test]
    fn procedural_code_is_opaque() {
        assert_eq!(
            ids(check, "DO $$ BEGIN PERFORM 1; END $$"),
            vec![(Opaque, Severity::Warning)]
        );
        assert_eq!(ids(check, "CALL p()"), vec![(Opaque, Severity::Warning)]);
        assert_eq!(
            ids(check, "SELECT diesel_manage_updated_at('t')"),
            vec![(Opaque, Severity::Warning)]
        );
        assert!(ids(check, "SELECT setval('s', 10)").is_empty());
        assert!(meta_command("\\i other.sql").is_some() && meta_command("\\set x 1").is_none());
        let shell = meta_command("\\! touch /tmp/x").unwrap();
        assert_eq!((shell.id, shell.severity), (Opaque, Severity::Blocker));
        assert!(
            shell.detail.contains("runs a shell command"),
            "{}",
            shell.detail
        );
    }
}
