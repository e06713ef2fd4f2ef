//! What a process (this one or a child) has open, from `/proc/PID/fd` and
//! `/proc/PID/fdinfo` (Linux): how far a follower has read a file, and
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

/// This process's id, for the functions below.
pub fn own() -> u32 {
    std::process::id()
}

/// The descriptors of process `pid`, with what its fdinfo says of each
/// (descriptors closing meanwhile are left out).
fn descriptors(pid: u32) -> Vec<(String, String)> {
    let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else {
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

/// Read positions of process `pid`'s read-only descriptors on the file
/// `file` is open on (the same device and inode, whatever its name now).
pub fn read_positions(pid: u32, file: &File) -> Vec<u64> {
    let meta = file.metadata().expect("metadata");
    descriptors(pid)
        .into_iter()
        .filter(|(fd, info)| {
            // The access mode is the low two bits of the octal flags.
            let read_only = field(info, "flags")
                .and_then(|f| u32::from_str_radix(f, 8).ok())
                .is_some_and(|flags| flags & 3 == 0);
            read_only
                && std::fs::metadata(format!("/proc/{pid}/fd/{fd}"))
                    .is_ok_and(|m| m.dev() == meta.dev() && m.ino() == meta.ino())
        })
        .filter_map(|(_, info)| field(&info, "pos")?.parse().ok())
        .collect()
}

/// Waits until the file `file` (a writer's handle) is open for reading
/// in process `pid` and every such reader has read it to its current end.
pub fn wait_read_to_end(pid: u32, file: &File, limit: Duration) {
    wait_until("the follower at the end of the file", limit, || {
        let len = file.metadata().expect("metadata").len();
        let positions = read_positions(pid, file);
        !positions.is_empty() && positions.iter().all(|&p| p == len)
    });
}

/// Whether an inotify descriptor of process `pid` watches the directory
/// `dir` (by inode: fdinfo gives the kernel's device number, not stat's).
pub fn watched(pid: u32, dir: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(dir) else {
        return false;
    };
    let ino = format!("ino:{:x} ", meta.ino());
    descriptors(pid).iter().any(|(_, info)| {
        info.lines()
            .any(|l| l.starts_with("inotify wd:") && l.contains(&ino))
    })
}
