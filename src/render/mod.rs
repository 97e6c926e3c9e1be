//! Rendering: turns Samples and Reports into text, JSON and the live terminal view of `watch`
//! (and later Prometheus). Renderers never read the kernel.

pub mod layout;
pub mod report;
pub mod text;
pub mod tui;
