//! The exit at run time: the relay (listener, upstream dialers, byte pump), back-off, the egress
//! probe and connection-layer metrics.

pub mod backoff;
pub mod check;
pub mod config;
pub mod dial;
pub mod egress;
pub mod head;
pub mod histogram;
pub mod metric_rows;
pub mod metrics;
pub mod pump;
pub mod recorder;
pub mod relay;
pub mod service;
pub mod session;
pub mod stats;

pub use crate::events::{DialError, Stage};
pub use config::RelayConfig;
pub use dial::{Dialer, Target, Tunnel};
pub use histogram::Histogram;
pub use metrics::{MetricsDelta, RelayMetrics};
pub use relay::Relay;
