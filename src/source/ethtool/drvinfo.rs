//! GDRVINFO: driver name, versions, bus address and the sizes of the other tables.

use super::cmd_error;
use super::ioctl::{ETHTOOL_GDRVINFO, EthtoolDrvinfo, EthtoolSocket, IfName};
use super::strings::slot_to_string;
use crate::avail::Unavailable;
use serde::{Deserialize, Serialize};

/// `struct ethtool_drvinfo` (`ethtool -i`), strings cut at their NUL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrvInfo {
    pub driver: String,
    pub version: String,
    pub fw_version: String,
    pub bus_info: String,
    pub erom_version: String,
    pub n_priv_flags: u32,
    pub n_stats: u32,
    pub testinfo_len: u32,
    pub eedump_len: u32,
    pub regdump_len: u32,
}

impl From<&EthtoolDrvinfo> for DrvInfo {
    fn from(d: &EthtoolDrvinfo) -> Self {
        DrvInfo {
            driver: slot_to_string(&d.driver),
            version: slot_to_string(&d.version),
            fw_version: slot_to_string(&d.fw_version),
            bus_info: slot_to_string(&d.bus_info),
            erom_version: slot_to_string(&d.erom_version),
            n_priv_flags: d.n_priv_flags,
            n_stats: d.n_stats,
            testinfo_len: d.testinfo_len,
            eedump_len: d.eedump_len,
            regdump_len: d.regdump_len,
        }
    }
}

pub fn drvinfo(sock: &EthtoolSocket, name: &IfName, ifname: &str) -> Result<DrvInfo, Unavailable> {
    let mut d = EthtoolDrvinfo { cmd: ETHTOOL_GDRVINFO, ..Default::default() };
    sock.call(name, &mut d).map_err(|e| cmd_error(ifname, "ETHTOOL_GDRVINFO", &e))?;
    Ok(DrvInfo::from(&d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_cut_at_nul() {
        let mut d = EthtoolDrvinfo { n_stats: 20, ..Default::default() };
        d.driver[..10].copy_from_slice(b"virtio_net");
        d.bus_info[..12].copy_from_slice(b"0000:00:03.0");
        let v = DrvInfo::from(&d);
        assert_eq!(v.driver, "virtio_net");
        assert_eq!(v.bus_info, "0000:00:03.0");
        assert_eq!(v.fw_version, "");
        assert_eq!(v.n_stats, 20);
    }
}
