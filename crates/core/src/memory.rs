//! Giving back what an idle long-lived process (a session's `launch`, the relay) no longer uses:
//! freed heap pages, and the pages of its own code that only start-up ran (parsing arguments,
//! migrations, the preflight). Left alone, both stay in the process's resident set for as long
//! as the session runs.

use std::time::Duration;

/// Hands freed heap pages back and unmaps this program's code pages; the code still in use is
/// read back from the page cache at its next call (a minor fault, no disk read).
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

/// `MADV_DONTNEED` on the executable mappings of this program's own file. Only those: they are
/// private, read-only and never written, so every page is a clean copy of the file and dropping
/// it loses nothing. (Writable or relocated mappings would lose their contents.)
#[cfg(target_os = "linux")]
fn drop_code_pages() -> std::io::Result<()> {
    let exe = std::fs::read_link("/proc/self/exe")?;
    let exe = exe.to_string_lossy();
    let maps = std::fs::read_to_string("/proc/self/maps")?;
    for (start, end) in code_ranges(&maps, &exe) {
        // SAFETY: see above: a private `r-xp` mapping of our own file, whose pages the kernel
        // reads back from the file on the next access.
        let r =
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
        if r != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The `r-xp` ranges of `exe` in a `/proc/PID/maps` text.
#[cfg(any(target_os = "linux", test))]
fn code_ranges(maps: &str, exe: &str) -> Vec<(usize, usize)> {
    maps.lines()
        .filter_map(|line| {
            // start-end perms offset dev inode path
            let mut fields = line.split_whitespace();
            let range = fields.next()?;
            let perms = fields.next()?;
            let path = fields.nth(3)?;
            // The path is the rest of the line; a rebuilt binary shows " (deleted)" and is left.
            let rest = line.get(line.find(path)?..)?;
            if perms != "r-xp" || rest != exe {
                return None;
            }
            let (a, b) = range.split_once('-')?;
            Some((
                usize::from_str_radix(a, 16).ok()?,
                usize::from_str_radix(b, 16).ok()?,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_executable_mapping_of_the_program_itself_is_picked() {
        let maps = "\
5600-5700 r--p 00000000 08:01 42 /opt/holdfast/bin/holdfast
5700-5900 r-xp 00100000 08:01 42 /opt/holdfast/bin/holdfast
5900-5a00 r--p 00300000 08:01 42 /opt/holdfast/bin/holdfast
5a00-5b00 rw-p 00400000 08:01 42 /opt/holdfast/bin/holdfast
7f00-7f10 r-xp 00000000 08:01 7 /usr/lib/x86_64-linux-gnu/libc.so.6
7f20-7f30 r-xp 00000000 08:01 9 /opt/holdfast/bin/holdfast (deleted)
7f40-7f50 rw-p 00000000 00:00 0
";
        assert_eq!(
            code_ranges(maps, "/opt/holdfast/bin/holdfast"),
            vec![(0x5700, 0x5900)],
            "only our own r-xp mapping: not data, not libc, not a replaced binary"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_process_keeps_running_its_code_after_its_pages_are_dropped() {
        let before = std::fs::read_to_string("/proc/self/maps").unwrap();
        let exe = std::fs::read_link("/proc/self/exe").unwrap();
        assert!(
            !code_ranges(&before, &exe.to_string_lossy()).is_empty(),
            "the test binary has a code mapping to drop"
        );
        release_idle();
        // Code from everywhere in the binary runs again (faulted back in).
        let v: Vec<String> = (0..100).map(|i| format!("{i:x}")).collect();
        assert_eq!(v.join("").len(), 16 + 84 * 2, "0..100 in hex");
        release_idle();
    }
}
