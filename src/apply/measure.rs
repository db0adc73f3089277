//! Measuring each statement as it runs (`ApplyOptions::measure`, used by
//! `rehearse`): the table locks it took, per relation and mode; whether it
//! rewrote a table (`pg_relation_filenode` before and after); the WAL written
//! (`pg_current_wal_insert_lsn()` delta); and how long its strongest lock was held.
//!
//! - In a transaction group the own backend's `pg_locks` is read at the end of
//!   the statement, inside the transaction: a lock shows there until COMMIT, so
//!   the locks of a statement are those that appeared since the statement
//!   before it in the group (a lock an earlier statement of the group already
//!   held is listed by that statement), and the strongest one is held from the
//!   statement's start to the group's COMMIT.
//! - A statement that runs alone (`CREATE INDEX CONCURRENTLY` …) releases its
//!   locks when it returns: a second connection samples `pg_locks` of our
//!   backend and `pg_stat_progress_create_index` every few milliseconds while it
//!   runs; the hold time is from the first to the last sighting.
//!
//! Only tables, partitioned tables, materialized views and views that existed
//! before the statement count: a relation the statement itself creates is
//! invisible to other sessions until it commits. The WAL figure is the
//! server's insert position, so it includes what other sessions wrote meanwhile.
//! A measurement query that fails leaves the figure out; it never fails the run.

use super::run::Runner;
use crate::db::{ConnSettings, connect};
use crate::hazard::locks::LockMode;
use crate::plan::Step;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};
use tokio_postgres::Client;

/// How often the second connection samples a statement that runs alone.
const SAMPLE_EVERY: Duration = Duration::from_millis(5);

/// One lock a statement took on a relation that existed before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TakenLock {
    /// `schema.name`, as the catalog spells it.
    pub relation: String,
    #[serde(serialize_with = "mode_name")]
    pub mode: LockMode,
}

/// `"ACCESS EXCLUSIVE"`, as the documentation names the mode.
fn mode_name<S: serde::Serializer>(m: &LockMode, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(m)
}

/// What one statement did, as the server showed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Measured {
    pub step: usize,
    /// Strongest first.
    pub locks: Vec<TakenLock>,
    /// Tables whose `pg_relation_filenode` changed.
    pub rewritten: Vec<String>,
    /// `None` when the WAL position could not be read.
    pub wal_bytes: Option<u64>,
    /// The strongest lock and how long it was held (see the module's notes).
    pub strongest: Option<TakenLock>,
    #[serde(serialize_with = "millis")]
    pub held: Duration,
    /// `true` when the locks were sampled by a second connection (the
    /// statement ran outside a transaction block).
    pub sampled: bool,
    /// The last phase of `pg_stat_progress_create_index` seen, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<String>,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

#[derive(Debug, Clone)]
struct Rel {
    name: String,
    filenode: Option<u32>,
}

/// The measuring state of a run.
#[derive(Default)]
pub(crate) struct Measure {
    /// oid → name and filenode, as last seen; `None` until first loaded and
    /// after a rollback (which restores older filenodes).
    rels: Option<HashMap<u32, Rel>>,
    /// (oid, mode) held by the open transaction after the last statement.
    group_locks: BTreeSet<(u32, LockMode)>,
    /// Steps of the open group with their start, for the hold time at COMMIT.
    group_started: Vec<(usize, Instant)>,
}

/// Taken just before a statement.
pub(crate) struct Before {
    lsn: Option<String>,
    at: Instant,
    sampler: Option<Sampler>,
}

const RELS: &str = "SELECT c.oid, n.nspname, c.relname, pg_relation_filenode(c.oid)
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'm', 'v')
       AND n.nspname NOT IN ('pg_catalog', 'information_schema')
       AND n.nspname NOT LIKE 'pg\\_toast%'";

const OWN_LOCKS: &str =
    "SELECT l.relation, l.mode, n.nspname, c.relname, pg_relation_filenode(c.oid)
      FROM pg_catalog.pg_locks l
      LEFT JOIN pg_catalog.pg_class c ON c.oid = l.relation
      LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.granted
       AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
       AND (c.oid IS NULL OR (c.relkind IN ('r', 'p', 'm', 'v')
            AND n.nspname NOT IN ('pg_catalog', 'information_schema')))";

const FILENODES: &str =
    "SELECT c.oid, pg_relation_filenode(c.oid) FROM pg_catalog.pg_class c WHERE c.oid = ANY($1)";

async fn lsn(client: &Client) -> Option<String> {
    client
        .query_one("SELECT pg_current_wal_insert_lsn()::text", &[])
        .await
        .ok()
        .map(|r| r.get(0))
}

async fn wal_since(client: &Client, from: &Option<String>) -> Option<u64> {
    let from = from.as_ref()?;
    let row = client
        .query_one(
            "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1::text::pg_lsn)::bigint",
            &[from],
        )
        .await
        .ok()?;
    Some(row.get::<_, i64>(0).max(0) as u64)
}

async fn load_rels(client: &Client) -> Option<HashMap<u32, Rel>> {
    let rows = client.query(RELS, &[]).await.ok()?;
    Some(
        rows.iter()
            .map(|r| {
                let oid: u32 = r.get(0);
                let name = format!("{}.{}", r.get::<_, String>(1), r.get::<_, String>(2));
                let filenode: Option<u32> = r.get(3);
                (oid, Rel { name, filenode })
            })
            .collect(),
    )
}

fn sort_locks(locks: &mut Vec<TakenLock>) {
    locks.sort_by(|a, b| b.mode.cmp(&a.mode).then(a.relation.cmp(&b.relation)));
    locks.dedup();
}

impl Runner<'_> {
    /// A transaction group begins: no lock is held yet.
    pub(crate) fn measure_group_begun(&mut self) {
        if let Some(m) = self.measure.as_mut() {
            m.group_locks.clear();
            m.group_started.clear();
        }
    }

    /// Just before `step` runs; `alone` when it runs outside a transaction block.
    pub(crate) async fn measure_before(&mut self, alone: bool) -> Option<Before> {
        let m = self.measure.as_mut()?;
        if m.rels.is_none() {
            m.rels = load_rels(&self.client).await;
        }
        let sampler = if alone {
            Sampler::start(&self.target, self.pid).await
        } else {
            None
        };
        Some(Before {
            lsn: lsn(&self.client).await,
            at: Instant::now(),
            sampler,
        })
    }

    /// Just after `step` returned successfully.
    pub(crate) async fn measure_after(&mut self, step: &Step, before: Option<Before>) {
        let Some(before) = before else { return };
        let Some(m) = self.measure.as_mut() else {
            return;
        };
        let wal_bytes = wal_since(&self.client, &before.lsn).await;
        let elapsed = before.at.elapsed();
        let mut rels = m.rels.take().unwrap_or_default();
        let measured = match before.sampler {
            Some(sampler) => {
                let seen = sampler.stop().await;
                // Locks are gone; the filenodes of what it locked tell the rewrites.
                let oids: Vec<u32> = seen.locks.keys().map(|(oid, _)| *oid).collect();
                let now: HashMap<u32, Option<u32>> =
                    match self.client.query(FILENODES, &[&oids]).await {
                        Ok(rows) => rows.iter().map(|r| (r.get(0), r.get(1))).collect(),
                        Err(_) => HashMap::new(),
                    };
                let mut locks = Vec::new();
                let mut rewritten = BTreeSet::new();
                let mut strongest: Option<(TakenLock, Duration)> = None;
                for (&(oid, mode), &(first, last)) in &seen.locks {
                    let Some(rel) = rels.get_mut(&oid) else {
                        continue;
                    };
                    let lock = TakenLock {
                        relation: rel.name.clone(),
                        mode,
                    };
                    let held = last.duration_since(first) + SAMPLE_EVERY;
                    if strongest.as_ref().is_none_or(|(s, _)| mode > s.mode) {
                        strongest = Some((lock.clone(), held.min(elapsed)));
                    }
                    locks.push(lock);
                    if let Some(&fnode) = now.get(&oid) {
                        if fnode.is_some() && rel.filenode.is_some() && fnode != rel.filenode {
                            rewritten.insert(rel.name.clone());
                        }
                        rel.filenode = fnode;
                    }
                }
                sort_locks(&mut locks);
                Measured {
                    step: step.number,
                    locks,
                    rewritten: rewritten.into_iter().collect(),
                    wal_bytes,
                    held: strongest.as_ref().map(|(_, h)| *h).unwrap_or_default(),
                    strongest: strongest.map(|(l, _)| l),
                    sampled: true,
                    progress: seen.phase,
                }
            }
            None => {
                let rows = self.client.query(OWN_LOCKS, &[]).await.unwrap_or_default();
                let mut held_now = BTreeSet::new();
                let mut locks = Vec::new();
                let mut rewritten = BTreeSet::new();
                for r in &rows {
                    let oid: u32 = r.get(0);
                    let Some(mode) = LockMode::from_pg_name(r.get::<_, &str>(1)) else {
                        continue;
                    };
                    held_now.insert((oid, mode));
                    let Some(rel) = rels.get_mut(&oid) else {
                        // Created by this group: nobody else can see it yet.
                        continue;
                    };
                    let filenode: Option<u32> = r.get(4);
                    // A row without a class is a relation dropped in this
                    // transaction: its lock counts, its filenode does not.
                    if r.get::<_, Option<String>>(3).is_some() {
                        if filenode.is_some() && rel.filenode.is_some() && filenode != rel.filenode
                        {
                            rewritten.insert(rel.name.clone());
                        }
                        rel.filenode = filenode;
                    }
                    if !m.group_locks.contains(&(oid, mode)) {
                        locks.push(TakenLock {
                            relation: rel.name.clone(),
                            mode,
                        });
                    }
                }
                m.group_locks = held_now;
                m.group_started.push((step.number, before.at));
                sort_locks(&mut locks);
                Measured {
                    step: step.number,
                    strongest: locks.first().cloned(),
                    locks,
                    rewritten: rewritten.into_iter().collect(),
                    wal_bytes,
                    // Until COMMIT, set then; this is the least it was held.
                    held: elapsed,
                    sampled: false,
                    progress: None,
                }
            }
        };
        m.rels = Some(rels);
        self.outcome.measured.push(measured);
    }

    /// The group committed: its statements' locks were held until now.
    pub(crate) fn measure_committed(&mut self) {
        let Some(m) = self.measure.as_mut() else {
            return;
        };
        let now = Instant::now();
        for (step, at) in m.group_started.drain(..) {
            if let Some(x) = self.outcome.measured.iter_mut().find(|x| x.step == step) {
                x.held = now.duration_since(at);
            }
        }
        m.group_locks.clear();
    }

    /// The group rolled back: its measurements go, and the filenodes are read again.
    pub(crate) fn measure_rolled_back(&mut self, steps: &[usize]) {
        let Some(m) = self.measure.as_mut() else {
            return;
        };
        m.rels = None;
        m.group_locks.clear();
        m.group_started.clear();
        self.outcome.measured.retain(|x| !steps.contains(&x.step));
    }
}

/// What the second connection saw.
#[derive(Default)]
struct Seen {
    /// (oid, mode) → first and last sighting.
    locks: BTreeMap<(u32, LockMode), (Instant, Instant)>,
    phase: Option<String>,
}

/// The second connection that samples a statement running alone.
pub(crate) struct Sampler {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Seen>,
}

impl Sampler {
    async fn start(target: &ConnSettings, pid: i32) -> Option<Sampler> {
        let client = tokio::time::timeout(Duration::from_secs(10), connect(target))
            .await
            .ok()?
            .ok()?;
        let locks = client
            .prepare(
                "SELECT l.relation, l.mode FROM pg_catalog.pg_locks l
                  WHERE l.pid = $1 AND l.locktype = 'relation' AND l.granted",
            )
            .await
            .ok()?;
        let progress = client
            .prepare("SELECT phase FROM pg_catalog.pg_stat_progress_create_index WHERE pid = $1")
            .await
            .ok()?;
        let (stop, mut stopped) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let mut seen = Seen::default();
            let mut tick = tokio::time::interval(SAMPLE_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = tick.tick() => {}
                }
                let now = Instant::now();
                if let Ok(rows) = client.query(&locks, &[&pid]).await {
                    for r in rows {
                        let oid: u32 = r.get(0);
                        if let Some(mode) = LockMode::from_pg_name(r.get::<_, &str>(1)) {
                            seen.locks
                                .entry((oid, mode))
                                .and_modify(|(_, last)| *last = now)
                                .or_insert((now, now));
                        }
                    }
                }
                if let Ok(Some(r)) = client.query_opt(&progress, &[&pid]).await {
                    seen.phase = Some(r.get(0));
                }
            }
            seen
        });
        Some(Sampler { stop, task })
    }

    async fn stop(self) -> Seen {
        let _ = self.stop.send(());
        self.task.await.unwrap_or_default()
    }
}
