//! One family's socket list, and what a `Sampler` knows of how it came from the list before.
//!
//! A sampler re-reads a 10,000-socket table every second, and the rows that changed are known
//! while it is read (`ParsedText` compares each line with the last text). A [`Sockets`] made that
//! way carries its [`Lineage`]: which list it was made from, the rows that differ and what they
//! held there, so that the delta between the two looks at those rows only (and not at the earlier
//! list, cold by then, at all), and the sampler builds the next list from the one before last by
//! copying those rows rather than the whole table.

use super::UdpSocket;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The sockets of one file (/proc/net/udp or udp6) or family, in the kernel's order. Read-only
/// (it derefs to a slice) except through [`Sockets::make_mut`], which forgets the lineage: a list
/// changed after it was read says nothing any more of which rows moved. The lineage is not part of
/// the value: it is neither compared nor serialized.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sockets {
    list: Vec<UdpSocket>,
    #[serde(skip)]
    lineage: Lineage,
}

/// A row a sampler changed, and the socket it held in the list it was made from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Changed {
    pub row: u32,
    pub was: UdpSocket,
}

/// How a sampler made a list.
#[derive(Clone, Debug, Default)]
pub(super) struct Lineage {
    /// The list's number, unique in the process (`next_id`); 0 when it has none (read once,
    /// deserialized, changed).
    pub(super) id: u64,
    /// The list it was made from and the rows that may differ from it, in order, each with the
    /// socket it held there; every other row holds the same socket at the same index. `None` when
    /// the rows moved (sockets opened or closed): then nothing is known.
    pub(super) from: Option<(u64, Arc<[Changed]>)>,
}

/// A new list number: from 1, so 0 stays "none".
pub(super) fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl Sockets {
    pub(super) fn with_lineage(list: Vec<UdpSocket>, lineage: Lineage) -> Sockets {
        Sockets { list, lineage }
    }

    /// The list to change; its lineage is forgotten.
    pub fn make_mut(&mut self) -> &mut Vec<UdpSocket> {
        self.lineage = Lineage::default();
        &mut self.list
    }

    pub fn into_vec(self) -> Vec<UdpSocket> {
        self.list
    }

    pub(super) fn lineage(&self) -> &Lineage {
        &self.lineage
    }

    /// The rows in which this list may differ from `earlier`, each with the socket it holds in
    /// `earlier`, when a sampler made this one from it (or both are one list); every other row is
    /// the same socket at the same index. `None` when that is not known: the lists must then be
    /// paired socket by socket.
    pub fn changed_since(&self, earlier: &Sockets) -> Option<&[Changed]> {
        let then = earlier.lineage.id;
        if then == 0 {
            return None;
        }
        if self.lineage.id == then {
            return Some(&[]);
        }
        match &self.lineage.from {
            Some((from, rows)) if *from == then && self.list.len() == earlier.list.len() => {
                Some(rows)
            }
            _ => None,
        }
    }
}

impl From<Vec<UdpSocket>> for Sockets {
    fn from(list: Vec<UdpSocket>) -> Sockets {
        Sockets { list, lineage: Lineage::default() }
    }
}

impl FromIterator<UdpSocket> for Sockets {
    fn from_iter<I: IntoIterator<Item = UdpSocket>>(iter: I) -> Sockets {
        Sockets::from(iter.into_iter().collect::<Vec<_>>())
    }
}

impl std::ops::Deref for Sockets {
    type Target = [UdpSocket];

    fn deref(&self) -> &[UdpSocket] {
        &self.list
    }
}

/// Equal when the sockets are, however each list was made.
impl PartialEq for Sockets {
    fn eq(&self, other: &Sockets) -> bool {
        self.list == other.list
    }
}

impl PartialEq<Vec<UdpSocket>> for Sockets {
    fn eq(&self, other: &Vec<UdpSocket>) -> bool {
        &self.list == other
    }
}
