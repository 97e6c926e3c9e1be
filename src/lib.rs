//! rxpath: where packets die on the Linux receive path, and what to change.

pub mod avail;
pub mod root;
pub mod source;

pub use avail::{Avail, Unavailable};
pub use root::Root;
