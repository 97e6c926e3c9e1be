//! Rendering: turns Samples into text, JSON (and later TUI and Prometheus). Renderers never read
//! the kernel.

pub mod layout;
pub mod report;
pub mod text;
