//! Process identity: a pid plus its start time, so a recycled pid is never taken for the
//! process recorded earlier.

/// The start time of `pid` in clock ticks since boot (`/proc/<pid>/stat` field 22), if alive.
pub fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: split after it.
    let rest = &stat[stat.rfind(')')? + 2..];
    // `rest` starts at field 3 (state); field 22 is index 19 here.
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    if state == "Z" || state == "X" {
        return None;
    }
    fields.nth(18)?.parse().ok()
}

/// Whether the process recorded as (`pid`, `start`) is still the one running under that pid.
pub fn is_same_alive(pid: i32, start: Option<u64>) -> bool {
    match (start_time(pid), start) {
        (Some(now), Some(then)) => now == then,
        // Without a recorded start time a live pid cannot be told from a recycled one.
        (_, None) | (None, _) => false,
    }
}

/// This process's pid.
pub fn own() -> i32 {
    i32::try_from(std::process::id()).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_alive_and_a_wrong_start_time_is_not() {
        let me = own();
        let start = start_time(me);
        assert!(start.is_some(), "this process has a start time");
        assert!(is_same_alive(me, start));
        assert!(
            !is_same_alive(me, start.map(|s| s + 1)),
            "another start time is another process"
        );
        assert!(
            !is_same_alive(me, None),
            "a pid without a start time is never taken for the recorded process"
        );
    }
}
