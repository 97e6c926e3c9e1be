//! Rendering: turns Samples and Reports into text, JSON and the live terminal view of `watch`
//! and Prometheus (`prometheus`: the exporter's OpenMetrics text). Renderers never read the kernel.

pub mod layout;
pub mod prometheus;
pub mod report;
pub mod text;
pub mod tui;
