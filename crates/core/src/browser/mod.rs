//! The browser: finding Chromium, its command line for a template's profile, its profile
//! preferences, and the running process.

pub mod args;
pub mod cdp;
pub mod devtools;
pub mod discover;
pub mod pid;
pub mod prefs;
pub mod process;
pub mod singleton;

pub use args::LaunchArgs;
pub use discover::find;
pub use process::{Browser, DevTools};
