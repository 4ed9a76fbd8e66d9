//! The guard: risk windows (and, to come, holds of sensitive requests and their audit).

pub mod risk;

pub use risk::{evaluate, RiskConfig, RiskKind, RiskReason, RiskState};
