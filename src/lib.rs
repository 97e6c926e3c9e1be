//! rxpath: where packets die on the Linux receive path, and what to change.
//!
//! Data flows one way: `source` reads the kernel into a `Sample`; `render` shows it; `capture`
//! saves what was read so `Root::at(dir)` can replay it.
//!
//! ```
//! use rxpath::{Root, Sample};
//!
//! // Any copy of /proc and /sys reads like a live host; `Root::live()` is this host.
//! let root = Root::at(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/trees/linux-6.18-virtio"));
//! let sample = Sample::take(&root);
//! let softnet = sample.softnet.value().expect("softnet_stat is in the tree");
//! assert_eq!(softnet.columns, 15);
//! assert_eq!(softnet.rows[1].cpu, 1);
//! // What the tree cannot hold (ioctls) says why instead of failing the sample.
//! let eth0 = sample.interface("eth0").unwrap();
//! assert!(eth0.ethtool.driver.unavailable().unwrap().why.contains("not recorded"));
//! ```

pub mod avail;
pub mod capture;
pub mod cli;
pub mod counters;
pub mod delta;
pub mod diagnose;
pub mod fxhash;
pub mod path;
pub mod render;
pub mod report;
pub mod root;
pub mod sample;
pub mod serve;
pub mod source;
pub mod watch;

pub use avail::{Avail, Unavailable};
pub use root::Root;
pub use sample::{Sample, Sampler};
