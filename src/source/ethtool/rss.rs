//! RSS indirection table (GRXFHINDIR): which RX ring each hash bucket goes to.

use super::MAX_TRIES;
use super::cmd_error;
use super::ioctl::{
    ETHTOOL_GRXFHINDIR, EthtoolSocket, IfName, IoBuf, RXFH_DATA_OFF, RXFH_SIZE_OFF, table_len,
};
use crate::avail::Unavailable;
use std::io;

/// Reads the table: once with size 0 to learn its size, then with room for it. A table that grew
/// in between makes the kernel answer EINVAL; that is retried. Drivers without RSS (virtio
/// without the feature, veth, lo) answer EOPNOTSUPP.
pub fn rss_indir(
    sock: &EthtoolSocket,
    name: &IfName,
    ifname: &str,
) -> Result<Vec<u32>, Unavailable> {
    let err = |e: io::Error| cmd_error(ifname, "ETHTOOL_GRXFHINDIR", &e);
    let mut last = io::Error::from_raw_os_error(libc::EINVAL);
    for _ in 0..MAX_TRIES {
        let mut probe = IoBuf::new(RXFH_DATA_OFF).map_err(err)?;
        probe.put_u32(0, ETHTOOL_GRXFHINDIR);
        probe.put_u32(RXFH_SIZE_OFF, 0);
        sock.call_buf(name, &mut probe).map_err(err)?;
        let size = probe.u32_at(RXFH_SIZE_OFF).unwrap_or(0) as usize;
        if size == 0 {
            return Ok(Vec::new());
        }
        let len = table_len(RXFH_DATA_OFF, size, 4)
            .ok_or_else(|| err(io::Error::from_raw_os_error(libc::E2BIG)))?;
        let mut buf = IoBuf::new(len).map_err(err)?;
        buf.put_u32(0, ETHTOOL_GRXFHINDIR);
        buf.put_u32(RXFH_SIZE_OFF, size as u32);
        match sock.call_buf(name, &mut buf) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                last = e;
                continue;
            }
            Err(e) => return Err(err(e)),
        }
        let got = (buf.u32_at(RXFH_SIZE_OFF).unwrap_or(0) as usize).min(size);
        return Ok(parse_ring_index(buf.bytes().get(RXFH_DATA_OFF..).unwrap_or(&[]), got));
    }
    Err(err(last))
}

/// The first `n` native-endian u32 ring indices of `data`.
pub fn parse_ring_index(data: &[u8], n: usize) -> Vec<u32> {
    data.chunks_exact(4).take(n).filter_map(|c| c.try_into().ok().map(u32::from_ne_bytes)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_indices_decode() {
        let data: Vec<u8> = [0u32, 1, 0, 1, 7].iter().flat_map(|v| v.to_ne_bytes()).collect();
        assert_eq!(parse_ring_index(&data, 4), vec![0, 1, 0, 1]);
        assert_eq!(parse_ring_index(&data[..6], 4), vec![0]);
    }
}
