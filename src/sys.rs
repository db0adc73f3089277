//! The only module allowed `unsafe`: thin wrappers over the few libc calls
//! pgalign needs (`[lints.rust] unsafe_code = "deny"` everywhere else).
#![allow(unsafe_code)]

use std::ffi::CStr;

/// The effective user id of this process.
pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Bytes available to an unprivileged writer in the file system holding `path`.
pub fn free_bytes(path: &CStr) -> std::io::Result<u64> {
    // SAFETY: `statvfs` is plain old data; all zeroes is a valid value.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is a valid NUL-terminated string and `stat` a valid out-pointer.
    if unsafe { libc::statvfs(path.as_ptr(), &mut stat) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(stat.f_bavail as u64 * stat.f_frsize as u64)
}

/// Sets this thread's file-system user and group ids; returns the previous ones.
pub fn set_fs_ids(uid: libc::uid_t, gid: libc::gid_t) -> (libc::uid_t, libc::gid_t) {
    // SAFETY: plain system calls on this thread's own credentials; each
    // returns the previous id.
    unsafe {
        let old_gid = libc::setfsgid(gid) as libc::gid_t;
        let old_uid = libc::setfsuid(uid) as libc::uid_t;
        (old_uid, old_gid)
    }
}

/// Sends `sig` to `pid` (errors, such as a process already gone, are ignored).
pub fn signal(pid: libc::pid_t, sig: libc::c_int) {
    // SAFETY: kill(2) with a pid and a constant signal number.
    unsafe { libc::kill(pid, sig) };
}
