//! The browser: finding Chromium, its command line for a template's profile, its profile
//! preferences, and the running process.

pub(crate) mod args;
pub(crate) mod cdp;
pub mod devtools;
pub(crate) mod discover;
pub(crate) mod extensions;
pub(crate) mod pid;
pub(crate) mod pipe;
pub(crate) mod prefs;
pub(crate) mod process;
pub(crate) mod singleton;

pub use args::{LaunchArgs, DISABLED_FEATURES};
pub use discover::find;
pub use process::{Browser, Connection, DevTools};
