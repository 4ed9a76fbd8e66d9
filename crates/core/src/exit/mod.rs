//! The exit at run time: the relay (listener, upstream dialers, byte pump), back-off, the egress
//! probe, where the exit is (and whether a template fits it) and connection-layer metrics.

pub(crate) mod backoff;
pub mod check;
pub mod config;
pub(crate) mod dial;
pub mod egress;
pub mod fit;
pub mod geo;
pub(crate) mod head;
pub(crate) mod histogram;
pub mod metric_rows;
pub(crate) mod metrics;
pub mod peer;
pub(crate) mod pump;
pub(crate) mod recorder;
pub mod relay;
pub mod service;
pub mod session;
pub mod stats;
pub(crate) mod warm;

pub use crate::events::{DialError, Stage};
pub use config::RelayConfig;
pub use dial::{Dialer, Target, Tunnel};
pub use histogram::Histogram;
pub use metrics::{MetricsDelta, RelayMetrics};
pub use relay::Relay;
