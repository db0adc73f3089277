//! Renames from hints (`-- pgalign:renamed-from`): applied to a copy of the live
//! model before comparing, so the rest of the plan sees the objects under their
//! new names, and emitted as `RENAME` steps that run first. Without a hint, a
//! dropped and an added object of the same shape are reported as a possible
//! rename in the plan's notes.

use super::*;
use crate::plan::hints::Rename;

/// Replaces whole identifier tokens `from` by `to` in SQL text, leaving string
/// literals alone.
pub fn replace_ident(text: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let is_ident = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            let start = i;
            i += 1;
            while i < chars.len() {
                if chars[i] == '\'' {
                    if chars.get(i + 1) == Some(&'\'') {
                        i += 2;
                        continue;
                    }
                    break;
                }
                i += 1;
            }
            i = (i + 1).min(chars.len());
            out.extend(&chars[start..i]);
        } else if c == '"' {
            let start = i;
            let mut name = String::new();
            i += 1;
            while i < chars.len() {
                if chars[i] == '"' {
                    if chars.get(i + 1) == Some(&'"') {
                        name.push('"');
                        i += 2;
                        continue;
                    }
                    break;
                }
                name.push(chars[i]);
                i += 1;
            }
            i = (i + 1).min(chars.len());
            if name == from {
                out.push_str(&quote_ident(to));
            } else {
                out.extend(&chars[start..i]);
            }
        } else if is_ident(c) && (i == 0 || !is_ident(chars[i - 1])) {
            let start = i;
            while i < chars.len() && is_ident(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if word == from && quote_ident(from) == from {
                out.push_str(&quote_ident(to));
            } else {
                out.push_str(&word);
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn rekey<V>(map: &mut BTreeMap<QName, V>, from: &QName, to: &QName) {
    if let Some(v) = map.remove(from) {
        map.insert(to.clone(), v);
    }
}

fn swap(q: &mut QName, from: &QName, to: &QName) {
    if q == from {
        *q = to.clone();
    }
}

/// Applies the renames the hints ask for to a copy of `live`. Returns it, the
/// rename statements, and notes about hints that did not apply.
pub fn apply(
    live: &Inspected,
    desired: &Model,
    renames: &[Rename],
) -> (Inspected, Vec<(String, String)>, Vec<String>) {
    let mut out = live.clone();
    let mut steps = Vec::new();
    let mut notes = Vec::new();
    for r in renames {
        match r {
            Rename::Table { from, to } => {
                let m = &out.model;
                if !m.tables.contains_key(from)
                    || m.tables.contains_key(to)
                    || !desired.tables.contains_key(to)
                {
                    notes.push(format!("rename hint {from} → {to} not used: the live database has no table {from}, or already has {to}"));
                    continue;
                }
                let mut current = from.clone();
                if from.schema != to.schema {
                    steps.push((
                        format!("move table {from} to schema {}", to.schema),
                        format!(
                            "ALTER TABLE {} SET SCHEMA {};",
                            from.sql(),
                            quote_ident(&to.schema)
                        ),
                    ));
                    current = QName::new(to.schema.clone(), from.name.clone());
                }
                if current.name != to.name {
                    steps.push((
                        format!("rename table {current} to {}", to.name),
                        format!(
                            "ALTER TABLE {} RENAME TO {};",
                            current.sql(),
                            quote_ident(&to.name)
                        ),
                    ));
                }
                notnull::keep_names(&mut out, from, &to.name, None);
                rename_table(&mut out, from, to);
            }
            Rename::Column { table, from, to } => {
                let has =
                    |m: &Model, c: &str| m.tables.get(table).is_some_and(|t| t.column(c).is_some());
                if !has(&out.model, from) || has(&out.model, to) || !has(desired, to) {
                    notes.push(format!("rename hint {table}.{from} → {to} not used: the live table has no column {from}, or already has {to}"));
                    continue;
                }
                steps.push((
                    format!("rename column {table}.{from} to {to}"),
                    format!(
                        "ALTER TABLE {} RENAME COLUMN {} TO {};",
                        table.sql(),
                        quote_ident(from),
                        quote_ident(to)
                    ),
                ));
                notnull::keep_names(&mut out, table, &table.name, Some((from, to)));
                rename_column(&mut out.model, table, from, to);
            }
            Rename::EnumValue {
                type_name,
                from,
                to,
            } => {
                let has = |m: &Model, v: &str| {
                    m.enums
                        .get(type_name)
                        .is_some_and(|e| e.labels.iter().any(|l| l == v))
                };
                if !has(&out.model, from) || has(&out.model, to) || !has(desired, to) {
                    notes.push(format!("rename hint for value {from} of {type_name} → {to} not used: the live type has no value {from}, or already has {to}"));
                    continue;
                }
                steps.push((
                    format!("rename value {from} of type {type_name} to {to}"),
                    format!(
                        "ALTER TYPE {} RENAME VALUE {} TO {};",
                        type_name.sql(),
                        quote_literal(from),
                        quote_literal(to)
                    ),
                ));
                rename_enum_value(&mut out.model, type_name, from, to);
            }
        }
    }
    (out, steps, notes)
}

/// A renamed enum value keeps its OID, so every expression the server deparses
/// (defaults, checks, index predicates, views, policies, function defaults)
/// prints the new label afterwards: the live copy is changed the same way.
fn rename_enum_value(m: &mut Model, type_name: &QName, from: &str, to: &str) {
    if let Some(e) = m.enums.get_mut(type_name) {
        e.labels
            .iter_mut()
            .filter(|l| *l == from)
            .for_each(|l| *l = to.to_string());
    }
    let ty = type_name.sql();
    let (old, new) = (
        format!("{}::{ty}", quote_literal(from)),
        format!("{}::{ty}", quote_literal(to)),
    );
    let fix = |text: &mut String| {
        if text.contains(&old) {
            *text = text.replace(&old, &new);
        }
    };
    for t in m.tables.values_mut() {
        t.columns
            .iter_mut()
            .filter_map(|c| c.default.as_mut())
            .for_each(fix);
        t.constraints
            .values_mut()
            .for_each(|c| fix(&mut c.definition));
    }
    m.indexes.values_mut().for_each(|i| fix(&mut i.definition));
    m.views.values_mut().for_each(|v| fix(&mut v.definition));
    m.triggers.values_mut().for_each(|t| fix(&mut t.definition));
    for p in m.policies.values_mut() {
        p.using
            .iter_mut()
            .chain(p.with_check.iter_mut())
            .for_each(fix);
    }
    for f in m.functions.values_mut() {
        fix(&mut f.arguments);
        fix(&mut f.definition);
    }
    for d in m.domains.values_mut() {
        d.default.iter_mut().for_each(fix);
        d.checks.values_mut().for_each(fix);
    }
}

fn rename_table(out: &mut Inspected, from: &QName, to: &QName) {
    let (f, t) = (from.sql(), to.sql());
    rekey(&mut out.stats, from, to);
    let m = &mut out.model;
    rekey(&mut m.tables, from, to);
    for table in m.tables.values_mut() {
        swap(&mut table.name, from, to);
        if let Some((p, _)) = &mut table.partition_of {
            swap(p, from, to);
        }
        table.inherits.iter_mut().for_each(|p| swap(p, from, to));
        for c in table.constraints.values_mut() {
            if c.references.as_ref() == Some(from) {
                c.references = Some(to.clone());
                c.definition = c
                    .definition
                    .replace(&format!("REFERENCES {f}("), &format!("REFERENCES {t}("));
            }
        }
    }
    let moved_schema = from.schema != to.schema;
    let indexes: Vec<QName> = m
        .indexes
        .iter()
        .filter(|(_, i)| &i.table == from)
        .map(|(k, _)| k.clone())
        .collect();
    for key in indexes {
        let mut i = m.indexes.remove(&key).expect("listed above");
        i.table = to.clone();
        i.definition = i
            .definition
            .replace(&format!(" ON {f} "), &format!(" ON {t} "))
            .replace(&format!(" ON ONLY {f} "), &format!(" ON ONLY {t} "));
        if moved_schema {
            i.name = QName::new(to.schema.clone(), i.name.name.clone());
        }
        m.indexes.insert(i.name.clone(), i);
    }
    let owned: Vec<QName> = m
        .sequences
        .iter()
        .filter(|(_, s)| s.owned_by.as_ref().is_some_and(|(o, _)| o == from))
        .map(|(k, _)| k.clone())
        .collect();
    for key in owned {
        let mut s = m.sequences.remove(&key).expect("listed above");
        if let Some((o, _)) = &mut s.owned_by {
            *o = to.clone();
        }
        if moved_schema {
            s.name = QName::new(to.schema.clone(), s.name.name.clone());
        }
        m.sequences.insert(s.name.clone(), s);
    }
    let triggers: Vec<String> = m
        .triggers
        .iter()
        .filter(|(_, tr)| &tr.table == from)
        .map(|(k, _)| k.clone())
        .collect();
    for key in triggers {
        let mut tr = m.triggers.remove(&key).expect("listed above");
        tr.table = to.clone();
        tr.definition = tr
            .definition
            .replace(&format!(" ON {f} "), &format!(" ON {t} "));
        m.triggers.insert(member_key(to, &tr.name), tr);
    }
    let policies: Vec<String> = m
        .policies
        .iter()
        .filter(|(_, p)| &p.table == from)
        .map(|(k, _)| k.clone())
        .collect();
    for key in policies {
        let mut p = m.policies.remove(&key).expect("listed above");
        p.table = to.clone();
        m.policies.insert(member_key(to, &p.name), p);
    }
    for v in m.views.values_mut() {
        for d in &mut v.depends_on {
            match d {
                Dep::Relation { name } | Dep::Column { table: name, .. } | Dep::Type { name } => {
                    swap(name, from, to)
                }
                Dep::Function { .. } => {}
            }
        }
        v.definition = v.definition.replace(&f, &t);
    }
    rekey_owner_and_grants(m, from, to);
}

/// Moves the owner and the table and column privileges of table `from` to `to`.
pub(super) fn rekey_owner_and_grants(m: &mut Model, from: &QName, to: &QName) {
    let (f, t) = (from.sql(), to.sql());
    if let Some(v) = m.owners.remove(&format!("TABLE {f}")) {
        m.owners.insert(format!("TABLE {t}"), v);
    }
    let keys: Vec<String> = m
        .privileges
        .keys()
        .filter(|k| *k == &format!("TABLE {f}") || k.starts_with(&format!("COLUMN {f}.")))
        .cloned()
        .collect();
    for k in keys {
        let v = m.privileges.remove(&k).expect("listed above");
        m.privileges.insert(k.replacen(&f, &t, 1), v);
    }
}

/// True when `t` is a partition or inheritance child of `ancestor`, at any depth.
fn descends_from(m: &Model, t: &Table, ancestor: &QName) -> bool {
    let mut todo: Vec<&QName> = t.parents().collect();
    let mut guard = 0;
    while let Some(p) = todo.pop() {
        guard += 1;
        if p == ancestor {
            return true;
        }
        if guard > 64 {
            break;
        }
        if let Some(pt) = m.tables.get(p) {
            todo.extend(pt.parents());
        }
    }
    false
}

fn rename_column(m: &mut Model, table: &QName, from: &str, to: &str) {
    if let Some(t) = m.tables.get_mut(table) {
        for c in &mut t.columns {
            if c.name == from {
                c.name = to.to_string();
            }
        }
        for c in t.constraints.values_mut() {
            c.columns
                .iter_mut()
                .filter(|x| *x == from)
                .for_each(|x| *x = to.to_string());
            c.definition = replace_ident(&c.definition, from, to);
        }
    }
    // Children carry the column too (its settings under its name).
    let children: Vec<QName> = m
        .tables
        .values()
        .filter(|t| descends_from(m, t, table))
        .map(|t| t.name.clone())
        .collect();
    for child in children {
        if let Some(t) = m.tables.get_mut(&child)
            && let Some(s) = t.inherited_column_settings.remove(from)
        {
            t.inherited_column_settings.insert(to.to_string(), s);
        }
    }
    let ts = table.sql();
    for t in m.tables.values_mut() {
        for c in t.constraints.values_mut() {
            if c.references.as_ref() == Some(table)
                && let Some((head, tail)) = c.definition.split_once(&format!("REFERENCES {ts}("))
            {
                c.definition = format!("{head}REFERENCES {ts}({}", replace_ident(tail, from, to));
            }
        }
    }
    for i in m.indexes.values_mut().filter(|i| &i.table == table) {
        i.columns
            .iter_mut()
            .filter(|x| *x == from)
            .for_each(|x| *x = to.to_string());
        i.definition = replace_ident(&i.definition, from, to);
    }
    for s in m.sequences.values_mut() {
        if let Some((o, c)) = &mut s.owned_by
            && o == table
            && c == from
        {
            *c = to.to_string();
        }
    }
    for v in m.views.values_mut() {
        for d in &mut v.depends_on {
            if let Dep::Column { table: t, column } = d
                && t == table
                && column == from
            {
                *column = to.to_string();
            }
        }
    }
    let key = format!("COLUMN {ts}.{}", quote_ident(from));
    if let Some(v) = m.privileges.remove(&key) {
        m.privileges
            .insert(format!("COLUMN {ts}.{}", quote_ident(to)), v);
    }
}

/// Notes about drop + add pairs of the same shape that no hint explains.
pub fn possible_renames(live: &Model, desired: &Model) -> Vec<String> {
    let mut notes = Vec::new();
    // Each table's shape once (not once per pair: thousands of tables can be
    // dropped and added in one plan).
    fn shape(t: &Table) -> Vec<(&str, &str)> {
        let mut v: Vec<(&str, &str)> = t
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.data_type.as_str()))
            .collect();
        v.sort();
        v
    }
    let dropped: Vec<(&Table, Vec<(&str, &str)>)> = live
        .tables
        .values()
        .filter(|t| !desired.tables.contains_key(&t.name) && !t.columns.is_empty())
        .map(|t| (t, shape(t)))
        .collect();
    let added: Vec<(&Table, Vec<(&str, &str)>)> = desired
        .tables
        .values()
        .filter(|t| !live.tables.contains_key(&t.name))
        .map(|t| (t, shape(t)))
        .collect();
    for (d, d_shape) in &dropped {
        for (a, _) in added.iter().filter(|(_, a_shape)| a_shape == d_shape) {
            notes.push(format!(
                "possible rename: table {} is dropped and {} (same columns) created; if it is a rename, put `-- pgalign:renamed-from {}` on the line before `CREATE TABLE {}` in the desired SQL to keep its rows",
                d.name, a.name, d.name, a.name
            ));
        }
    }
    for (name, want) in &desired.tables {
        let Some(have) = live.tables.get(name) else {
            continue;
        };
        let same_names = have.columns.len() == want.columns.len()
            && have
                .columns
                .iter()
                .zip(&want.columns)
                .all(|(h, w)| h.name == w.name);
        if same_names {
            continue; // the common case, decided without a search per column
        }
        let gone: Vec<&Column> = have
            .columns
            .iter()
            .filter(|c| want.column(&c.name).is_none())
            .collect();
        let new: Vec<&Column> = want
            .columns
            .iter()
            .filter(|c| have.column(&c.name).is_none())
            .collect();
        for g in &gone {
            for n in new.iter().filter(|n| n.data_type == g.data_type) {
                notes.push(format!(
                    "possible rename: column {name}.{} is dropped and {name}.{} ({}) added; if it is a rename, put `-- pgalign:renamed-from {name}.{}` on the line before the column's definition in the desired SQL to keep its values",
                    g.name, n.name, n.data_type, g.name
                ));
            }
        }
    }
    for (name, want) in &desired.enums {
        let Some(have) = live.enums.get(name) else {
            continue;
        };
        let gone = have.labels.iter().filter(|l| !want.labels.contains(l));
        for g in gone {
            let at = have.labels.iter().position(|l| l == g);
            // The same place in the list: the neighbours before it are kept.
            let new = want.labels.iter().enumerate().find(|(i, l)| {
                !have.labels.contains(l) && Some(*i) == at && have.labels[..*i] == want.labels[..*i]
            });
            if let Some((_, n)) = new {
                notes.push(format!(
                    "possible rename: value {} of {name} is dropped and {} added in its place; if it is a rename, put `-- pgalign:renamed-from {}` on the line before {} in the desired CREATE TYPE to keep the rows that hold it",
                    quote_literal(g), quote_literal(n), quote_literal(g), quote_literal(n)
                ));
            }
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_replaced_as_whole_tokens_outside_strings() {
        assert_eq!(
            replace_ident("CHECK ((mail <> 'mail'::text))", "mail", "email"),
            "CHECK ((email <> 'mail'::text))"
        );
        assert_eq!(
            replace_ident("UNIQUE (mail, mailbox)", "mail", "email"),
            "UNIQUE (email, mailbox)"
        );
        assert_eq!(
            replace_ident("UNIQUE (\"Mail\")", "Mail", "e mail"),
            "UNIQUE (\"e mail\")"
        );
    }
}
