//! The journal: append-only JSON lines, fsynced after every entry, created 0600.
//! It is the single record of a session; the alignment report is rendered from
//! it alone. It never holds a password: targets are `user@host:port/db`.

mod entry;

pub use entry::*;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// A journal line: when, and what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// RFC 3339, UTC.
    pub at: String,
    #[serde(flatten)]
    pub entry: Entry,
}

/// The text of the note a writer appends after finding a torn last line
/// starts with this; a reader tolerates a bad line followed by such a note.
pub const TORN_NOTE: &str = "torn journal line";

/// An open journal file.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    /// A write failed part-way: the next append first checks the tail.
    check_tail: bool,
}

impl Journal {
    /// Opens (or creates, mode 0600, in a folder created 0700) a journal for
    /// appending, never through a symlink (see [`crate::util::fs`]). When its
    /// last line is torn (a process died while writing it, or the disk was
    /// full), the next entry starts on a fresh line after a note saying so.
    pub fn open(path: &Path) -> Result<Journal> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::util::fs::private_dir(dir)
                .with_context(|| format!("creating session folder {}", dir.display()))?;
        }
        let (file, created) = crate::util::fs::open_append(path)
            .with_context(|| format!("opening journal {}", path.display()))?;
        let mut journal = Journal {
            path: path.to_path_buf(),
            file,
            check_tail: !created,
        };
        if !created {
            let mut bytes = Vec::new();
            (&journal.file)
                .read_to_end(&mut bytes)
                .with_context(|| format!("reading journal {}", path.display()))?;
            let scan = scan(&bytes);
            if let Some(torn) = scan.torn.last().filter(|t| t.last && !t.noted) {
                journal.mend(torn)?;
            }
            journal.check_tail = false;
        }
        Ok(journal)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Ends a torn last line and records that it was torn.
    fn mend(&mut self, torn: &TornLine) -> Result<()> {
        let mut text = String::new();
        if !torn.terminated {
            text.push('\n');
        }
        let note = Record {
            at: crate::util::now_rfc3339(),
            entry: Entry::Note { text: torn.note() },
        };
        text.push_str(&serde_json::to_string(&note).context("encoding a journal entry")?);
        text.push('\n');
        self.write_line(text.as_bytes())
    }

    fn write_line(&mut self, bytes: &[u8]) -> Result<()> {
        let result = self
            .file
            .write_all(bytes)
            .and_then(|_| self.file.sync_data());
        if result.is_err() {
            self.check_tail = true;
        }
        result.with_context(|| format!("writing journal {}", self.path.display()))
    }

    /// Appends one entry (every string redacted, see [`crate::util::redact`])
    /// and fsyncs before returning. After a failed write, the tail is checked
    /// first: a line left half-written is ended and noted, never appended onto.
    pub fn append(&mut self, entry: Entry) -> Result<Record> {
        let record = Record {
            at: crate::util::now_rfc3339(),
            entry,
        };
        let mut w = crate::util::redact::JsonRedactor::new(Vec::with_capacity(256));
        serde_json::to_writer(&mut w, &record).context("encoding a journal entry")?;
        let mut line = w.into_inner();
        line.push(b'\n');
        if self.check_tail {
            let mut bytes = Vec::new();
            use std::io::{Seek, SeekFrom};
            (&self.file)
                .seek(SeekFrom::Start(0))
                .and_then(|_| (&self.file).read_to_end(&mut bytes))
                .with_context(|| format!("reading journal {}", self.path.display()))?;
            if let Some(torn) = scan(&bytes).torn.last().filter(|t| t.last && !t.noted) {
                self.mend(torn)?;
            }
            self.check_tail = false;
        }
        self.write_line(&line)?;
        Ok(record)
    }
}

/// A line of a journal that is not a record: cut short by a crash or a full
/// disk. Only the last line may be torn, or one the writer noted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornLine {
    /// 1-based line number.
    pub line: usize,
    pub bytes: usize,
    /// It ended with a newline (a torn line never does, unless the disk held
    /// garbage past the end of the write).
    pub terminated: bool,
    /// A later writer recorded it with a [`TORN_NOTE`] note.
    pub noted: bool,
    /// It is the journal's last line.
    pub last: bool,
    /// An older version appended an entry onto it, which was recovered.
    pub salvaged: bool,
}

impl TornLine {
    /// The note recorded (and reported) for it.
    pub fn note(&self) -> String {
        format!(
            "{TORN_NOTE}: line {} of the journal ({} bytes{}) is not a whole entry: \
             the process writing it stopped part-way (killed, or the disk was full); {}",
            self.line,
            self.bytes,
            if self.terminated || self.salvaged {
                ""
            } else {
                ", no end of line"
            },
            if self.salvaged {
                "the entry written onto its end was recovered"
            } else {
                "it is kept as it is and ignored"
            }
        )
    }
}

/// What a journal holds: its records, and the torn lines that were skipped.
#[derive(Debug, Clone, Default)]
pub struct Contents {
    pub records: Vec<Record>,
    pub torn: Vec<TornLine>,
}

impl Contents {
    /// The records, with a note at the end for each torn line no writer has
    /// noted, so that the report says so.
    pub fn records_with_notes(mut self) -> Vec<Record> {
        let at = self
            .records
            .last()
            .map(|r| r.at.clone())
            .unwrap_or_default();
        for t in self.torn.iter().filter(|t| !t.noted) {
            self.records.push(Record {
                at: at.clone(),
                entry: Entry::Note { text: t.note() },
            });
        }
        self.records
    }
}

struct Scan {
    records: Vec<Record>,
    torn: Vec<TornLine>,
    /// 1-based number and parse error of a bad line that is neither last nor
    /// noted.
    bad: Option<(usize, String)>,
}

/// Reads journal bytes line by line. Lines are parsed as bytes, so a line cut
/// inside a multi-byte character is a torn line, not an unreadable file.
fn scan(bytes: &[u8]) -> Scan {
    let mut lines: Vec<(&[u8], bool)> = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        match rest.iter().position(|&b| b == b'\n') {
            Some(i) => {
                lines.push((&rest[..i], true));
                rest = &rest[i + 1..];
            }
            None => {
                lines.push((rest, false));
                rest = &[];
            }
        }
    }
    let blank = |l: &[u8]| l.iter().all(|b| b.is_ascii_whitespace());
    let parsed: Vec<Option<Result<Record, String>>> = lines
        .iter()
        .map(|(l, _)| {
            (!blank(l)).then(|| serde_json::from_slice::<Record>(l).map_err(|e| e.to_string()))
        })
        .collect();
    let mut out = Scan {
        records: Vec::new(),
        torn: Vec::new(),
        bad: None,
    };
    let last = parsed.iter().rposition(|p| p.is_some());
    for (i, p) in parsed.iter().enumerate() {
        let e = match p {
            None => continue,
            Some(Ok(r)) => {
                out.records.push(r.clone());
                continue;
            }
            Some(Err(e)) => e,
        };
        let mut torn = TornLine {
            line: i + 1,
            bytes: lines[i].0.len(),
            terminated: lines[i].1,
            noted: false,
            last: Some(i) == last,
            salvaged: false,
        };
        if let Some(Ok(Record {
            entry: Entry::Note { text },
            ..
        })) = parsed[i + 1..].iter().flatten().next()
        {
            torn.noted = text.starts_with(TORN_NOTE);
        }
        if !torn.last && !torn.noted {
            // A writer of an older version appended onto the torn line: the
            // entry after the tear is recovered.
            match salvage(lines[i].0) {
                Some((cut, record)) => {
                    torn.bytes = cut;
                    torn.salvaged = true;
                    out.torn.push(torn);
                    out.records.push(record);
                }
                None => {
                    out.bad.get_or_insert((i + 1, e.clone()));
                }
            }
            continue;
        }
        out.torn.push(torn);
    }
    out
}

/// A record written onto the end of a torn line: the torn part's length and
/// the record after it.
fn salvage(line: &[u8]) -> Option<(usize, Record)> {
    let marker = b"{\"at\":";
    (1..line.len().saturating_sub(marker.len()))
        .filter(|&k| line[k..].starts_with(marker))
        .find_map(|k| Some((k, serde_json::from_slice::<Record>(&line[k..]).ok()?)))
}

/// Reads a journal: every record, and the torn lines it skipped (the last
/// line, or a line a later writer noted as torn). Any other bad line is an
/// error naming its number.
pub fn read_contents(path: &Path) -> Result<Contents> {
    let bytes =
        std::fs::read(path).with_context(|| format!("reading journal {}", path.display()))?;
    let scan = scan(&bytes);
    if let Some((line, e)) = scan.bad {
        anyhow::bail!(
            "journal {} line {line} is not a journal entry: {e}",
            path.display()
        );
    }
    Ok(Contents {
        records: scan.records,
        torn: scan.torn,
    })
}

/// Reads every record of a journal; torn lines are skipped (see
/// [`read_contents`]).
pub fn read(path: &Path) -> Result<Vec<Record>> {
    Ok(read_contents(path)?.records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_a_torn_tail_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s/journal.jsonl");
        let mut j = Journal::open(&path).unwrap();
        j.append(Entry::Note {
            text: "hello".into(),
        })
        .unwrap();
        j.append(Entry::GroupCommitted {
            group: 1,
            steps: vec![1, 2],
        })
        .unwrap();
        drop(j);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"{\"at\":\"x\",\"event\":\"gro").unwrap();
        let records = read(&path).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(
            records[1].entry,
            Entry::GroupCommitted {
                group: 1,
                steps: vec![1, 2]
            }
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"event\":\"group-committed\""));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    fn note(text: &str) -> Entry {
        Entry::Note { text: text.into() }
    }

    #[test]
    fn a_writer_after_a_torn_line_starts_afresh_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let mut j = Journal::open(&path).unwrap();
        j.append(note("one")).unwrap();
        j.append(note("two")).unwrap();
        drop(j);
        // Cut inside a multi-byte character: not even UTF-8.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(&"{\"at\":\"x\",\"event\":\"note\",\"text\":\"é".as_bytes()[..34])
            .unwrap();
        drop(f);
        let before = read_contents(&path).unwrap();
        assert_eq!(before.records.len(), 2);
        assert_eq!(before.torn.len(), 1);
        assert!(before.torn[0].last && !before.torn[0].noted && !before.torn[0].terminated);
        let reported = before.records_with_notes();
        assert_eq!(reported.len(), 3);
        assert!(matches!(&reported[2].entry, Entry::Note { text } if text.contains("line 3")));

        let mut j = Journal::open(&path).unwrap();
        j.append(note("three")).unwrap();
        drop(j);
        let after = read_contents(&path).unwrap();
        let texts: Vec<String> = after
            .records
            .iter()
            .map(|r| match &r.entry {
                Entry::Note { text } => text.clone(),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(texts.len(), 4, "{texts:?}");
        assert_eq!(texts[0], "one");
        assert!(texts[2].starts_with(TORN_NOTE) && texts[2].contains("no end of line"));
        assert_eq!(texts[3], "three");
        assert_eq!(after.torn.len(), 1);
        assert!(after.torn[0].noted && !after.torn[0].last);
        // The torn bytes are kept as they were, on their own line.
        let bytes = std::fs::read(&path).unwrap();
        let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
        assert_eq!(lines[2].len(), 34);
        assert_eq!(after.records_with_notes().len(), 4, "noted once, not twice");
        // Opening again adds nothing: the journal is whole.
        drop(Journal::open(&path).unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
    }

    #[test]
    fn a_garbled_terminated_last_line_is_noted_too() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        Journal::open(&path).unwrap().append(note("one")).unwrap();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"\0\0\0\0\n").unwrap();
        drop(f);
        assert_eq!(read(&path).unwrap().len(), 1);
        Journal::open(&path).unwrap().append(note("two")).unwrap();
        let c = read_contents(&path).unwrap();
        assert_eq!(c.records.len(), 3);
        assert!(c.torn[0].terminated && c.torn[0].noted);
    }

    #[test]
    fn an_entry_an_older_version_wrote_onto_a_torn_line_is_recovered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let good = |t: &str| {
            serde_json::to_string(&Record {
                at: "2026-01-01T00:00:00Z".into(),
                entry: note(t),
            })
            .unwrap()
        };
        let text = format!(
            "{}\n{{\"at\":\"2026-01-01T00:00:00Z\",\"ev{}\n{}\n",
            good("one"),
            good("two"),
            good("three")
        );
        std::fs::write(&path, text).unwrap();
        let c = read_contents(&path).unwrap();
        assert_eq!(c.records.len(), 3);
        assert!(c.torn[0].salvaged && !c.torn[0].last);
        let notes = c.records_with_notes();
        assert!(
            matches!(&notes[3].entry, Entry::Note { text } if text.contains("was recovered")),
            "{notes:?}"
        );
    }

    #[test]
    fn a_bad_line_in_the_middle_is_still_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let mut j = Journal::open(&path).unwrap();
        j.append(note("one")).unwrap();
        drop(j);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"garbage\n").unwrap();
        drop(f);
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"at\":\"x\",\"event\":\"note\",\"text\":\"t\"}\n")
            .unwrap();
        let e = read(&path).unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
    }

    #[test]
    fn entries_are_redacted_and_a_linked_journal_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let mut j = Journal::open(&path).unwrap();
        j.append(note("cmd:PGPASSWORD=hunter2 psql -h db")).unwrap();
        drop(j);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains("hunter2") && text.contains("PGPASSWORD=***"),
            "{text}"
        );
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let link = dir.path().join("linked.jsonl");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let e = format!("{:#}", Journal::open(&link).unwrap_err());
        assert!(
            e.contains("symbolic link") && e.contains("linked.jsonl"),
            "{e}"
        );
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    }

    /// A journal written before the journal left `session/` (every entry kind,
    /// see `tests/fixtures/journal/`) reads back, and each record serialises to
    /// the very bytes of its line.
    #[test]
    fn a_journal_of_the_previous_layout_reads_and_reserialises_byte_for_byte() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/journal/all-entries.jsonl");
        let text = std::fs::read_to_string(&path).unwrap();
        let contents = read_contents(&path).unwrap();
        assert!(contents.torn.is_empty());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(contents.records.len(), lines.len());
        let mut kinds = std::collections::BTreeSet::new();
        for (record, line) in contents.records.iter().zip(&lines) {
            assert_eq!(&serde_json::to_string(record).unwrap(), line);
            kinds.insert(line.split('"').nth(7).unwrap().to_string());
        }
        assert_eq!(
            kinds.len(),
            24,
            "every entry kind is in the fixture: {kinds:?}"
        );
        assert!(matches!(
            &contents.records[1].entry,
            Entry::Preflight(Preflight { tables: 3, .. })
        ));
    }
}
