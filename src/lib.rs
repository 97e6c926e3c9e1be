//! rxpath: where packets die on the Linux receive path, and what to change.
//!
//! Data flows one way: `source` reads the kernel into a `Sample`; `render` shows it; `capture`
//! saves what was read so `Root::at(dir)` can replay it.

pub mod avail;
pub mod capture;
pub mod cli;
pub mod render;
pub mod root;
pub mod sample;
pub mod source;

pub use avail::{Avail, Unavailable};
pub use root::Root;
pub use sample::Sample;
