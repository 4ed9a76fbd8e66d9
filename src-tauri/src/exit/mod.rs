//! The exit at run time: the relay (listener, upstream dialers, byte pump), back-off, the egress
//! probe and connection-layer metrics.

pub mod backoff;
pub mod config;
pub mod dial;
pub mod egress;
pub mod head;
pub mod histogram;
pub mod metrics;
pub mod pump;
pub mod relay;
pub mod stage;

pub use config::RelayConfig;
pub use dial::{Dialer, Target, Tunnel};
pub use histogram::Histogram;
pub use metrics::{MetricsDelta, RelayMetrics};
pub use relay::Relay;
pub use stage::{DialError, Stage};
