//! The one escaping function for names shown to people (DESIGN.md §6): a
//! table named `t\n0 differences\x1b[2K` must not print a fake line or move the
//! cursor. Only what pgalign *shows* is escaped; plan SQL keeps its bytes (SQL
//! quoting already carries any character, and the executed bytes are the
//! reviewed bytes).

use std::borrow::Cow;

/// True for characters that change how a terminal or a text view lays out
/// text: C0 controls (tab and newline included), DEL, C1 controls, the line
/// and paragraph separators U+2028/U+2029, and the bidirectional controls
/// (U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069) that reorder what follows.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}'
                | '\u{2029}'
                | '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// `s` with every [`is_unsafe_char`] shown as an escape: `\n`, `\r`, `\t`,
/// `\x1b` (other C0, DEL and C1 controls as `\xNN`), `\u{202e}` for the rest.
/// Borrowed when there is nothing to escape.
pub fn escape_control(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !is_unsafe_char(c) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    Cow::Owned(out)
}

/// A line of code for a text view (the Review screen's plan): tabs become
/// four spaces (a terminal cell has no width for a tab), every other
/// [`is_unsafe_char`] is escaped as by [`escape_control`].
pub fn escape_code(s: &str) -> Cow<'_, str> {
    if !s.contains('\t') {
        return escape_control(s);
    }
    Cow::Owned(escape_control(&s.replace('\t', "    ")).into_owned())
}

/// A line for the terminal or a report: redacted ([`super::redact`]), then
/// escaped ([`escape_control`]). For one-line messages (errors, summaries) in
/// which no newline is meant.
pub fn printable(s: &str) -> String {
    escape_control(&super::redact::redact(s)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_reordering_characters_are_escaped() {
        assert_eq!(
            escape_control("public.\"t\n0 differences\x1b[2K\""),
            "public.\"t\\n0 differences\\x1b[2K\""
        );
        assert_eq!(
            escape_control("a\rb\tc\x07d\x7fe\u{85}f"),
            "a\\rb\\tc\\x07d\\x7fe\\x85f"
        );
        assert_eq!(
            escape_control("x\u{2028}y\u{2029}z\u{202e}evil\u{2066}\u{200f}"),
            "x\\u{2028}y\\u{2029}z\\u{202e}evil\\u{2066}\\u{200f}"
        );
        assert_eq!(escape_control("\u{9b}31m"), "\\x9b31m");
        assert_eq!(escape_control("\0"), "\\x00");
    }

    #[test]
    fn ordinary_names_are_borrowed_unchanged() {
        for s in ["public.orders", "\"My Schema\".\"Ünïcødé 表\"", "a\\nb", ""] {
            assert!(matches!(escape_control(s), Cow::Borrowed(_)), "{s}");
            assert_eq!(escape_control(s), s);
        }
    }

    #[test]
    fn printable_redacts_then_escapes() {
        assert_eq!(
            printable("connecting to postgres://u:pw@h/db\n0 differences"),
            "connecting to postgres://u@h/db\\n0 differences"
        );
    }
}
