//! Headers Holdfast puts on the answers it makes itself, so the session layer can tell them
//! from the site's.

/// On the relay's own error answers: names the failed stage.
pub const FAILURE_HEADER: &str = "x-holdfast-failure";

/// On the page the guard serves for a cancelled hold.
pub const GUARD_HEADER: &str = "x-holdfast-guard";
