//! Session health: the DevTools observer, classification by rules and stage, attribution, batched
//! storage and the report that joins the connection layer (relay) and the session layer (CDP).

pub mod attribution;
pub mod browser_egress;
pub(crate) mod classify;
pub(crate) mod network;
pub(crate) mod observer;
pub mod outcome_rows;
pub mod pipeline;
pub mod report;
pub mod service;
pub(crate) mod writer;

pub use crate::events::RequestKind;
pub use crate::rules::TemplateRules;
pub use attribution::{Attribution, RequestRecord};
pub use browser_egress::{BrowserEgress, BrowserProbe, Probe};
pub use classify::{FailureStage, Signal};
pub use network::RequestOutcome;
pub use observer::{Observer, ObserverConfig};
pub use pipeline::Pipeline;
pub use report::HealthReport;
pub use writer::{OutcomeWriter, WriterConfig};
