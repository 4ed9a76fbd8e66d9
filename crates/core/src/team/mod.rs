//! Team mode: this home's membership of a team store (PostgreSQL), the team key that seals the
//! store's secrets, and the team operations (`service`). Without a team nothing here is used.

pub mod config;
pub mod key;
pub mod service;
