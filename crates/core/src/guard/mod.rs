//! The guard: risk windows, holds of sensitive requests while one is open, and their audit.

pub mod audit;
mod config;
pub(crate) mod hold;
pub(crate) mod intercept;
pub mod risk;
pub mod service;

pub use crate::rules::SensitiveRule;
pub use hold::{Broker, DecidedBy, Decision, HoldNotice, PendingHold, Policy};
pub use intercept::{Guard, GuardConfig};
pub use risk::{evaluate, RiskConfig, RiskKind, RiskReason, RiskState};
