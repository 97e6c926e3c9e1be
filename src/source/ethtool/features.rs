//! Offload features (GFEATURES, names from ETH_SS_FEATURES) and driver private flags (GPFLAGS,
//! names from ETH_SS_PRIV_FLAGS).

use super::ioctl::{
    ETH_SS_FEATURES, ETH_SS_PRIV_FLAGS, ETHTOOL_GFEATURES, ETHTOOL_GPFLAGS, EthtoolSocket,
    EthtoolValue, FEATURES_BLOCK_LEN, GFEATURES_DATA_OFF, GFEATURES_SIZE_OFF, IfName, IoBuf,
    get_u32, table_len,
};
use super::strings::{read_set, unique_names};
use super::{cmd_error, why};
use crate::avail::Unavailable;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use std::io;

/// One named feature bit. Names are the kernel's own (`rx-gro`, `rx-lro`, `rx-ntuple-filter`,
/// `rx-hashing`, `rx-checksum`, ...); `ethtool -k` prints a few under longer aliases
/// (`large-receive-offload` for `rx-lro`, `ntuple-filters`, `receive-hashing`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feature {
    pub name: String,
    /// Changeable on this device (hw_features).
    pub available: bool,
    /// Wanted by the administrator (wanted_features).
    pub requested: bool,
    /// Currently on (features).
    pub active: bool,
    /// Never changeable on any device (NETIF_F_NEVER_CHANGE).
    pub never_changed: bool,
}

/// `struct ethtool_get_features_block`, one per 32 feature bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FeatureBlock {
    pub available: u32,
    pub requested: u32,
    pub active: u32,
    pub never_changed: u32,
}

/// Decodes GFEATURES blocks as they lie in memory (16 bytes each, native endian). A trailing
/// partial block is dropped.
pub fn parse_blocks(data: &[u8]) -> Vec<FeatureBlock> {
    data.chunks_exact(FEATURES_BLOCK_LEN)
        .map(|b| FeatureBlock {
            available: get_u32(b, 0).unwrap_or(0),
            requested: get_u32(b, 4).unwrap_or(0),
            active: get_u32(b, 8).unwrap_or(0),
            never_changed: get_u32(b, 12).unwrap_or(0),
        })
        .collect()
}

/// Expands feature bits into named features: name i is bit i%32 of block i/32. Empty names mark
/// unused bits (uapi) and are skipped, as are names past the blocks the kernel returned.
pub fn expand_features(names: &[String], blocks: &[FeatureBlock]) -> Vec<Feature> {
    names
        .iter()
        .enumerate()
        .filter(|(_, n)| !n.is_empty())
        .filter_map(|(i, n)| {
            let b = blocks.get(i / 32)?;
            let bit = 1u32 << (i % 32);
            Some(Feature {
                name: n.clone(),
                available: b.available & bit != 0,
                requested: b.requested & bit != 0,
                active: b.active & bit != 0,
                never_changed: b.never_changed & bit != 0,
            })
        })
        .collect()
}

/// Maps private flag names to their bits in the GPFLAGS word (name i is bit i). GPFLAGS is 32 bits
/// wide, so names past the 32nd cannot carry a value and are left out. Duplicate names are made
/// unique as for statistics.
pub fn expand_priv_flags(names: Vec<String>, value: u32) -> IndexMap<String, bool> {
    let names: Vec<String> = names.into_iter().take(32).collect();
    unique_names(names)
        .into_iter()
        .enumerate()
        .map(|(i, n)| (n, value & (1u32 << i) != 0))
        .collect()
}

pub fn features(
    sock: &EthtoolSocket,
    name: &IfName,
    ifname: &str,
) -> Result<Vec<Feature>, Unavailable> {
    let names = read_set(sock, name, ifname, ETH_SS_FEATURES)?.ok_or_else(|| {
        Unavailable::new(format!("{ifname}: ETHTOOL_GFEATURES"), why::NOT_SUPPORTED)
    })?;
    let words = names.len().div_ceil(32);
    let err = |e: io::Error| cmd_error(ifname, "ETHTOOL_GFEATURES", &e);
    let len = table_len(GFEATURES_DATA_OFF, words, FEATURES_BLOCK_LEN)
        .ok_or_else(|| err(io::Error::from_raw_os_error(libc::E2BIG)))?;
    let mut buf = IoBuf::new(len).map_err(err)?;
    buf.put_u32(0, ETHTOOL_GFEATURES);
    buf.put_u32(GFEATURES_SIZE_OFF, words as u32);
    sock.call_buf(name, &mut buf).map_err(err)?;
    // The kernel copies min(our size, its size) blocks and reports its own size.
    let kernel_words = buf.u32_at(GFEATURES_SIZE_OFF).unwrap_or(0) as usize;
    let used = words.min(kernel_words);
    let end = GFEATURES_DATA_OFF + used * FEATURES_BLOCK_LEN;
    let blocks = parse_blocks(buf.bytes().get(GFEATURES_DATA_OFF..end).unwrap_or(&[]));
    Ok(expand_features(&names, &blocks))
}

pub fn priv_flags(
    sock: &EthtoolSocket,
    name: &IfName,
    ifname: &str,
) -> Result<IndexMap<String, bool>, Unavailable> {
    let names = read_set(sock, name, ifname, ETH_SS_PRIV_FLAGS)?.ok_or_else(|| {
        Unavailable::new(format!("{ifname}: ETHTOOL_GPFLAGS"), why::NOT_SUPPORTED)
    })?;
    if names.is_empty() {
        return Ok(IndexMap::new());
    }
    let mut v = EthtoolValue { cmd: ETHTOOL_GPFLAGS, data: 0 };
    sock.call(name, &mut v).map_err(|e| cmd_error(ifname, "ETHTOOL_GPFLAGS", &e))?;
    Ok(expand_priv_flags(names, v.data))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize, set: &[(usize, &str)]) -> Vec<String> {
        let mut v = vec![String::new(); n];
        for (i, s) in set {
            v[*i] = s.to_string();
        }
        v
    }

    #[test]
    fn bits_expand_across_blocks() {
        // Kernel 6.12 order: bit 14 rx-gro, bit 47 rx-checksum... use synthetic positions.
        let n = names(40, &[(0, "tx-scatter-gather"), (14, "rx-gro"), (33, "rx-hashing")]);
        let blocks = [
            FeatureBlock {
                available: 1 | 1 << 14,
                requested: 1 << 14,
                active: 1 << 14,
                never_changed: 0,
            },
            FeatureBlock { available: 0, requested: 0, active: 1 << 1, never_changed: 1 << 1 },
        ];
        let f = expand_features(&n, &blocks);
        assert_eq!(f.len(), 3);
        assert_eq!(
            f[1],
            Feature {
                name: "rx-gro".into(),
                available: true,
                requested: true,
                active: true,
                never_changed: false
            }
        );
        assert!(f[0].available && !f[0].active);
        assert_eq!(f[2].name, "rx-hashing");
        assert!(f[2].active && f[2].never_changed && !f[2].available);
    }

    #[test]
    fn names_beyond_returned_blocks_are_skipped() {
        let n = names(40, &[(35, "late")]);
        assert!(expand_features(&n, &[FeatureBlock::default()]).is_empty());
    }

    #[test]
    fn blocks_parse_native_endian() {
        let mut data = Vec::new();
        for v in [1u32, 2, 3, 4, 5] {
            data.extend(v.to_ne_bytes());
        }
        let b = parse_blocks(&data);
        assert_eq!(
            b,
            vec![FeatureBlock { available: 1, requested: 2, active: 3, never_changed: 4 }]
        );
    }

    #[test]
    fn priv_flags_map_bits_by_position() {
        let n = vec!["legacy-rx".to_string(), "disable-fw-lldp".into(), "legacy-rx".into()];
        let m = expand_priv_flags(n, 0b101);
        assert_eq!(m.len(), 3);
        assert!(m["legacy-rx"]);
        assert!(!m["disable-fw-lldp"]);
        assert!(m["legacy-rx#2"]);
        let many: Vec<String> = (0..40).map(|i| format!("f{i}")).collect();
        let m = expand_priv_flags(many, u32::MAX);
        assert_eq!(m.len(), 32);
    }

    proptest::proptest! {
        #[test]
        fn decoders_never_panic(
            data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
            names in proptest::collection::vec("[a-z-]{0,6}", 0..100),
            value in proptest::prelude::any::<u32>(),
        ) {
            let blocks = parse_blocks(&data);
            proptest::prop_assert_eq!(blocks.len(), data.len() / 16);
            let f = expand_features(&names, &blocks);
            proptest::prop_assert!(f.len() <= names.len());
            let m = expand_priv_flags(names.clone(), value);
            proptest::prop_assert_eq!(m.len(), names.len().min(32));
            let _ = super::super::rss::parse_ring_index(&data, names.len());
            let _ = super::super::tsinfo::decode_bits(value, &super::super::tsinfo::SOF_TIMESTAMPING_NAMES);
        }
    }
}
