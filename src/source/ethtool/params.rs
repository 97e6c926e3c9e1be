//! Ring sizes, channel counts and interrupt coalescing: read, and (ring, channels) set.

use super::ioctl::{
    ETHTOOL_GCHANNELS, ETHTOOL_GCOALESCE, ETHTOOL_GRINGPARAM, ETHTOOL_SCHANNELS,
    ETHTOOL_SRINGPARAM, EthtoolChannels, EthtoolCoalesce, EthtoolRingparam, EthtoolSocket, IfName,
};
use super::{SetError, cmd_error};
use crate::avail::Unavailable;
use serde::{Deserialize, Serialize};
use std::io;

/// `struct ethtool_ringparam` (`ethtool -g`): maxima are read-only; 0 means no such ring.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ring {
    pub rx_max_pending: u32,
    pub rx_mini_max_pending: u32,
    pub rx_jumbo_max_pending: u32,
    pub tx_max_pending: u32,
    pub rx_pending: u32,
    pub rx_mini_pending: u32,
    pub rx_jumbo_pending: u32,
    pub tx_pending: u32,
}

/// `struct ethtool_channels` (`ethtool -l`): maxima are read-only; 0 means no such kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channels {
    pub max_rx: u32,
    pub max_tx: u32,
    pub max_other: u32,
    pub max_combined: u32,
    pub rx_count: u32,
    pub tx_count: u32,
    pub other_count: u32,
    pub combined_count: u32,
}

/// `struct ethtool_coalesce` (`ethtool -c`), all 22 fields under their uapi names. Drivers leave
/// the fields they do not support at 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coalesce {
    pub rx_coalesce_usecs: u32,
    pub rx_max_coalesced_frames: u32,
    pub rx_coalesce_usecs_irq: u32,
    pub rx_max_coalesced_frames_irq: u32,
    pub tx_coalesce_usecs: u32,
    pub tx_max_coalesced_frames: u32,
    pub tx_coalesce_usecs_irq: u32,
    pub tx_max_coalesced_frames_irq: u32,
    pub stats_block_coalesce_usecs: u32,
    pub use_adaptive_rx_coalesce: u32,
    pub use_adaptive_tx_coalesce: u32,
    pub pkt_rate_low: u32,
    pub rx_coalesce_usecs_low: u32,
    pub rx_max_coalesced_frames_low: u32,
    pub tx_coalesce_usecs_low: u32,
    pub tx_max_coalesced_frames_low: u32,
    pub pkt_rate_high: u32,
    pub rx_coalesce_usecs_high: u32,
    pub rx_max_coalesced_frames_high: u32,
    pub tx_coalesce_usecs_high: u32,
    pub tx_max_coalesced_frames_high: u32,
    pub rate_sample_interval: u32,
}

impl From<&EthtoolRingparam> for Ring {
    fn from(r: &EthtoolRingparam) -> Self {
        Ring {
            rx_max_pending: r.rx_max_pending,
            rx_mini_max_pending: r.rx_mini_max_pending,
            rx_jumbo_max_pending: r.rx_jumbo_max_pending,
            tx_max_pending: r.tx_max_pending,
            rx_pending: r.rx_pending,
            rx_mini_pending: r.rx_mini_pending,
            rx_jumbo_pending: r.rx_jumbo_pending,
            tx_pending: r.tx_pending,
        }
    }
}

impl From<&EthtoolChannels> for Channels {
    fn from(c: &EthtoolChannels) -> Self {
        Channels {
            max_rx: c.max_rx,
            max_tx: c.max_tx,
            max_other: c.max_other,
            max_combined: c.max_combined,
            rx_count: c.rx_count,
            tx_count: c.tx_count,
            other_count: c.other_count,
            combined_count: c.combined_count,
        }
    }
}

impl From<&EthtoolCoalesce> for Coalesce {
    fn from(c: &EthtoolCoalesce) -> Self {
        Coalesce {
            rx_coalesce_usecs: c.rx_coalesce_usecs,
            rx_max_coalesced_frames: c.rx_max_coalesced_frames,
            rx_coalesce_usecs_irq: c.rx_coalesce_usecs_irq,
            rx_max_coalesced_frames_irq: c.rx_max_coalesced_frames_irq,
            tx_coalesce_usecs: c.tx_coalesce_usecs,
            tx_max_coalesced_frames: c.tx_max_coalesced_frames,
            tx_coalesce_usecs_irq: c.tx_coalesce_usecs_irq,
            tx_max_coalesced_frames_irq: c.tx_max_coalesced_frames_irq,
            stats_block_coalesce_usecs: c.stats_block_coalesce_usecs,
            use_adaptive_rx_coalesce: c.use_adaptive_rx_coalesce,
            use_adaptive_tx_coalesce: c.use_adaptive_tx_coalesce,
            pkt_rate_low: c.pkt_rate_low,
            rx_coalesce_usecs_low: c.rx_coalesce_usecs_low,
            rx_max_coalesced_frames_low: c.rx_max_coalesced_frames_low,
            tx_coalesce_usecs_low: c.tx_coalesce_usecs_low,
            tx_max_coalesced_frames_low: c.tx_max_coalesced_frames_low,
            pkt_rate_high: c.pkt_rate_high,
            rx_coalesce_usecs_high: c.rx_coalesce_usecs_high,
            rx_max_coalesced_frames_high: c.rx_max_coalesced_frames_high,
            tx_coalesce_usecs_high: c.tx_coalesce_usecs_high,
            tx_max_coalesced_frames_high: c.tx_max_coalesced_frames_high,
            rate_sample_interval: c.rate_sample_interval,
        }
    }
}

pub fn ring(sock: &EthtoolSocket, name: &IfName, ifname: &str) -> Result<Ring, Unavailable> {
    let mut r = EthtoolRingparam { cmd: ETHTOOL_GRINGPARAM, ..Default::default() };
    sock.call(name, &mut r).map_err(|e| cmd_error(ifname, "ETHTOOL_GRINGPARAM", &e))?;
    Ok(Ring::from(&r))
}

pub fn channels(
    sock: &EthtoolSocket,
    name: &IfName,
    ifname: &str,
) -> Result<Channels, Unavailable> {
    let mut c = EthtoolChannels { cmd: ETHTOOL_GCHANNELS, ..Default::default() };
    sock.call(name, &mut c).map_err(|e| cmd_error(ifname, "ETHTOOL_GCHANNELS", &e))?;
    Ok(Channels::from(&c))
}

pub fn coalesce(
    sock: &EthtoolSocket,
    name: &IfName,
    ifname: &str,
) -> Result<Coalesce, Unavailable> {
    let mut c = EthtoolCoalesce { cmd: ETHTOOL_GCOALESCE, ..Default::default() };
    sock.call(name, &mut c).map_err(|e| cmd_error(ifname, "ETHTOOL_GCOALESCE", &e))?;
    Ok(Coalesce::from(&c))
}

/// Checks wanted channel counts against the driver's current maxima, with the same rules as the
/// ethtool core (net/ethtool/ioctl.c ethtool_set_channels), so an impossible request is refused
/// with a message naming the interface and the value, before anything is written.
pub fn check_channels(ifname: &str, current: &Channels, want: &Channels) -> Result<(), String> {
    for (n, max, kind) in [
        (want.rx_count, current.max_rx, "rx"),
        (want.tx_count, current.max_tx, "tx"),
        (want.other_count, current.max_other, "other"),
        (want.combined_count, current.max_combined, "combined"),
    ] {
        if n > max {
            return Err(if max == 0 {
                format!(
                    "{ifname}: {n} {kind} channels asked, but the driver has no {kind} channels"
                )
            } else {
                format!("{ifname}: {n} {kind} channels exceed the driver maximum {max}")
            });
        }
    }
    if want.combined_count == 0 && (want.rx_count == 0 || want.tx_count == 0) {
        return Err(format!(
            "{ifname}: at least one rx and one tx channel are needed (asked rx {}, tx {}, \
             combined 0)",
            want.rx_count, want.tx_count
        ));
    }
    Ok(())
}

/// Checks wanted ring sizes against the driver maxima (the ethtool core refuses larger ones).
pub fn check_ring(ifname: &str, current: &Ring, want: &Ring) -> Result<(), String> {
    for (n, max, kind) in [
        (want.rx_pending, current.rx_max_pending, "rx"),
        (want.rx_mini_pending, current.rx_mini_max_pending, "rx-mini"),
        (want.rx_jumbo_pending, current.rx_jumbo_max_pending, "rx-jumbo"),
        (want.tx_pending, current.tx_max_pending, "tx"),
    ] {
        if n > max {
            return Err(if max == 0 {
                format!("{ifname}: {kind} ring size {n} asked, but the driver has no {kind} ring")
            } else {
                format!("{ifname}: {kind} ring size {n} exceeds the driver maximum {max}")
            });
        }
    }
    Ok(())
}

fn set_error(ifname: &str, cmd: &str, value: String, e: io::Error) -> SetError {
    match e.raw_os_error() {
        Some(libc::EINVAL) => {
            SetError::Invalid(format!("{ifname}: the driver rejected {value} (EINVAL)"))
        }
        Some(libc::EOPNOTSUPP | libc::EPERM | libc::EACCES | libc::ENODEV) => {
            SetError::Unavailable(cmd_error(ifname, cmd, &e))
        }
        _ => SetError::Io { msg: format!("{ifname}: {cmd} with {value} failed"), source: e },
    }
}

fn describe_channels(c: &Channels) -> String {
    format!(
        "rx {} tx {} other {} combined {} channels",
        c.rx_count, c.tx_count, c.other_count, c.combined_count
    )
}

fn describe_ring(r: &Ring) -> String {
    format!(
        "ring sizes rx {} rx-mini {} rx-jumbo {} tx {}",
        r.rx_pending, r.rx_mini_pending, r.rx_jumbo_pending, r.tx_pending
    )
}

fn open(ifname: &str) -> Result<(EthtoolSocket, IfName), SetError> {
    let name =
        IfName::new(ifname).map_err(|m| SetError::Unavailable(Unavailable::new(ifname, m)))?;
    let sock = EthtoolSocket::new().map_err(|e| SetError::Io {
        msg: format!("{ifname}: cannot open a socket for SIOCETHTOOL"),
        source: e,
    })?;
    Ok((sock, name))
}

/// Sets the channel counts (`rx_count`, `tx_count`, `other_count`, `combined_count` of `want`;
/// its `max_*` fields are ignored) in the calling thread's network namespace.
///
/// Reads the current values first, refuses what is out of range without writing, skips the write
/// when nothing changes, and returns the values read back afterwards, which is what the driver
/// actually applied.
pub fn set_channels(ifname: &str, want: &Channels) -> Result<Channels, SetError> {
    let (sock, name) = open(ifname)?;
    let current = channels(&sock, &name, ifname).map_err(SetError::Unavailable)?;
    check_channels(ifname, &current, want).map_err(SetError::Invalid)?;
    let same = current.rx_count == want.rx_count
        && current.tx_count == want.tx_count
        && current.other_count == want.other_count
        && current.combined_count == want.combined_count;
    if same {
        return Ok(current);
    }
    let mut c = EthtoolChannels {
        cmd: ETHTOOL_SCHANNELS,
        max_rx: current.max_rx,
        max_tx: current.max_tx,
        max_other: current.max_other,
        max_combined: current.max_combined,
        rx_count: want.rx_count,
        tx_count: want.tx_count,
        other_count: want.other_count,
        combined_count: want.combined_count,
    };
    sock.call(&name, &mut c)
        .map_err(|e| set_error(ifname, "ETHTOOL_SCHANNELS", describe_channels(want), e))?;
    channels(&sock, &name, ifname).map_err(SetError::Unavailable)
}

/// Sets the ring sizes (`rx_pending`, `rx_mini_pending`, `rx_jumbo_pending`, `tx_pending` of
/// `want`; its `*_max_pending` fields are ignored), like `set_channels`: checked against the
/// maxima first, skipped when unchanged, and the values read back are returned (drivers may round).
pub fn set_ring(ifname: &str, want: &Ring) -> Result<Ring, SetError> {
    let (sock, name) = open(ifname)?;
    let current = ring(&sock, &name, ifname).map_err(SetError::Unavailable)?;
    check_ring(ifname, &current, want).map_err(SetError::Invalid)?;
    let same = current.rx_pending == want.rx_pending
        && current.rx_mini_pending == want.rx_mini_pending
        && current.rx_jumbo_pending == want.rx_jumbo_pending
        && current.tx_pending == want.tx_pending;
    if same {
        return Ok(current);
    }
    let mut r = EthtoolRingparam {
        cmd: ETHTOOL_SRINGPARAM,
        rx_max_pending: current.rx_max_pending,
        rx_mini_max_pending: current.rx_mini_max_pending,
        rx_jumbo_max_pending: current.rx_jumbo_max_pending,
        tx_max_pending: current.tx_max_pending,
        rx_pending: want.rx_pending,
        rx_mini_pending: want.rx_mini_pending,
        rx_jumbo_pending: want.rx_jumbo_pending,
        tx_pending: want.tx_pending,
    };
    sock.call(&name, &mut r)
        .map_err(|e| set_error(ifname, "ETHTOOL_SRINGPARAM", describe_ring(want), e))?;
    ring(&sock, &name, ifname).map_err(SetError::Unavailable)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn veth() -> Channels {
        Channels { max_rx: 4, max_tx: 4, rx_count: 1, tx_count: 1, ..Default::default() }
    }

    #[test]
    fn channels_within_maxima_pass() {
        let want = Channels { rx_count: 2, tx_count: 2, ..Default::default() };
        assert_eq!(check_channels("v0", &veth(), &want), Ok(()));
    }

    #[test]
    fn channels_over_maximum_name_interface_and_value() {
        let want = Channels { rx_count: 8, tx_count: 1, ..Default::default() };
        assert_eq!(
            check_channels("veth0", &veth(), &want).unwrap_err(),
            "veth0: 8 rx channels exceed the driver maximum 4"
        );
        let want = Channels { combined_count: 8, ..Default::default() };
        let cur = Channels { max_combined: 4, combined_count: 1, ..Default::default() };
        assert_eq!(
            check_channels("veth0", &cur, &want).unwrap_err(),
            "veth0: 8 combined channels exceed the driver maximum 4"
        );
        let e = check_channels("v0", &veth(), &Channels { combined_count: 2, ..veth() });
        assert!(e.unwrap_err().contains("no combined channels"));
    }

    #[test]
    fn channels_need_rx_and_tx() {
        let want = Channels { rx_count: 2, tx_count: 0, ..Default::default() };
        assert!(check_channels("v0", &veth(), &want).unwrap_err().contains("at least one rx"));
    }

    #[test]
    fn ring_over_maximum_is_refused() {
        let cur = Ring { rx_max_pending: 4096, tx_max_pending: 4096, ..Default::default() };
        let want = Ring { rx_pending: 8192, tx_pending: 512, ..Default::default() };
        assert_eq!(
            check_ring("eth0", &cur, &want).unwrap_err(),
            "eth0: rx ring size 8192 exceeds the driver maximum 4096"
        );
        let want = Ring { rx_pending: 4096, tx_pending: 4096, ..Default::default() };
        assert_eq!(check_ring("eth0", &cur, &want), Ok(()));
    }
}
