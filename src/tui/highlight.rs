//! SQL highlighting with syntect, loaded once, applied only to the lines on
//! screen, cached per line.
//!
//! A plan is a sequence of complete statements, each introduced by a
//! `-- pgalign:` marker at top level, so highlighting can restart from a fresh
//! parser state at the nearest marker above the first visible line instead of
//! from the top of a 100,000-line file.
//!
//! What is shown is escaped ([`escape_code`]): an identifier holding ESC or CR
//! cannot reach the terminal; the plan's bytes are not changed.

use crate::util::escape::escape_code;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;
use syntect::easy::HighlightLines;
use syntect::highlighting::{Theme, ThemeSet};
use syntect::parsing::SyntaxSet;

struct Assets {
    syntaxes: SyntaxSet,
    theme: Theme,
}

fn assets() -> &'static Assets {
    static ASSETS: OnceLock<Assets> = OnceLock::new();
    ASSETS.get_or_init(|| {
        let mut themes = ThemeSet::load_defaults();
        let theme = themes
            .themes
            .remove("base16-ocean.dark")
            .or_else(|| themes.themes.into_values().next())
            .unwrap_or_default();
        Assets {
            syntaxes: SyntaxSet::load_defaults_newlines(),
            theme,
        }
    })
}

/// Most lines kept in the cache before it is cleared.
const CACHE_LINES: usize = 20_000;
/// How far back to look for a restart point before giving up and restarting
/// at the first visible line (a statement longer than this is rare).
const MAX_LOOKBACK: usize = 2_000;

type Spans = Vec<(Style, String)>;

/// Highlights lines of one plan on demand.
#[derive(Default)]
pub struct Highlighter {
    cache: RefCell<HashMap<usize, Spans>>,
}

fn restart_point(line: &str) -> bool {
    line.starts_with("-- pgalign:") || line.starts_with("-- end of header")
}

impl Highlighter {
    /// Styled lines `range` of `lines`; plain lines when `color` is false.
    pub fn lines(
        &self,
        lines: &[String],
        range: std::ops::Range<usize>,
        color: bool,
    ) -> Vec<Line<'static>> {
        let end = range.end.min(lines.len());
        let start = range.start.min(end);
        if !color {
            return lines[start..end]
                .iter()
                .map(|l| Line::raw(escape_code(l).into_owned()))
                .collect();
        }
        let missing = (start..end).any(|i| !self.cache.borrow().contains_key(&i));
        if missing {
            self.fill(lines, start, end);
        }
        let cache = self.cache.borrow();
        (start..end)
            .map(|i| match cache.get(&i) {
                Some(spans) => Line::from(
                    spans
                        .iter()
                        .map(|(st, text)| Span::styled(text.clone(), *st))
                        .collect::<Vec<_>>(),
                ),
                None => Line::raw(escape_code(&lines[i]).into_owned()),
            })
            .collect()
    }

    fn fill(&self, lines: &[String], start: usize, end: usize) {
        let a = assets();
        let syntax = a
            .syntaxes
            .find_syntax_by_extension("sql")
            .unwrap_or_else(|| a.syntaxes.find_syntax_plain_text());
        let floor = start.saturating_sub(MAX_LOOKBACK);
        let from = (floor..=start)
            .rev()
            .find(|&i| restart_point(&lines[i]))
            .unwrap_or(floor);
        let mut h = HighlightLines::new(syntax, &a.theme);
        let mut cache = self.cache.borrow_mut();
        if cache.len() > CACHE_LINES {
            cache.clear();
        }
        for (i, line) in lines.iter().enumerate().take(end).skip(from) {
            let with_nl = format!("{line}\n");
            let spans = match h.highlight_line(&with_nl, &a.syntaxes) {
                Ok(regions) => regions
                    .into_iter()
                    .map(|(st, text)| {
                        let fg = st.foreground;
                        (
                            Style::default().fg(Color::Rgb(fg.r, fg.g, fg.b)),
                            escape_code(text.trim_end_matches('\n')).into_owned(),
                        )
                    })
                    .filter(|(_, t)| !t.is_empty())
                    .collect(),
                Err(_) => vec![(Style::default(), escape_code(line).into_owned())],
            };
            if i >= start {
                cache.insert(i, spans);
            }
        }
    }

    /// Number of cached lines (for tests and benchmarks).
    pub fn cached(&self) -> usize {
        self.cache.borrow().len()
    }
}
