//! Stopping the loading of a desired schema from outside: when the live side
//! of a diff fails (wrong password, no such database), the other side's
//! `cmd:` source and psql are killed and its shadow database dropped at once,
//! instead of the error waiting for a load that can take a minute.

use anyhow::{Result, bail};
use std::process::{Child, Output};
use std::time::Duration;
use tokio::sync::watch;

/// The cancelling end, held by whoever races the two sides.
pub struct Stop(watch::Sender<bool>);

impl Stop {
    pub fn cancel(&self) {
        let _ = self.0.send(true);
    }
}

/// The observing end, handed to the work that can be cancelled.
#[derive(Debug, Clone)]
pub struct Cancel(watch::Receiver<bool>);

/// A connected pair: [`Stop::cancel`] makes every clone of the [`Cancel`] fire.
pub fn pair() -> (Stop, Cancel) {
    let (tx, rx) = watch::channel(false);
    (Stop(tx), Cancel(rx))
}

impl Cancel {
    /// A `Cancel` that never fires.
    pub fn never() -> Cancel {
        pair().1
    }

    pub fn is_cancelled(&self) -> bool {
        *self.0.borrow()
    }

    /// Completes once cancelled (never, for [`Cancel::never`]).
    pub async fn cancelled(&self) {
        let mut rx = self.0.clone();
        if rx.wait_for(|c| *c).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// An error when cancelled, for the checks between steps.
    pub fn check(&self) -> Result<()> {
        if self.is_cancelled() {
            bail!("stopped: the other side of the comparison failed");
        }
        Ok(())
    }
}

/// Waits for `child` like `wait_with_output`, but kills it and every process
/// it started (a `cmd:` source's shell has children) once `cancel` fires.
pub fn wait_or_kill(mut child: Child, cancel: &Cancel) -> Result<Output> {
    use std::io::Read;
    fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    }
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Output {
                status,
                stdout: out.join().unwrap_or_default(),
                stderr: err.join().unwrap_or_default(),
            });
        }
        if cancel.is_cancelled() {
            kill_tree(child.id());
            let _ = child.wait();
            // The readers end when the last writer is gone; nobody waits for them.
            cancel.check()?;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SIGKILLs `pid` and all its descendants (found through `/proc`). The tree is
/// frozen first: every process found is sent SIGSTOP and `/proc` is read again
/// until no new descendant appears, so a shell that forks while it is being
/// collected cannot leave a reparented child running (seen under load: a
/// `sleep` forked between the read and the kill kept the pipes open for a
/// minute). Then all of them are killed.
fn kill_tree(pid: u32) {
    let mut tree = vec![pid];
    signal(pid, libc::SIGSTOP);
    loop {
        let parents = process_parents();
        let mut grew = false;
        let mut i = 0;
        while i < tree.len() {
            let parent = tree[i];
            for (p, _) in parents.iter().filter(|(_, pp)| *pp == parent) {
                if !tree.contains(p) {
                    signal(*p, libc::SIGSTOP);
                    tree.push(*p);
                    grew = true;
                }
            }
            i += 1;
        }
        if !grew {
            break;
        }
    }
    for p in tree {
        signal(p, libc::SIGKILL);
    }
}

/// `(pid, ppid)` of every process in `/proc`.
fn process_parents() -> Vec<(u32, u32)> {
    std::fs::read_dir("/proc")
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
                .filter_map(|p| {
                    let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
                    // `pid (comm) state ppid …`; comm may hold spaces and parentheses.
                    let ppid = stat.rsplit_once(')')?.1.split_whitespace().nth(1)?;
                    Some((p, ppid.parse().ok()?))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn signal(pid: u32, sig: libc::c_int) {
    crate::sys::signal(pid as libc::pid_t, sig);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    /// `(pid, state)` of the children of `parent`.
    fn children(parent: u32) -> Vec<(u32, char)> {
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| {
                let e = e.ok()?;
                let pid: u32 = e.file_name().to_str()?.parse().ok()?;
                let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
                let mut rest = stat.rsplit_once(')')?.1.split_whitespace();
                let state = rest.next()?.chars().next()?;
                (rest.next()? == parent.to_string()).then_some((pid, state))
            })
            .collect()
    }

    fn alive(pid: u32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            s.rsplit_once(')')
                .and_then(|(_, r)| r.split_whitespace().next())
                .is_some_and(|state| state != "Z" && state != "X")
        })
    }

    #[test]
    fn a_cancelled_wait_kills_the_shell_and_its_children() {
        let (stop, cancel) = pair();
        let child = Command::new("sh")
            .args(["-c", "sleep 30; echo late"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let shell = child.id();
        let started = std::time::Instant::now();
        let waiter = std::thread::spawn(move || wait_or_kill(child, &cancel));
        let mut sleep = Vec::new();
        while sleep.is_empty() && started.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(20));
            sleep = children(shell);
        }
        assert_eq!(sleep.len(), 1, "the shell started sleep");
        stop.cancel();
        let err = waiter.join().unwrap().unwrap_err().to_string();
        assert!(err.contains("stopped"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(100));
        assert!(!alive(sleep[0].0), "the shell's sleep was killed too");
        assert!(!alive(shell));
    }

    #[test]
    fn an_uncancelled_wait_returns_the_output() {
        let child = Command::new("sh")
            .args(["-c", "echo out; echo err >&2; exit 3"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = wait_or_kill(child, &Cancel::never()).unwrap();
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(out.stdout, b"out\n");
        assert_eq!(out.stderr, b"err\n");
    }
}
