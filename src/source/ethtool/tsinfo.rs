//! Timestamping capabilities (GET_TS_INFO, `ethtool -T`).

use super::cmd_error;
use super::ioctl::{ETHTOOL_GET_TS_INFO, EthtoolSocket, EthtoolTsInfo, IfName};
use crate::avail::Unavailable;
use serde::{Deserialize, Serialize};

/// SOF_TIMESTAMPING_* by bit, named as the kernel's ETH_SS_SOF_TIMESTAMPING set (and `ethtool -T`)
/// names them (net/ethtool/common.c sof_timestamping_names). Bit 17 (OPT_RX_FILTER) is in
/// net_tstamp.h; bit 18 (TX_COMPLETION) is newer than 6.12.
pub const SOF_TIMESTAMPING_NAMES: [&str; 19] = [
    "hardware-transmit",
    "software-transmit",
    "hardware-receive",
    "software-receive",
    "software-system-clock",
    "hardware-legacy-clock",
    "hardware-raw-clock",
    "option-id",
    "sched-transmit",
    "ack-transmit",
    "option-cmsg",
    "option-tsonly",
    "option-stats",
    "option-pktinfo",
    "option-tx-swhw",
    "bind-phc",
    "option-id-tcp",
    "option-rx-filter",
    "tx-completion",
];

/// enum hwtstamp_tx_types, named as ts_tx_type_names.
pub const HWTSTAMP_TX_NAMES: [&str; 4] = ["off", "on", "onestep-sync", "onestep-p2p"];

/// enum hwtstamp_rx_filters, named as ts_rx_filter_names.
pub const HWTSTAMP_FILTER_NAMES: [&str; 16] = [
    "none",
    "all",
    "some",
    "ptpv1-l4-event",
    "ptpv1-l4-sync",
    "ptpv1-l4-delay-req",
    "ptpv2-l4-event",
    "ptpv2-l4-sync",
    "ptpv2-l4-delay-req",
    "ptpv2-l2-event",
    "ptpv2-l2-sync",
    "ptpv2-l2-delay-req",
    "ptpv2-event",
    "ptpv2-sync",
    "ptpv2-delay-req",
    "ntp-all",
];

/// A bit mask as the kernel gave it, with the names of its set bits (`bit-N` for bits this
/// version of rxpath has no name for, so nothing set is ever hidden).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flags {
    pub raw: u32,
    pub names: Vec<String>,
}

/// Names the set bits of `raw` from `table` (bit i = table[i]).
pub fn decode_bits(raw: u32, table: &[&str]) -> Flags {
    let names = (0..32u32)
        .filter(|i| raw & (1u32 << i) != 0)
        .map(|i| match table.get(i as usize) {
            Some(n) => (*n).to_string(),
            None => format!("bit-{i}"),
        })
        .collect();
    Flags { raw, names }
}

/// `struct ethtool_ts_info`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TsInfo {
    pub so_timestamping: Flags,
    /// PTP hardware clock index (/dev/ptpN); -1 when there is none.
    pub phc_index: i32,
    pub tx_types: Flags,
    pub rx_filters: Flags,
}

impl From<&EthtoolTsInfo> for TsInfo {
    fn from(t: &EthtoolTsInfo) -> Self {
        TsInfo {
            so_timestamping: decode_bits(t.so_timestamping, &SOF_TIMESTAMPING_NAMES),
            phc_index: t.phc_index,
            tx_types: decode_bits(t.tx_types, &HWTSTAMP_TX_NAMES),
            rx_filters: decode_bits(t.rx_filters, &HWTSTAMP_FILTER_NAMES),
        }
    }
}

pub fn ts_info(sock: &EthtoolSocket, name: &IfName, ifname: &str) -> Result<TsInfo, Unavailable> {
    let mut t = EthtoolTsInfo { cmd: ETHTOOL_GET_TS_INFO, ..Default::default() };
    sock.call(name, &mut t).map_err(|e| cmd_error(ifname, "ETHTOOL_GET_TS_INFO", &e))?;
    Ok(TsInfo::from(&t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn software_only_device() {
        // ethtool_op_get_ts_info: TX_SOFTWARE | RX_SOFTWARE | SOFTWARE, no PHC.
        let t = EthtoolTsInfo { so_timestamping: 0x1a, phc_index: -1, ..Default::default() };
        let v = TsInfo::from(&t);
        assert_eq!(
            v.so_timestamping.names,
            vec!["software-transmit", "software-receive", "software-system-clock"]
        );
        assert_eq!(v.phc_index, -1);
        assert!(v.tx_types.names.is_empty());
    }

    #[test]
    fn ptp_nic_and_unknown_bits() {
        let f = decode_bits(1 << 0 | 1 << 1, &HWTSTAMP_TX_NAMES);
        assert_eq!(f.names, vec!["off", "on"]);
        let f = decode_bits(1 << 0 | 1 << 12 | 1 << 15, &HWTSTAMP_FILTER_NAMES);
        assert_eq!(f.names, vec!["none", "ptpv2-event", "ntp-all"]);
        let f = decode_bits(1 << 31 | 1 << 6, &SOF_TIMESTAMPING_NAMES);
        assert_eq!(f.names, vec!["hardware-raw-clock", "bit-31"]);
        assert_eq!(f.raw, 1 << 31 | 1 << 6);
    }

    #[test]
    fn json_keys_are_uapi_names() {
        let t = EthtoolTsInfo { so_timestamping: 0x8, phc_index: 2, ..Default::default() };
        let j = serde_json::to_value(TsInfo::from(&t)).unwrap();
        assert_eq!(j["so_timestamping"]["raw"], 8);
        assert_eq!(j["so_timestamping"]["names"][0], "software-receive");
        assert_eq!(j["phc_index"], 2);
    }
}
