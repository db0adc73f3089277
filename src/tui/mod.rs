//! The ratatui wizard: a view over the session; never talks to the database
//! itself and never blocks the render loop. Keys and task results arrive as
//! messages on one channel; `update` turns them into state and effects; slow
//! effects run in tokio tasks whose results come back as messages.

pub mod app;
pub mod commands;
mod handlers;
pub mod highlight;
pub mod plan_view;
pub mod screens;
pub mod view;

use crate::exit::Exit;
use crate::session::{Wizard, tasks};
use anyhow::{Context, Result};
use app::{App, Effect, Msg};
use ratatui::crossterm::event::{self, Event as TermEvent, KeyEventKind};
use std::time::Duration;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

/// Colour unless `NO_COLOR` is set or the terminal is dumb.
pub fn color_enabled() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var("TERM").map(|t| t != "dumb").unwrap_or(true)
}

/// Restores the terminal before the default panic message is printed, and
/// stops throwaway clusters, so a panic never leaves a raw terminal behind.
fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        ratatui::restore();
        crate::db::cluster::cleanup_all();
        previous(info);
    }));
}

/// Runs the wizard until it ends; returns the exit code and the session.
pub async fn run(wizard: Wizard) -> Result<(Exit, App)> {
    install_panic_hook();
    let mut terminal = ratatui::try_init().context("opening the terminal for the wizard")?;
    let mut app = App::new(wizard, color_enabled());
    let result = event_loop(&mut terminal, &mut app).await;
    ratatui::restore();
    result.map(|code| (code, app))
}

async fn event_loop(terminal: &mut ratatui::DefaultTerminal, app: &mut App) -> Result<Exit> {
    let draw = |t: &mut ratatui::DefaultTerminal, app: &App| -> Result<()> {
        t.draw(|f| view::view(app, f))
            .context("drawing the wizard")?;
        Ok(())
    };
    // The first frame goes out before any slow work starts.
    draw(terminal, app)?;
    let (tx, mut rx) = unbounded_channel::<Msg>();
    spawn_input(tx.clone());
    spawn_ticker(tx.clone());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("listening for SIGTERM")?;
    let init = app.init();
    for e in init {
        run_effect(app, e, &tx).await;
    }
    loop {
        let msg = tokio::select! {
            m = rx.recv() => m,
            _ = term.recv() => Some(Msg::Key(event::KeyEvent::new(
                event::KeyCode::Char('c'),
                event::KeyModifiers::CONTROL,
            ))),
        };
        let Some(msg) = msg else { break };
        let skip_draw = matches!(msg, Msg::Tick) && !app.busy && !app.wizard.apply.running();
        for e in app.update(msg) {
            run_effect(app, e, &tx).await;
        }
        if let Some(code) = app.exit {
            return Ok(code);
        }
        if !skip_draw {
            draw(terminal, app)?;
        }
    }
    Ok(Exit::Aborted)
}

/// Reads terminal events on a thread of its own (crossterm's reader blocks).
fn spawn_input(tx: UnboundedSender<Msg>) {
    std::thread::spawn(move || {
        loop {
            if tx.is_closed() {
                break;
            }
            match event::poll(Duration::from_millis(200)) {
                Ok(true) => match event::read() {
                    Ok(TermEvent::Key(k)) if k.kind != KeyEventKind::Release => {
                        let _ = tx.send(Msg::Key(k));
                    }
                    Ok(TermEvent::Resize(..)) => {
                        let _ = tx.send(Msg::Redraw);
                    }
                    Ok(_) => {}
                    Err(_) => break,
                },
                Ok(false) => {}
                Err(_) => break,
            }
        }
    });
}

fn spawn_ticker(tx: UnboundedSender<Msg>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_millis(150));
        loop {
            every.tick().await;
            if tx.send(Msg::Tick).is_err() {
                break;
            }
        }
    });
}

fn err(e: anyhow::Error) -> String {
    format!("{e:#}")
}

async fn run_effect(app: &mut App, effect: Effect, tx: &UnboundedSender<Msg>) {
    let config = app.wizard.config.clone();
    let tx = tx.clone();
    match effect {
        Effect::Preflight => {
            tokio::spawn(async move {
                let _ = tx.send(Msg::Preflight(
                    tasks::gather_preflight(&config).await.map_err(err),
                ));
            });
        }
        Effect::Backup => {
            tokio::spawn(async move {
                let _ = tx.send(Msg::Backup(tasks::backup(&config).await.map_err(err)));
            });
        }
        Effect::Diff => {
            tokio::spawn(async move {
                let _ = tx.send(Msg::Plan(tasks::generate_plan(&config).await.map_err(err)));
            });
        }
        Effect::Verify => {
            let checks = app.wizard.post_checks.clone();
            tokio::spawn(async move {
                let verified = tasks::verify(&config).await.map_err(err);
                let ok = verified.is_ok();
                let _ = tx.send(Msg::Verify(verified));
                // After the re-diff, the team's own checks.
                if ok && !checks.is_empty() {
                    let results = crate::postcheck::run_all(&checks, &config.target).await;
                    let _ = tx.send(Msg::PostChecks(results));
                }
            });
        }
        Effect::Apply(opts) => {
            let Some(plan) = app.wizard.plan.as_ref().map(|p| p.file.clone()) else {
                return;
            };
            let journal = app.wizard.journal_path();
            let resume = app
                .wizard
                .resume
                .is_some()
                .then(|| app.wizard.plan.as_ref().map(|p| p.path.clone()))
                .flatten();
            tokio::spawn(async move {
                let (ev_tx, mut ev_rx) = unbounded_channel();
                // A resumed session continues the interrupted run instead.
                let run = async move {
                    match resume {
                        Some(path) => tasks::resume_apply(config, journal, path, opts, ev_tx).await,
                        None => tasks::run_apply(config, journal, plan, opts, ev_tx).await,
                    }
                };
                tokio::pin!(run);
                // Events are forwarded in order, and all of them before the result.
                let result = loop {
                    tokio::select! {
                        r = &mut run => break r,
                        Some(e) = ev_rx.recv() => { let _ = tx.send(Msg::Apply(e)); }
                    }
                };
                while let Ok(e) = ev_rx.try_recv() {
                    let _ = tx.send(Msg::Apply(e));
                }
                let _ = tx.send(Msg::ApplyDone(result));
            });
        }
        Effect::CancelOnServer => {
            let Some(handle) = app.cancel.clone() else {
                return;
            };
            let cancel = async move { handle.cancel().await };
            if app.exit.is_some() {
                // Leaving: make sure the cancel reached the server first.
                let _ = tokio::time::timeout(Duration::from_secs(3), cancel).await;
            } else {
                tokio::spawn(cancel);
            }
        }
        Effect::Exit(_) => {}
    }
}
