//! `view(&app, frame)`: the header, the step bar, the current screen, the
//! message line, the hint bar, and the help and quit overlays.

use super::app::App;
use super::commands;
use super::screens;
use crate::hazard::Severity;
use crate::session::Step;
use crate::strings;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

/// Styles that carry meaning also carry a glyph and a word; with colour off
/// (`NO_COLOR`) they fall back to plain text plus bold where it helps.
pub struct Palette {
    pub color: bool,
}

impl Palette {
    pub fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }
    pub fn ok(&self) -> Style {
        self.fg(Color::Green).add_modifier(Modifier::BOLD)
    }
    pub fn bad(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    pub fn dim(&self) -> Style {
        self.fg(Color::DarkGray)
    }
    pub fn accent(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
    pub fn severity(&self, s: Severity) -> Style {
        match s {
            Severity::Info => self.fg(Color::Blue),
            Severity::Warning => self.fg(Color::Yellow),
            Severity::Danger | Severity::Blocker => self.bad(),
        }
    }
    pub fn focus(&self, focused: bool) -> Style {
        if focused {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default()
        }
    }
}

pub fn palette(app: &App) -> Palette {
    Palette { color: app.color }
}

pub fn spinner(app: &App) -> &'static str {
    strings::SPINNER[app.tick % strings::SPINNER.len()]
}

pub fn view(app: &App, f: &mut Frame) {
    let [header, steps, body, message, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(f.area());
    let p = palette(app);
    f.render_widget(header_line(app, &p), header);
    f.render_widget(step_bar(app, &p), steps);
    screens::render(app, f, body);
    if let Some(e) = &app.error {
        f.render_widget(
            Line::from(vec![
                Span::styled(format!("{} ", strings::GLYPH_FAIL), p.bad()),
                Span::raw(e.clone()),
            ]),
            message,
        );
    } else if let Some(n) = &app.notice {
        f.render_widget(Line::raw(format!("{} {n}", strings::GLYPH_WARN)), message);
    }
    f.render_widget(hint_bar(app, &p), hints);
    if app.help {
        help_overlay(app, f, &p);
    }
    if app.quit_prompt {
        quit_dialog(f, &p);
    }
}

fn header_line(app: &App, p: &Palette) -> Line<'static> {
    let w = &app.wizard;
    let mut spans = vec![Span::styled(strings::TITLE, p.accent()), Span::raw("  ")];
    if w.config.mode == crate::journal::Mode::Practice {
        spans.push(Span::styled(
            format!("[{}]", strings::PRACTICE_BADGE),
            p.fg(Color::Magenta),
        ));
        spans.push(Span::raw("  "));
    }
    spans.push(Span::raw(format!("target {}", w.config.target)));
    Line::from(spans)
}

fn step_bar(app: &App, p: &Palette) -> Line<'static> {
    let cur = app.wizard.step;
    let mut spans = Vec::new();
    for (i, s) in Step::ALL.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" › ", p.dim()));
        }
        let (glyph, style) = if *s < cur {
            (strings::GLYPH_OK, p.ok())
        } else if *s == cur {
            (
                strings::GLYPH_RUNNING,
                p.accent().add_modifier(Modifier::UNDERLINED),
            )
        } else {
            (strings::GLYPH_PENDING, p.dim())
        };
        spans.push(Span::styled(format!("{glyph} {}", s.title()), style));
    }
    Line::from(spans)
}

fn hint_bar(app: &App, p: &Palette) -> Line<'static> {
    let mut spans = Vec::new();
    for c in commands::active(app).iter().filter(|c| c.hint) {
        spans.push(Span::styled(c.label, p.accent()));
        spans.push(Span::raw(format!(" {}  ", c.what)));
    }
    spans.push(Span::styled(commands::CTRL_C.0, p.accent()));
    spans.push(Span::raw(" exit"));
    Line::from(spans)
}

/// A rectangle of at most `w`×`h` centred in `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn help_overlay(app: &App, f: &mut Frame, p: &Palette) {
    let mut lines: Vec<Line> = commands::active(app)
        .iter()
        .map(|c| {
            Line::from(vec![
                Span::styled(format!("{:>10}  ", c.label), p.accent()),
                Span::raw(c.what),
            ])
        })
        .collect();
    lines.push(Line::from(vec![
        Span::styled(format!("{:>10}  ", commands::CTRL_C.0), p.accent()),
        Span::raw(commands::CTRL_C.1),
    ]));
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "Destructive actions never sit on one key: they need a typed name.",
        p.dim(),
    ));
    let area = centered(f.area(), 76, lines.len() as u16 + 2);
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(format!(
            " {} — {} ",
            strings::HELP_TITLE,
            app.wizard.step.title()
        ))),
        area,
    );
}

fn quit_dialog(f: &mut Frame, p: &Palette) {
    let area = centered(f.area(), 60, 5);
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(strings::QUIT_BODY)
            .wrap(Wrap { trim: true })
            .block(
                Block::bordered()
                    .title(Span::styled(format!(" {} ", strings::QUIT_TITLE), p.bad())),
            ),
        area,
    );
}
