//! Keeps the app's own heap close to what it uses: a long-lived process whose tokio threads
//! each allocate the fleet's rows now and then would otherwise keep every thread's freed pages
//! (glibc gives each thread an arena and returns little of it to the system).

use std::time::Duration;

/// How often freed heap pages are handed back.
const TRIM_EVERY: Duration = Duration::from_secs(15);

/// Caps the number of malloc arenas and hands freed pages back periodically (glibc only).
pub fn keep_small() {
    #[cfg(target_env = "gnu")]
    {
        // SAFETY: mallopt only changes the allocator's tuning; called before threads start.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
        tauri::async_runtime::spawn(async {
            let mut every = tokio::time::interval(TRIM_EVERY);
            loop {
                every.tick().await;
                // SAFETY: malloc_trim only returns free memory to the system.
                unsafe {
                    libc::malloc_trim(0);
                }
            }
        });
    }
}
