//! Giving back what an idle long-lived process (a session's `launch`, the relay) no longer uses:
//! freed heap pages, and the pages of code and constants that only start-up used (parsing
//! arguments, migrations, the preflight). Left alone, both stay in the process's resident set for
//! as long as the session runs.

use std::time::Duration;

/// Hands freed heap pages back and unmaps the clean pages of code and constants; what is still
/// in use is read back from the page cache at its next use (a minor fault, no disk read).
pub fn release_idle() {
    trim_heap();
    #[cfg(target_os = "linux")]
    if let Err(e) = drop_code_pages() {
        tracing::debug!("own code pages kept: {e}");
    }
}

/// Hands the allocator's freed pages back to the system (glibc keeps them per thread arena).
pub fn trim_heap() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only returns free memory to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// How long after start-up [`keep_idle_small`] first hands memory back (the first page is in).
pub const AFTER_START: Duration = Duration::from_secs(2);
/// How often it does again.
pub const EVERY: Duration = Duration::from_secs(60);

/// Calls [`release_idle`] [`AFTER_START`] from now and then every [`EVERY`], for as long as the
/// returned future runs.
pub async fn keep_idle_small() {
    tokio::time::sleep(AFTER_START).await;
    loop {
        release_idle();
        tokio::time::sleep(EVERY).await;
    }
}

/// `MADV_DONTNEED` on the read-only mappings of files (this program's code and constants, and
/// the shared libraries') that hold no page of their own. Only those: private, read-only and
/// with no copied-on-write page, every resident page is a clean copy of the file and dropping it
/// loses nothing. (The relocated `r--p` part of a program or library holds written pages and is
/// left, as are writable mappings.)
#[cfg(target_os = "linux")]
fn drop_code_pages() -> std::io::Result<()> {
    let smaps = std::fs::read_to_string("/proc/self/smaps")?;
    for (start, end) in clean_file_ranges(&smaps) {
        // SAFETY: see above: a private read-only mapping of a file with no anonymous page (it
        // cannot gain one: it is not writable), whose pages the kernel reads back from the file
        // on the next access.
        let r =
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
        if r != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The ranges of a `/proc/PID/smaps` text that are private read-only mappings (`r-xp`, `r--p`)
/// of a file still on disk, with no anonymous (copied-on-write) page.
#[cfg(any(target_os = "linux", test))]
fn clean_file_ranges(smaps: &str) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    // The mapping being read: its range, if it is a candidate, until its `Anonymous:` line.
    let mut candidate: Option<(usize, usize)> = None;
    for line in smaps.lines() {
        if let Some(kb) = line.strip_prefix("Anonymous:") {
            if let Some(range) = candidate.take() {
                if kb.trim() == "0 kB" {
                    ranges.push(range);
                }
            }
            continue;
        }
        if let Some(range) = mapping_header(line) {
            candidate = range;
        }
    }
    ranges
}

/// For a header line of `smaps` (`start-end perms offset dev inode path`): `Some(Some(range))`
/// for a private read-only mapping of a file that still exists, `Some(None)` for any other
/// mapping, `None` for a line that is not a header.
#[cfg(any(target_os = "linux", test))]
fn mapping_header(line: &str) -> Option<Option<(usize, usize)>> {
    let mut fields = line.split_whitespace();
    let (a, b) = fields.next()?.split_once('-')?;
    let (start, end) = (
        usize::from_str_radix(a, 16).ok()?,
        usize::from_str_radix(b, 16).ok()?,
    );
    let perms = fields.next()?;
    let _offset = fields.next()?;
    let _dev = fields.next()?;
    let _inode = fields.next()?;
    let path = fields.next().unwrap_or("");
    // A path is absolute ([heap], [vdso] and anonymous mappings are not files); a replaced
    // file shows " (deleted)" and is left alone.
    let file = path.starts_with('/') && !line.ends_with(" (deleted)");
    Some((file && (perms == "r-xp" || perms == "r--p")).then_some((start, end)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_read_only_file_mappings_without_written_pages_are_picked() {
        let smaps = "\
5600-5700 r--p 00000000 08:01 42 /opt/holdfast/bin/holdfast
Rss:                 200 kB
Anonymous:             0 kB
5700-5900 r-xp 00100000 08:01 42 /opt/holdfast/bin/holdfast
Anonymous:             0 kB
5900-5a00 r--p 00300000 08:01 42 /opt/holdfast/bin/holdfast
Anonymous:           960 kB
5a00-5b00 rw-p 00400000 08:01 42 /opt/holdfast/bin/holdfast
Anonymous:            28 kB
5b00-5c00 rw-p 00000000 00:00 0 [heap]
Anonymous:             0 kB
7f00-7f10 r-xp 00000000 08:01 7 /usr/lib/x86_64-linux-gnu/libc.so.6
Anonymous:             0 kB
7f10-7f18 r-xp 00000000 08:01 7 /usr/lib/x86_64-linux-gnu/libc.so.6
Anonymous:             4 kB
7f20-7f30 r-xp 00000000 08:01 9 /opt/holdfast/bin/holdfast (deleted)
Anonymous:             0 kB
7f40-7f50 rw-p 00000000 00:00 0
Anonymous:             0 kB
7ff0-7ff2 r-xp 00000000 00:00 0 [vdso]
Anonymous:             0 kB
";
        assert_eq!(
            clean_file_ranges(smaps),
            vec![(0x5600, 0x5700), (0x5700, 0x5900), (0x7f00, 0x7f10)],
            "constants and code of the program and of libc; not the relocated part, not data, \
             not a page a debugger wrote, not a replaced binary, not the vdso"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_process_keeps_running_its_code_after_its_pages_are_dropped() {
        let before = std::fs::read_to_string("/proc/self/smaps").unwrap();
        assert!(
            !clean_file_ranges(&before).is_empty(),
            "the test binary has code mappings to drop"
        );
        release_idle();
        // Code from everywhere in the binary runs again (faulted back in).
        let v: Vec<String> = (0..100).map(|i| format!("{i:x}")).collect();
        assert_eq!(v.join("").len(), 16 + 84 * 2, "0..100 in hex");
        release_idle();
    }
}
