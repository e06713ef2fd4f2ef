//! What this process has open, from `/proc/self/fd` and
//! `/proc/self/fdinfo` (Linux): how far a follower has read a file, and
//! which directories it watches with inotify. These are the events the
//! file-source tests wait for between one change to a file and the next.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

use super::wait_until;

/// Whether `/proc/self/fdinfo` can be read here.
pub fn available() -> bool {
    Path::new("/proc/self/fdinfo").is_dir()
}

/// The descriptors of this process, with what `/proc/self/fdinfo` says of
/// each (descriptors closing meanwhile are left out).
fn descriptors() -> Vec<(String, String)> {
    let Ok(entries) = std::fs::read_dir("/proc/self/fdinfo") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let fd = e.file_name().to_string_lossy().into_owned();
            let info = std::fs::read_to_string(e.path()).ok()?;
            Some((fd, info))
        })
        .collect()
}

fn field<'a>(info: &'a str, name: &str) -> Option<&'a str> {
    info.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
}

/// Read positions of this process's read-only descriptors on the file
/// `file` is open on (the same device and inode, whatever its name now).
pub fn read_positions(file: &File) -> Vec<u64> {
    let meta = file.metadata().expect("metadata");
    descriptors()
        .into_iter()
        .filter(|(fd, info)| {
            // The access mode is the low two bits of the octal flags.
            let read_only = field(info, "flags")
                .and_then(|f| u32::from_str_radix(f, 8).ok())
                .is_some_and(|flags| flags & 3 == 0);
            read_only
                && std::fs::metadata(format!("/proc/self/fd/{fd}"))
                    .is_ok_and(|m| m.dev() == meta.dev() && m.ino() == meta.ino())
        })
        .filter_map(|(_, info)| field(&info, "pos")?.parse().ok())
        .collect()
}

/// Waits until the file `file` (a writer's handle) is open for reading
/// here and every reader has read it to its current end.
pub fn wait_read_to_end(file: &File, limit: Duration) {
    wait_until("the follower at the end of the file", limit, || {
        let len = file.metadata().expect("metadata").len();
        let positions = read_positions(file);
        !positions.is_empty() && positions.iter().all(|&p| p == len)
    });
}

/// Whether an inotify descriptor of this process watches the directory
/// `dir` (by inode: fdinfo gives the kernel's device number, not stat's).
pub fn watched(dir: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(dir) else {
        return false;
    };
    let ino = format!("ino:{:x} ", meta.ino());
    descriptors().iter().any(|(_, info)| {
        info.lines()
            .any(|l| l.starts_with("inotify wd:") && l.contains(&ino))
    })
}
