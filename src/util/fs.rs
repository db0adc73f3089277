//! Files pgalign creates, never followed (DESIGN.md §6).
//!
//! - A whole file (plan, sidecar, report, backup, anything in a session folder)
//!   is written under a fresh temporary name in the same folder, opened with
//!   `O_CREAT|O_EXCL|O_NOFOLLOW` and mode 0600, fsynced, then renamed over the
//!   final name: `rename` replaces a planted symlink itself, never its target,
//!   and a reader never sees half a file.
//! - The journal is appended to: opened with `O_NOFOLLOW|O_APPEND` (created with
//!   `O_EXCL` when new, mode 0600); a symlink, a non-regular file or a file with
//!   other hard links is refused.
//! - Folders pgalign creates are created 0700 (never chmodded afterwards); a
//!   folder the user made is used as it is, with a warning when other users may
//!   write into it.
//! - A symbolic link among the folders of a path is followed only when it
//!   belongs to the current user or to root: a link another user planted (in
//!   `/tmp`, in a shared folder) is refused, since through it they would choose
//!   where pgalign's files go.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The message of a refused symlink (the caller's context names the path).
fn symlink_refused() -> io::Error {
    io::Error::other("it is a symbolic link, and pgalign never writes through one")
}

fn euid() -> u32 {
    crate::sys::euid()
}

/// The folder a file goes into (`.` for a bare file name).
fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Fsyncs a folder so that a rename or a new name in it survives a crash.
fn sync_folder(dir: &Path) {
    let _ = File::open(dir).and_then(|d| d.sync_all());
}

/// Refuses a path whose existing folders go through a symbolic link that
/// belongs to neither the current user nor root.
pub fn check_links(path: &Path) -> io::Result<()> {
    let path = std::path::absolute(path)?;
    let me = euid();
    let mut prefix = PathBuf::new();
    for part in path.components() {
        prefix.push(part);
        let Ok(meta) = std::fs::symlink_metadata(&prefix) else {
            break;
        };
        if meta.file_type().is_symlink() && meta.uid() != me && meta.uid() != 0 {
            return Err(io::Error::other(format!(
                "{} is a symbolic link owned by another user (uid {}): pgalign does not \
                 follow it; name the folder it points to instead",
                prefix.display(),
                meta.uid()
            )));
        }
    }
    Ok(())
}

/// Makes sure `dir` exists: the folders it creates are mode 0700; a folder
/// that exists already is left as it is (a warning on stderr when other users
/// may write into it, which would let them delete or rename pgalign's files).
pub fn private_dir(dir: &Path) -> io::Result<()> {
    check_links(dir)?;
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {
            let mode = meta.permissions().mode();
            if mode & 0o022 != 0 && mode & 0o1000 == 0 {
                eprintln!(
                    "pgalign: warning: folder {} is writable by other users (mode {:04o}): \
                     they can delete or replace what pgalign writes there",
                    super::escape::escape_control(&dir.display().to_string()),
                    mode & 0o7777
                );
            }
            Ok(())
        }
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "it exists and is not a folder",
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir),
        Err(e) => Err(e),
    }
}

/// Creates the folder `dir` (its parent must exist), mode 0700; fails with
/// `AlreadyExists` when the name is taken by anything, a symlink included.
pub fn new_private_dir(dir: &Path) -> io::Result<()> {
    check_links(folder_of(dir))?;
    std::fs::DirBuilder::new().mode(0o700).create(dir)?;
    sync_folder(folder_of(dir));
    Ok(())
}

/// A file being written under a temporary name beside its final name; the
/// temporary file is removed unless [`PrivateFile::commit`] renames it.
#[derive(Debug)]
pub struct PrivateFile {
    file: Option<File>,
    temp: PathBuf,
    dest: PathBuf,
    committed: bool,
}

impl PrivateFile {
    /// Creates `.<name>.<pid>-<n>.tmp` beside `dest` with
    /// `O_CREAT|O_EXCL|O_NOFOLLOW`, mode 0600.
    pub fn create(dest: &Path) -> io::Result<PrivateFile> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let dir = folder_of(dest);
        check_links(dir)?;
        let name = dest
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        for _ in 0..32 {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let mut temp_name = OsString::from(".");
            temp_name.push(name);
            temp_name.push(format!(".{}-{nanos:x}{n}.tmp", std::process::id()));
            let temp = dir.join(temp_name);
            match OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
                .open(&temp)
            {
                Ok(file) => {
                    return Ok(PrivateFile {
                        file: Some(file),
                        temp,
                        dest: dest.to_path_buf(),
                        committed: false,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "no free temporary name beside it",
        ))
    }

    /// The open temporary file (e.g. to hand to `pg_dump` as its stdout).
    pub fn file(&self) -> &File {
        self.file.as_ref().expect("open until committed")
    }

    /// The temporary file's path (to read it back before committing).
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// Fsyncs the file, renames it over the final name (a symlink there is
    /// replaced, its target untouched) and fsyncs the folder.
    pub fn commit(mut self) -> io::Result<()> {
        let file = self.file.take().expect("open until committed");
        file.sync_all()?;
        drop(file);
        std::fs::rename(&self.temp, &self.dest)?;
        self.committed = true;
        sync_folder(folder_of(&self.dest));
        Ok(())
    }
}

impl Write for PrivateFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.as_mut().expect("open until committed").write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().expect("open until committed").flush()
    }
}

impl Drop for PrivateFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Writes `contents` as the file `path`, mode 0600, never through a symlink
/// (see [`PrivateFile`]).
pub fn write_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut f = PrivateFile::create(path)?;
    f.write_all(contents)?;
    f.commit()
}

/// Opens `path` for appending (the journal), read and write: an existing
/// regular file with no other hard link, or a new one created with `O_EXCL`,
/// mode 0600. Never through a symlink. `true` when it was created.
pub fn open_append(path: &Path) -> io::Result<(File, bool)> {
    check_links(folder_of(path))?;
    for _ in 0..8 {
        match OpenOptions::new()
            .read(true)
            .append(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(path)
        {
            Ok(f) => {
                let meta = f.metadata()?;
                if !meta.file_type().is_file() {
                    return Err(io::Error::other("it is not a regular file"));
                }
                if meta.nlink() > 1 {
                    return Err(io::Error::other(format!(
                        "it has {} hard links, and pgalign only appends to a file of its own",
                        meta.nlink()
                    )));
                }
                return Ok((f, false));
            }
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err(symlink_refused()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        match OpenOptions::new()
            .read(true)
            .append(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(path)
        {
            Ok(f) => {
                sync_folder(folder_of(path));
                return Ok((f, true));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
                    return Err(symlink_refused());
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("it keeps appearing and disappearing"))
}

/// Opens an existing file of pgalign's for a change of mode or a read without
/// following a symlink (e.g. to make an archived plan read-only).
pub fn open_nofollow(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                symlink_refused()
            } else {
                e
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn mode(p: &Path) -> u32 {
        std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn a_planted_symlink_is_replaced_and_its_target_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let plan = dir.path().join("plan.sql");
        symlink(&victim, &plan).unwrap();
        write_private(&plan, b"BEGIN;").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(
            !std::fs::symlink_metadata(&plan)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&plan).unwrap(), "BEGIN;");
        assert_eq!(mode(&plan), 0o600);
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 2);
    }

    #[test]
    fn an_uncommitted_file_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("report.md");
        let mut f = PrivateFile::create(&dest).unwrap();
        f.write_all(b"half").unwrap();
        let temp = f.temp_path().to_path_buf();
        assert!(temp.exists());
        drop(f);
        assert!(!temp.exists() && !dest.exists());
    }

    #[test]
    fn the_journal_is_never_opened_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let j = dir.path().join("journal.jsonl");
        symlink(&victim, &j).unwrap();
        let e = open_append(&j).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        // A dangling link is refused too, and not created through.
        std::fs::remove_file(&j).unwrap();
        symlink(dir.path().join("nowhere"), &j).unwrap();
        assert!(open_append(&j).is_err());
        assert!(!dir.path().join("nowhere").exists());
        // A hard link to another file is refused.
        std::fs::remove_file(&j).unwrap();
        std::fs::hard_link(&victim, &j).unwrap();
        let e = open_append(&j).unwrap_err();
        assert!(e.to_string().contains("hard links"), "{e}");
        std::fs::remove_file(&j).unwrap();
        let (_, created) = open_append(&j).unwrap();
        assert!(created);
        assert_eq!(mode(&j), 0o600);
        let (_, created) = open_append(&j).unwrap();
        assert!(!created);
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    }

    #[test]
    fn folders_are_created_0700_and_existing_ones_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a/b/c");
        private_dir(&deep).unwrap();
        for p in ["a", "a/b", "a/b/c"] {
            assert_eq!(mode(&dir.path().join(p)), 0o700, "{p}");
        }
        let mine = dir.path().join("mine");
        std::fs::create_dir(&mine).unwrap();
        std::fs::set_permissions(&mine, std::fs::Permissions::from_mode(0o750)).unwrap();
        private_dir(&mine).unwrap();
        assert_eq!(mode(&mine), 0o750);
        new_private_dir(&mine.join("s1")).unwrap();
        assert_eq!(mode(&mine.join("s1")), 0o700);
        assert_eq!(
            new_private_dir(&mine.join("s1")).unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
        std::fs::write(dir.path().join("file"), "").unwrap();
        assert!(private_dir(&dir.path().join("file")).is_err());
    }

    #[test]
    fn another_users_link_is_not_followed() {
        if euid() != 0 {
            return; // only root can give a link away
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("elsewhere")).unwrap();
        let link = dir.path().join("planted");
        symlink(dir.path().join("elsewhere"), &link).unwrap();
        std::os::unix::fs::lchown(&link, Some(65534), Some(65534)).unwrap();
        let e = write_private(&link.join("plan.sql"), b"x").unwrap_err();
        assert!(e.to_string().contains("owned by another user"), "{e}");
        assert!(private_dir(&link.join("sessions")).is_err());
        assert!(open_append(&link.join("journal.jsonl")).is_err());
        assert_eq!(
            std::fs::read_dir(dir.path().join("elsewhere"))
                .unwrap()
                .count(),
            0
        );
    }

    #[test]
    fn own_links_are_followed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("real")).unwrap();
        symlink(dir.path().join("real"), dir.path().join("link")).unwrap();
        write_private(&dir.path().join("link/x"), b"x").unwrap();
        assert!(dir.path().join("real/x").exists());
    }
}
