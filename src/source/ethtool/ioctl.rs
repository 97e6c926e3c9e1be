//! SIOCETHTOOL plumbing: the socket, the `ifreq`, the uapi structs and a guarded buffer for the
//! variable-length commands.
//!
//! Layouts are from include/uapi/linux/ethtool.h (6.12); every struct carries a size assert so a
//! typo in a field list fails the build instead of corrupting memory.

use std::io;
use std::mem::{offset_of, size_of};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

pub const ETHTOOL_GDRVINFO: u32 = 0x03;
pub const ETHTOOL_GCOALESCE: u32 = 0x0e;
pub const ETHTOOL_GRINGPARAM: u32 = 0x10;
pub const ETHTOOL_SRINGPARAM: u32 = 0x11;
pub const ETHTOOL_GSTRINGS: u32 = 0x1b;
pub const ETHTOOL_GSTATS: u32 = 0x1d;
pub const ETHTOOL_GPFLAGS: u32 = 0x27;
pub const ETHTOOL_GSSET_INFO: u32 = 0x37;
pub const ETHTOOL_GRXFHINDIR: u32 = 0x38;
pub const ETHTOOL_GFEATURES: u32 = 0x3a;
pub const ETHTOOL_GCHANNELS: u32 = 0x3c;
pub const ETHTOOL_SCHANNELS: u32 = 0x3d;
pub const ETHTOOL_GET_TS_INFO: u32 = 0x41;

/// `enum ethtool_stringset` values used here.
pub const ETH_SS_STATS: u32 = 1;
pub const ETH_SS_PRIV_FLAGS: u32 = 2;
pub const ETH_SS_FEATURES: u32 = 4;

pub const ETH_GSTRING_LEN: usize = 32;

/// Largest element count we accept from the kernel for one table. The kernel itself caps stats at
/// S32_MAX / 8; a million names is 32 MiB of strings, far beyond any real driver (mlx5 has a few
/// thousand), so anything larger is treated as garbage rather than allocated.
pub const MAX_COUNT: usize = 1 << 20;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct EthtoolDrvinfo {
    pub cmd: u32,
    pub driver: [u8; 32],
    pub version: [u8; 32],
    pub fw_version: [u8; 32],
    pub bus_info: [u8; 32],
    pub erom_version: [u8; 32],
    pub reserved2: [u8; 12],
    pub n_priv_flags: u32,
    pub n_stats: u32,
    pub testinfo_len: u32,
    pub eedump_len: u32,
    pub regdump_len: u32,
}
const _: () = assert!(size_of::<EthtoolDrvinfo>() == 196);

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct EthtoolValue {
    pub cmd: u32,
    pub data: u32,
}
const _: () = assert!(size_of::<EthtoolValue>() == 8);

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EthtoolRingparam {
    pub cmd: u32,
    pub rx_max_pending: u32,
    pub rx_mini_max_pending: u32,
    pub rx_jumbo_max_pending: u32,
    pub tx_max_pending: u32,
    pub rx_pending: u32,
    pub rx_mini_pending: u32,
    pub rx_jumbo_pending: u32,
    pub tx_pending: u32,
}
const _: () = assert!(size_of::<EthtoolRingparam>() == 36);

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EthtoolChannels {
    pub cmd: u32,
    pub max_rx: u32,
    pub max_tx: u32,
    pub max_other: u32,
    pub max_combined: u32,
    pub rx_count: u32,
    pub tx_count: u32,
    pub other_count: u32,
    pub combined_count: u32,
}
const _: () = assert!(size_of::<EthtoolChannels>() == 36);

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct EthtoolCoalesce {
    pub cmd: u32,
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
const _: () = assert!(size_of::<EthtoolCoalesce>() == 92);

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct EthtoolTsInfo {
    pub cmd: u32,
    pub so_timestamping: u32,
    pub phc_index: i32,
    pub tx_types: u32,
    pub tx_reserved: [u32; 3],
    pub rx_filters: u32,
    pub rx_reserved: [u32; 3],
}
const _: () = assert!(size_of::<EthtoolTsInfo>() == 44);

// Headers of the variable-length commands. They are never passed by reference: the command is
// built in an `IoBuf` at these offsets, so the asserts pin where the trailing array starts.

/// `struct ethtool_gstrings { cmd, string_set, len, u8 data[] }`
#[repr(C)]
pub struct EthtoolGstrings {
    pub cmd: u32,
    pub string_set: u32,
    pub len: u32,
}
const _: () = assert!(size_of::<EthtoolGstrings>() == 12);
pub const GSTRINGS_LEN_OFF: usize = offset_of!(EthtoolGstrings, len);
pub const GSTRINGS_DATA_OFF: usize = size_of::<EthtoolGstrings>();

/// `struct ethtool_sset_info { cmd, reserved, u64 sset_mask, u32 data[] }`
#[repr(C)]
pub struct EthtoolSsetInfo {
    pub cmd: u32,
    pub reserved: u32,
    pub sset_mask: u64,
}
const _: () = assert!(size_of::<EthtoolSsetInfo>() == 16);
pub const SSET_MASK_OFF: usize = offset_of!(EthtoolSsetInfo, sset_mask);
pub const SSET_DATA_OFF: usize = size_of::<EthtoolSsetInfo>();

/// `struct ethtool_stats { cmd, n_stats, u64 data[] }`: the u64 array starts at 8.
#[repr(C)]
pub struct EthtoolStats {
    pub cmd: u32,
    pub n_stats: u32,
}
const _: () = assert!(size_of::<EthtoolStats>() == 8);
pub const STATS_N_OFF: usize = offset_of!(EthtoolStats, n_stats);
pub const STATS_DATA_OFF: usize = size_of::<EthtoolStats>();

/// `struct ethtool_gfeatures { cmd, size, ethtool_get_features_block features[] }`
#[repr(C)]
pub struct EthtoolGfeatures {
    pub cmd: u32,
    pub size: u32,
}
const _: () = assert!(size_of::<EthtoolGfeatures>() == 8);
pub const GFEATURES_SIZE_OFF: usize = offset_of!(EthtoolGfeatures, size);
pub const GFEATURES_DATA_OFF: usize = size_of::<EthtoolGfeatures>();

/// `struct ethtool_get_features_block { available, requested, active, never_changed }`
#[repr(C)]
pub struct EthtoolGetFeaturesBlock {
    pub available: u32,
    pub requested: u32,
    pub active: u32,
    pub never_changed: u32,
}
pub const FEATURES_BLOCK_LEN: usize = size_of::<EthtoolGetFeaturesBlock>();
const _: () = assert!(FEATURES_BLOCK_LEN == 16);

/// `struct ethtool_rxfh_indir { cmd, size, u32 ring_index[] }`
#[repr(C)]
pub struct EthtoolRxfhIndir {
    pub cmd: u32,
    pub size: u32,
}
const _: () = assert!(size_of::<EthtoolRxfhIndir>() == 8);
pub const RXFH_SIZE_OFF: usize = offset_of!(EthtoolRxfhIndir, size);
pub const RXFH_DATA_OFF: usize = size_of::<EthtoolRxfhIndir>();

// The kernel reads `ifr_data` at offset IFNAMSIZ of a 40-byte ifreq on 64-bit targets.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(size_of::<libc::ifreq>() == 40);

/// An interface name checked to fit `ifr_name` (IFNAMSIZ - 1 bytes plus the NUL).
#[derive(Clone, Copy, Debug)]
pub struct IfName([libc::c_char; libc::IFNAMSIZ]);

impl IfName {
    pub fn new(name: &str) -> Result<IfName, String> {
        let bytes = name.as_bytes();
        if bytes.is_empty() {
            return Err("empty interface name".into());
        }
        if bytes.len() >= libc::IFNAMSIZ {
            return Err(format!(
                "interface name {name:?} is {} bytes long; Linux allows at most {}",
                bytes.len(),
                libc::IFNAMSIZ - 1
            ));
        }
        if bytes.contains(&0) {
            return Err(format!("interface name {name:?} contains a NUL byte"));
        }
        let mut out = [0 as libc::c_char; libc::IFNAMSIZ];
        for (o, b) in out.iter_mut().zip(bytes) {
            *o = *b as libc::c_char;
        }
        Ok(IfName(out))
    }
}

/// The socket every SIOCETHTOOL goes through. The kernel resolves the interface name in the
/// network namespace the socket was created in, not the one the caller is in later.
#[derive(Debug)]
pub struct EthtoolSocket {
    fd: OwnedFd,
}

impl EthtoolSocket {
    /// An AF_INET datagram socket, falling back to AF_UNIX where IPv4 is not built in: any socket
    /// family reaches dev_ioctl for SIOCETHTOOL.
    pub fn new() -> io::Result<EthtoolSocket> {
        let mut last = io::Error::from_raw_os_error(libc::EAFNOSUPPORT);
        for family in [libc::AF_INET, libc::AF_UNIX] {
            // SAFETY: plain syscall with constant arguments; the result is checked.
            let fd = unsafe { libc::socket(family, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
            if fd >= 0 {
                // SAFETY: fd is a fresh descriptor that nothing else owns.
                return Ok(EthtoolSocket { fd: unsafe { OwnedFd::from_raw_fd(fd) } });
            }
            last = io::Error::last_os_error();
        }
        Err(last)
    }

    /// # Safety
    /// `data` must point to writable memory at least as large as everything the kernel reads or
    /// writes for the command in its first u32.
    unsafe fn ioctl_raw(&self, name: &IfName, data: *mut u8) -> io::Result<()> {
        // SAFETY: ifreq is plain old data (arrays, integers, pointers); all-zero is valid.
        let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
        ifr.ifr_name = name.0;
        ifr.ifr_ifru.ifru_data = data.cast();
        // SAFETY: ifr outlives the call; the caller vouches for `data`.
        let rc =
            unsafe { libc::ioctl(self.fd.as_raw_fd(), libc::SIOCETHTOOL as libc::Ioctl, &mut ifr) };
        if rc < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
    }

    /// A fixed-size command: the kernel copies exactly `size_of::<T>()` bytes each way.
    pub fn call<T: FixedCmd>(&self, name: &IfName, cmd: &mut T) -> io::Result<()> {
        // SAFETY: FixedCmd is only implemented for the repr(C) uapi structs above, whose sizes are
        // asserted to be what the kernel copies for their commands.
        unsafe { self.ioctl_raw(name, (cmd as *mut T).cast()) }
    }

    /// A variable-length command built in a guarded buffer.
    pub fn call_buf(&self, name: &IfName, buf: &mut IoBuf) -> io::Result<()> {
        // SAFETY: the buffer is `usable` bytes followed by a PROT_NONE page: whatever the kernel
        // writes past our estimate lands in our own slack or faults (EFAULT), never in other memory.
        unsafe { self.ioctl_raw(name, buf.ptr) }
    }
}

/// Marker for the uapi structs the kernel copies whole, by size.
///
/// # Safety
/// Implementors must be `repr(C)` with the exact size of their uapi struct.
pub unsafe trait FixedCmd {}
// SAFETY (all): repr(C), sizes asserted above.
unsafe impl FixedCmd for EthtoolDrvinfo {}
unsafe impl FixedCmd for EthtoolValue {}
unsafe impl FixedCmd for EthtoolRingparam {}
unsafe impl FixedCmd for EthtoolChannels {}
unsafe impl FixedCmd for EthtoolCoalesce {}
unsafe impl FixedCmd for EthtoolTsInfo {}

/// A zeroed, page-aligned buffer followed by an inaccessible guard page.
///
/// GSTRINGS and GSTATS write as many entries as the driver has *now*, ignoring the count we
/// passed (net/ethtool/ioctl.c), so a count that grows between GSSET_INFO and the read would
/// overrun any heap buffer. Here the overrun goes into the page slack (ours, unused) or hits the
/// guard page, where copy_to_user stops and the ioctl fails with EFAULT.
pub struct IoBuf {
    ptr: *mut u8,
    usable: usize,
    map_len: usize,
}

// SAFETY: an IoBuf owns its mapping alone (nothing else points into it) and hands it out only
// through &self / &mut self, as a Vec owns its heap block.
unsafe impl Send for IoBuf {}

impl IoBuf {
    /// The buffer kept in `slot`, replaced by a bigger one first when it holds less than `len`
    /// bytes: a buffer re-used for every call costs no mmap, mprotect and munmap per call.
    pub fn at_least(slot: &mut Option<IoBuf>, len: usize) -> io::Result<&mut IoBuf> {
        if slot.as_ref().is_some_and(|b| b.usable < len) {
            *slot = None;
        }
        match slot {
            Some(b) => Ok(b),
            None => Ok(slot.insert(IoBuf::new(len)?)),
        }
    }

    pub fn new(len: usize) -> io::Result<IoBuf> {
        // SAFETY: sysconf has no memory-safety preconditions.
        let page = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
            p if p > 0 => p as usize,
            _ => 4096,
        };
        let too_big = || io::Error::new(io::ErrorKind::InvalidInput, "ethtool buffer too large");
        let usable = len.max(1).checked_next_multiple_of(page).ok_or_else(too_big)?;
        let map_len = usable.checked_add(page).ok_or_else(too_big)?;
        // SAFETY: anonymous private mapping, no file; result checked against MAP_FAILED.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let buf = IoBuf { ptr: ptr.cast(), usable, map_len };
        // SAFETY: the range [usable, map_len) lies inside the mapping just made.
        let rc = unsafe { libc::mprotect(buf.ptr.add(usable).cast(), page, libc::PROT_NONE) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(buf)
    }

    /// Everything the kernel may have written (the slack included).
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: [ptr, ptr+usable) is mapped read/write for the life of self; the kernel only
        // writes during call_buf, which takes &mut self.
        unsafe { std::slice::from_raw_parts(self.ptr, self.usable) }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in bytes(), and &mut self makes the access unique.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.usable) }
    }

    pub fn put_u32(&mut self, off: usize, v: u32) {
        if let Some(b) = self.bytes_mut().get_mut(off..off.saturating_add(4)) {
            b.copy_from_slice(&v.to_ne_bytes());
        }
    }

    pub fn put_u64(&mut self, off: usize, v: u64) {
        if let Some(b) = self.bytes_mut().get_mut(off..off.saturating_add(8)) {
            b.copy_from_slice(&v.to_ne_bytes());
        }
    }

    pub fn u32_at(&self, off: usize) -> Option<u32> {
        get_u32(self.bytes(), off)
    }

    pub fn u64_at(&self, off: usize) -> Option<u64> {
        get_u64(self.bytes(), off)
    }
}

impl Drop for IoBuf {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in new(); nothing borrows it past self.
        unsafe {
            libc::munmap(self.ptr.cast(), self.map_len);
        }
    }
}

pub fn get_u32(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_ne_bytes(s.try_into().ok()?))
}

pub fn get_u64(b: &[u8], off: usize) -> Option<u64> {
    let s = b.get(off..off.checked_add(8)?)?;
    Some(u64::from_ne_bytes(s.try_into().ok()?))
}

/// Bytes needed for a header plus `n` elements of `elem` bytes, or None if implausible.
pub fn table_len(header: usize, n: usize, elem: usize) -> Option<usize> {
    if n > MAX_COUNT {
        return None;
    }
    n.checked_mul(elem)?.checked_add(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ifname_limits() {
        assert!(IfName::new("eth0").is_ok());
        assert!(IfName::new("a23456789012345").is_ok());
        let e = IfName::new("a234567890123456").unwrap_err();
        assert!(e.contains("at most 15"), "{e}");
        assert!(IfName::new("").is_err());
        assert!(IfName::new("a\0b").is_err());
    }

    #[test]
    fn iobuf_is_zeroed_and_bounds_checked() {
        let mut b = IoBuf::new(20).unwrap();
        assert!(b.bytes().len() >= 20);
        assert!(b.bytes().iter().all(|&x| x == 0));
        b.put_u32(4, 7);
        b.put_u64(8, u64::MAX);
        assert_eq!(b.u32_at(4), Some(7));
        assert_eq!(b.u64_at(8), Some(u64::MAX));
        let end = b.bytes().len();
        assert_eq!(b.u32_at(end - 2), None);
        b.put_u32(end - 2, 1); // ignored, not a panic
        assert_eq!(b.u32_at(usize::MAX - 1), None);
    }

    #[test]
    fn kernel_writes_past_the_buffer_stop_at_the_guard_page() {
        // Any copy_to_user behaves as in GSTATS: read() from /dev/zero asked for more than the
        // usable part must copy at most up to the guard page, never beyond.
        let mut b = IoBuf::new(10).unwrap();
        let usable = b.bytes().len();
        let zero = std::fs::File::open("/dev/zero").unwrap();
        b.put_u32(0, 0xdead_beef);
        // SAFETY: deliberately oversized read into a mapping whose excess is PROT_NONE.
        let n = unsafe { libc::read(zero.as_raw_fd(), b.ptr.cast(), usable + 4096) };
        let e = io::Error::last_os_error();
        assert!(n as usize == usable || e.raw_os_error() == Some(libc::EFAULT), "{n} {e}");
        if n > 0 {
            assert_eq!(b.u32_at(0), Some(0));
        }
    }

    #[test]
    fn table_len_rejects_garbage_counts() {
        assert_eq!(table_len(12, 3, 32), Some(108));
        assert_eq!(table_len(12, MAX_COUNT + 1, 32), None);
    }
}
