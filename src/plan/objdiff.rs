//! What changes inside each object a plan replaces or alters: the live and the
//! desired definition of the view, materialized view, function, procedure,
//! trigger, policy or table a step touches, both rendered by `catalog::ddl`,
//! and a line diff of the two with the changed words marked (`similar`).
//!
//! The definitions travel beside the plan (in memory for Review, in
//! `diff --format json`), never in the plan file's body: its bytes and SHA-256
//! are those of the statements alone.

use super::Step;
use crate::catalog::ddl;
use crate::catalog::model::{ConstraintKind, Model, QName};
use serde::{Deserialize, Serialize};
use similar::{ChangeTag, TextDiff};
use std::collections::HashMap;

/// The two definitions of one object a step changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectChange {
    /// `view`, `materialized view`, `function`, `procedure`, `trigger`, `policy` or `table`.
    pub kind: String,
    /// The object as titles name it: `app.active_users`, `app.f(integer)`,
    /// `audit on app.users`.
    pub object: String,
    /// Its definition on the live database.
    pub live: String,
    /// Its definition in the desired schema.
    pub desired: String,
}

#[derive(Debug, Clone)]
enum Obj {
    View(QName),
    Function(String),
    Trigger(String),
    Policy(String),
    Table(QName),
}

/// The objects that exist on both sides with different definitions, by the
/// words step titles name them with (`view app.v`, `trigger t on app.x`).
struct Index {
    by_title: HashMap<String, Obj>,
    /// Tables and views by their SQL name (`"app"."t"`, as statements spell it).
    tables: HashMap<String, QName>,
    views: HashMap<String, QName>,
}

impl Index {
    fn new(live: &Model, desired: &Model) -> Index {
        let mut by_title = HashMap::new();
        let mut views = HashMap::new();
        for (name, v) in &desired.views {
            if let Some(old) = live.views.get(name)
                && old != v
            {
                let what = if v.materialized {
                    "materialized view"
                } else {
                    "view"
                };
                by_title.insert(format!("{what} {name}"), Obj::View(name.clone()));
                views.insert(name.sql(), name.clone());
            }
        }
        for (key, f) in &desired.functions {
            if live.functions.get(key).is_some_and(|old| old != f) {
                by_title.insert(format!("{} {key}", f.kind), Obj::Function(key.clone()));
            }
        }
        for (key, t) in &desired.triggers {
            if live.triggers.get(key).is_some_and(|old| old != t) {
                by_title.insert(
                    format!("trigger {} on {}", t.name, t.table),
                    Obj::Trigger(key.clone()),
                );
            }
        }
        for (key, p) in &desired.policies {
            if live.policies.get(key).is_some_and(|old| old != p) {
                by_title.insert(
                    format!("policy {} on {}", p.name, p.table),
                    Obj::Policy(key.clone()),
                );
            }
        }
        let tables = desired
            .tables
            .iter()
            .filter(|(name, t)| live.tables.get(*name).is_some_and(|old| old != *t))
            .map(|(name, _)| (name.sql(), name.clone()))
            .collect();
        Index {
            by_title,
            tables,
            views,
        }
    }

    /// The changed object `step` works on, if any.
    fn find(&self, step: &Step) -> Option<Obj> {
        if let Some(obj) = self.by_step_title(&step.title) {
            return Some(obj);
        }
        let sql = step.sql.trim_start();
        for head in [
            "CREATE VIEW ",
            "CREATE MATERIALIZED VIEW ",
            "DROP VIEW ",
            "DROP MATERIALIZED VIEW ",
            "ALTER VIEW ",
            "ALTER MATERIALIZED VIEW ",
        ] {
            if let Some(rest) = sql.strip_prefix(head)
                && let Some(name) = leading_name(rest).and_then(|n| self.views.get(n))
            {
                return Some(Obj::View(name.clone()));
            }
        }
        let rest = sql.strip_prefix("ALTER TABLE ")?;
        let rest = rest.strip_prefix("IF EXISTS ").unwrap_or(rest);
        let rest = rest.strip_prefix("ONLY ").unwrap_or(rest);
        let name = self.tables.get(leading_name(rest)?)?;
        Some(Obj::Table(name.clone()))
    }

    fn by_step_title(&self, title: &str) -> Option<Obj> {
        let rest = match title.strip_prefix("set state of ") {
            Some(r) => r,
            None => title.split_once(' ')?.1,
        };
        // The whole rest, then the rest before each ` (` (a remark such as
        // `(recreated below)`; a function key's own parentheses follow no space).
        let mut candidates = vec![rest];
        candidates.extend(rest.match_indices(" (").map(|(i, _)| &rest[..i]));
        candidates
            .into_iter()
            .find_map(|c| self.by_title.get(c).cloned())
    }
}

/// The schema-qualified SQL name at the start of `s` (`"a b"."c"` or `app.t`).
fn leading_name(s: &str) -> Option<&str> {
    let mut in_quotes = false;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' if in_quotes && chars.peek().map(|(_, c)| *c) == Some('"') => {
                chars.next();
            }
            '"' => in_quotes = !in_quotes,
            ' ' | ';' | '(' | '\n' if !in_quotes => return (i > 0).then(|| &s[..i]),
            _ => {}
        }
    }
    (!s.is_empty() && !in_quotes).then_some(s)
}

/// For each step (in order), the object it changes with both definitions;
/// `None` for steps that create or drop an object outright, or touch none of
/// these kinds.
pub fn changes(steps: &[Step], live: &Model, desired: &Model) -> Vec<Option<ObjectChange>> {
    let index = Index::new(live, desired);
    let mut memo: HashMap<String, Option<ObjectChange>> = HashMap::new();
    steps
        .iter()
        .map(|step| {
            let obj = index.find(step)?;
            let key = format!("{obj:?}");
            memo.entry(key)
                .or_insert_with(|| render(&obj, live, desired))
                .clone()
        })
        .collect()
}

fn render(obj: &Obj, live: &Model, desired: &Model) -> Option<ObjectChange> {
    let (kind, object, before, after) = match obj {
        Obj::View(name) => {
            let (a, b) = (live.views.get(name)?, desired.views.get(name)?);
            let kind = if b.materialized {
                "materialized view"
            } else {
                "view"
            };
            (kind.to_string(), name.to_string(), view_ddl(a), view_ddl(b))
        }
        Obj::Function(key) => {
            let (a, b) = (live.functions.get(key)?, desired.functions.get(key)?);
            (
                b.kind.clone(),
                key.clone(),
                ddl::create_function(a),
                ddl::create_function(b),
            )
        }
        Obj::Trigger(key) => {
            let (a, b) = (live.triggers.get(key)?, desired.triggers.get(key)?);
            let ddl = |t| {
                let mut s = ddl::create_trigger(t);
                if let Some(state) = ddl::trigger_state(t) {
                    s.push('\n');
                    s.push_str(&state);
                }
                s
            };
            (
                "trigger".into(),
                format!("{} on {}", b.name, b.table),
                ddl(a),
                ddl(b),
            )
        }
        Obj::Policy(key) => {
            let (a, b) = (live.policies.get(key)?, desired.policies.get(key)?);
            (
                "policy".into(),
                format!("{} on {}", b.name, b.table),
                ddl::create_policy(a),
                ddl::create_policy(b),
            )
        }
        Obj::Table(name) => {
            let (a, b) = (live.tables.get(name)?, desired.tables.get(name)?);
            ("table".into(), name.to_string(), table_ddl(a), table_ddl(b))
        }
    };
    Some(ObjectChange {
        kind,
        object,
        live: before,
        desired: after,
    })
}

fn view_ddl(v: &crate::catalog::model::View) -> String {
    let mut s = ddl::create_view(v);
    if let Some(c) = &v.comment {
        s.push('\n');
        s.push_str(&ddl::comment_on(&format!("VIEW {}", v.name.sql()), Some(c)));
    }
    s
}

/// The table as pgalign would create it, its foreign keys after it, its
/// row-level security and comment: everything a table step can change.
fn table_ddl(t: &crate::catalog::model::Table) -> String {
    let mut s = ddl::create_table(t);
    for c in t.constraints.values() {
        if c.kind == ConstraintKind::ForeignKey || c.definition.ends_with("NOT VALID") {
            s.push('\n');
            s.push_str(&ddl::add_constraint(&t.name, c));
        }
    }
    for rls in ddl::rls_change(&t.name, None, t.rls.as_deref()) {
        s.push('\n');
        s.push_str(&rls);
    }
    if let Some(c) = &t.comment {
        s.push('\n');
        s.push_str(&ddl::comment_on(
            &format!("TABLE {}", t.name.sql()),
            Some(c),
        ));
    }
    s
}

/// Which side a diff line comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// In both definitions.
    Both,
    /// Only in the live definition (`-`).
    Live,
    /// Only in the desired definition (`+`).
    Desired,
}

impl Side {
    pub fn marker(self) -> char {
        match self {
            Side::Both => ' ',
            Side::Live => '-',
            Side::Desired => '+',
        }
    }
}

/// One line of a unified diff: its side and its text in parts, `true` for the
/// words that changed inside the line. A hunk break has no parts and `gap`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffLine {
    pub side: Side,
    pub parts: Vec<(bool, String)>,
    /// True for the `…` line between two hunks (unchanged lines left out).
    pub gap: bool,
}

impl DiffLine {
    /// The line as plain text: `-`/`+`/` ` and the changed words bracketed,
    /// `[-old-]` on a live line and `{+new+}` on a desired one (the form of
    /// `git diff --word-diff`), for terminals without colour.
    pub fn plain(&self) -> String {
        if self.gap {
            return "…".into();
        }
        let mut s = String::new();
        s.push(self.side.marker());
        s.push(' ');
        for (changed, text) in &self.parts {
            match (changed, self.side) {
                (true, Side::Live) => s.push_str(&format!("[-{text}-]")),
                (true, Side::Desired) => s.push_str(&format!("{{+{text}+}}")),
                _ => s.push_str(text),
            }
        }
        s
    }
}

/// Lines of context kept around each change.
const CONTEXT: usize = 3;

/// Below this share of equal tokens a changed line is shown as replaced as a
/// whole, without words marked inside it (marking most of a line helps nobody).
const MIN_RATIO: f32 = 0.5;

/// The unified line diff of the two definitions, with up to three unchanged
/// lines around each change and the changed words of each changed line marked.
/// Words are SQL tokens: a run of letters, digits and `_`, a run of spaces, or
/// one other character (so `18));` changes only in `18`).
pub fn unified(c: &ObjectChange) -> Vec<DiffLine> {
    let diff = TextDiff::from_lines(&c.live, &c.desired);
    let mut out = Vec::new();
    for (n, group) in diff.grouped_ops(CONTEXT).iter().enumerate() {
        if n > 0 {
            out.push(DiffLine {
                side: Side::Both,
                parts: vec![],
                gap: true,
            });
        }
        for op in group {
            let (_, old, new) = op.as_tag_tuple();
            let old: Vec<&str> = old.filter_map(|i| diff.old_slice(i)).collect();
            let new: Vec<&str> = new.filter_map(|i| diff.new_slice(i)).collect();
            if op.tag() == similar::DiffTag::Equal {
                out.extend(old.iter().map(|l| line(Side::Both, vec![(false, l)])));
                continue;
            }
            // Line k of the removed run is compared with line k of the added one.
            let mut removed = Vec::new();
            let mut added = Vec::new();
            for k in 0..old.len().max(new.len()) {
                match (old.get(k), new.get(k)) {
                    (Some(a), Some(b)) => {
                        let (x, y) = words(a, b);
                        removed.push(line(Side::Live, x));
                        added.push(line(Side::Desired, y));
                    }
                    (Some(a), None) => removed.push(line(Side::Live, vec![(false, a)])),
                    (None, Some(b)) => added.push(line(Side::Desired, vec![(false, b)])),
                    (None, None) => {}
                }
            }
            out.extend(removed);
            out.extend(added);
        }
    }
    out
}

fn line(side: Side, parts: Vec<(bool, &str)>) -> DiffLine {
    let mut out: Vec<(bool, String)> = Vec::new();
    for (changed, text) in parts {
        let text = text.trim_end_matches(['\n', '\r']);
        if text.is_empty() {
            continue;
        }
        // Definitions hold names: what reaches the terminal is escaped.
        let text = crate::util::escape_control(text);
        match out.last_mut() {
            Some((c, t)) if *c == changed => t.push_str(&text),
            _ => out.push((changed, text.into_owned())),
        }
    }
    DiffLine {
        side,
        parts: out,
        gap: false,
    }
}

/// A line in parts, `true` for the changed ones.
type Parts<'a> = Vec<(bool, &'a str)>;

/// The two lines in parts, the tokens only one of them has marked.
fn words<'a>(old: &'a str, new: &'a str) -> (Parts<'a>, Parts<'a>) {
    let (a, b) = (tokens(old), tokens(new));
    let diff = TextDiff::from_slices(&a, &b);
    if diff.ratio() < MIN_RATIO {
        return (vec![(false, old)], vec![(false, new)]);
    }
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for change in diff.iter_all_changes() {
        let (i, j) = (change.old_index(), change.new_index());
        match (change.tag(), i, j) {
            (ChangeTag::Equal, Some(i), Some(j)) => {
                x.push((false, a[i]));
                y.push((false, b[j]));
            }
            (ChangeTag::Delete, Some(i), _) => x.push((true, a[i])),
            (ChangeTag::Insert, _, Some(j)) => y.push((true, b[j])),
            _ => {}
        }
    }
    (x, y)
}

fn tokens(s: &str) -> Vec<&str> {
    let class = |c: char| {
        if c.is_alphanumeric() || c == '_' {
            0
        } else if c.is_whitespace() {
            1
        } else {
            2
        }
    };
    let mut out = Vec::new();
    let mut start = 0;
    let mut prev: Option<u8> = None;
    for (i, c) in s.char_indices() {
        let k = class(c);
        if let Some(p) = prev
            && (p != k || k == 2)
        {
            out.push(&s[start..i]);
            start = i;
        }
        prev = Some(k);
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(live: &str, desired: &str) -> ObjectChange {
        ObjectChange {
            kind: "view".into(),
            object: "app.v".into(),
            live: live.into(),
            desired: desired.into(),
        }
    }

    #[test]
    fn one_changed_predicate_is_one_line_out_and_one_in_with_its_words_marked() {
        let c = change(
            "CREATE VIEW app.v AS\n SELECT id\n   FROM app.t\n  WHERE (active AND (age > 18));",
            "CREATE VIEW app.v AS\n SELECT id\n   FROM app.t\n  WHERE (active AND (age > 21));",
        );
        let plain: Vec<String> = unified(&c).iter().map(DiffLine::plain).collect();
        assert_eq!(
            plain,
            vec![
                "  CREATE VIEW app.v AS",
                "   SELECT id",
                "     FROM app.t",
                "-   WHERE (active AND (age > [-18-]));",
                "+   WHERE (active AND (age > {+21+}));",
            ]
        );
    }

    #[test]
    fn far_apart_changes_are_two_hunks_with_a_gap() {
        let live: Vec<String> = (0..20).map(|i| format!("line {i}")).collect();
        let mut want = live.clone();
        want[1] = "line one".into();
        want[18] = "line eighteen".into();
        let lines = unified(&change(&live.join("\n"), &want.join("\n")));
        assert_eq!(lines.iter().filter(|l| l.gap).count(), 1);
        assert_eq!(lines.iter().filter(|l| l.side == Side::Live).count(), 2);
        assert_eq!(lines.iter().filter(|l| l.side == Side::Desired).count(), 2);
    }

    #[test]
    fn leading_names_stop_at_the_first_unquoted_space() {
        assert_eq!(
            leading_name(r#""a b"."c""d" ADD x"#),
            Some(r#""a b"."c""d""#)
        );
        assert_eq!(leading_name("app.t;"), Some("app.t"));
        assert_eq!(leading_name(r#""open"#), None);
    }

    #[test]
    fn a_line_rewritten_as_a_whole_marks_no_words() {
        let lines = unified(&change("SELECT a, b FROM t;", "DELETE FROM x WHERE y;"));
        let plain: Vec<String> = lines.iter().map(DiffLine::plain).collect();
        assert_eq!(
            plain,
            vec!["- SELECT a, b FROM t;", "+ DELETE FROM x WHERE y;"]
        );
    }

    #[test]
    fn a_control_character_in_a_definition_is_shown_escaped() {
        let lines = unified(&change("SELECT 'a';", "SELECT 'a\u{1b}[2J';"));
        let all: String = lines.iter().map(DiffLine::plain).collect();
        assert!(!all.contains('\u{1b}'), "{all:?}");
    }
}
