//! Keeps the app's own heap close to what it uses: a long-lived process whose tokio threads
//! each allocate the fleet's rows now and then would otherwise keep every thread's freed pages
//! (glibc gives each thread an arena and returns little of it to the system).

use std::time::Duration;

/// How often freed heap pages are handed back when no command ran (sessions work meanwhile).
const TRIM_EVERY: Duration = Duration::from_secs(15);
/// How long after a command the pages it freed are handed back: a burst of commands (the
/// window's first load, a bulk launch) finishes first.
const AFTER_WORK: Duration = Duration::from_secs(1);

/// Told when a command has finished.
static WORK_DONE: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// A command finished: what it freed is handed back shortly.
pub fn work_done() {
    WORK_DONE.notify_one();
}

/// Caps the number of malloc arenas and hands freed pages back after commands and
/// periodically (glibc only).
pub fn keep_small() {
    #[cfg(target_env = "gnu")]
    {
        // SAFETY: mallopt only changes the allocator's tuning; called before threads start.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
        tauri::async_runtime::spawn(async {
            loop {
                tokio::select! {
                    _ = WORK_DONE.notified() => tokio::time::sleep(AFTER_WORK).await,
                    _ = tokio::time::sleep(TRIM_EVERY) => {}
                }
                holdfast_core::memory::trim_heap();
            }
        });
    }
}
