//! Netlink messages and attributes, and an `AF_NETLINK` socket that sends one request and collects
//! its (possibly multipart) reply.
//!
//! Everything that looks at bytes is a pure function over a slice, so tests feed crafted, truncated
//! and random buffers; nothing here indexes without a bounds check, so no input can make it panic.
//!
//! Layout and constants: include/uapi/linux/netlink.h (struct nlmsghdr, struct nlattr,
//! struct nlmsgerr, NLM_F_*, NLMSG_*, NLA_F_*, NETLINK_* socket options).

use super::NlError;
use crate::source::ParseError;
use std::io;
use std::mem;

// include/uapi/linux/netlink.h
pub const NLM_F_REQUEST: u16 = 0x01;
pub const NLM_F_MULTI: u16 = 0x02;
pub const NLM_F_ACK: u16 = 0x04;
pub const NLM_F_DUMP_INTR: u16 = 0x10;
pub const NLM_F_ROOT: u16 = 0x100;
pub const NLM_F_MATCH: u16 = 0x200;
pub const NLM_F_DUMP: u16 = NLM_F_ROOT | NLM_F_MATCH;
/// On an ack (NLMSG_ERROR): the original request was not echoed back (NETLINK_CAP_ACK).
pub const NLM_F_CAPPED: u16 = 0x100;
/// On an ack: extended-ack TLVs (`enum nlmsgerr_attrs`) follow.
pub const NLM_F_ACK_TLVS: u16 = 0x200;

pub const NLMSG_NOOP: u16 = 0x1;
pub const NLMSG_ERROR: u16 = 0x2;
pub const NLMSG_DONE: u16 = 0x3;
pub const NLMSG_OVERRUN: u16 = 0x4;

pub const NLA_F_NESTED: u16 = 1 << 15;
pub const NLA_F_NET_BYTEORDER: u16 = 1 << 14;
pub const NLA_TYPE_MASK: u16 = !(NLA_F_NESTED | NLA_F_NET_BYTEORDER);

/// `enum nlmsgerr_attrs`: NLMSGERR_ATTR_MSG, the kernel's human-readable reason.
const NLMSGERR_ATTR_MSG: u16 = 1;

const NETLINK_CAP_ACK: libc::c_int = 10;
const NETLINK_EXT_ACK: libc::c_int = 11;

/// sizeof(struct nlmsghdr): u32 len, u16 type, u16 flags, u32 seq, u32 pid.
pub const NLMSG_HDRLEN: usize = 16;
/// sizeof(struct nlattr): u16 len, u16 type.
pub const NLA_HDRLEN: usize = 4;

/// NLMSG_ALIGN / NLA_ALIGN: both 4. Saturates instead of wrapping, so a huge claimed length can
/// only ever walk past the end of the buffer (and be rejected), never back into it.
pub fn align4(len: usize) -> usize {
    len.saturating_add(3) & !3
}

fn rd_u16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_ne_bytes([s[0], s[1]]))
}

fn rd_u32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
}

// ---------------------------------------------------------------------------------------------
// Attributes
// ---------------------------------------------------------------------------------------------

/// One netlink attribute. `kind` has the NLA_F_NESTED / NLA_F_NET_BYTEORDER bits masked off; they
/// are kept in `nested` / `net_byteorder`, because some families set NLA_F_NESTED and some do not
/// on the very same kind of nest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attr<'a> {
    pub kind: u16,
    pub nested: bool,
    pub net_byteorder: bool,
    pub payload: &'a [u8],
}

impl<'a> Attr<'a> {
    fn wrong_len(&self, want: &str) -> ParseError {
        ParseError::new(
            0,
            format!(
                "attribute {} has a {}-byte payload, expected {want}",
                self.kind,
                self.payload.len()
            ),
        )
    }

    pub fn u8(&self) -> Result<u8, ParseError> {
        match self.payload {
            [a] => Ok(*a),
            _ => Err(self.wrong_len("1 (u8)")),
        }
    }

    pub fn u16(&self) -> Result<u16, ParseError> {
        match self.payload {
            [a, b] => Ok(u16::from_ne_bytes([*a, *b])),
            _ => Err(self.wrong_len("2 (u16)")),
        }
    }

    pub fn u32(&self) -> Result<u32, ParseError> {
        match self.payload {
            [a, b, c, d] => Ok(u32::from_ne_bytes([*a, *b, *c, *d])),
            _ => Err(self.wrong_len("4 (u32)")),
        }
    }

    pub fn u64(&self) -> Result<u64, ParseError> {
        let arr: [u8; 8] = self.payload.try_into().map_err(|_| self.wrong_len("8 (u64)"))?;
        Ok(u64::from_ne_bytes(arr))
    }

    /// NLA_UINT (type "uint" in the YNL specs): the kernel's `nla_put_uint` writes 4 bytes when
    /// the value fits in a u32 and 8 otherwise, so both widths are valid for the same attribute.
    pub fn uint(&self) -> Result<u64, ParseError> {
        match self.payload.len() {
            4 => self.u32().map(u64::from),
            8 => self.u64(),
            _ => Err(self.wrong_len("4 or 8 (uint)")),
        }
    }

    /// A NUL-terminated string (NLA_NUL_STRING / NLA_STRING): everything up to the first NUL. Not
    /// UTF-8 is an error: interface and family names are ASCII in practice, and a lossy name would
    /// silently never match.
    pub fn string(&self) -> Result<String, ParseError> {
        let end = self.payload.iter().position(|&c| c == 0).unwrap_or(self.payload.len());
        let bytes = self.payload.get(..end).unwrap_or_default();
        String::from_utf8(bytes.to_vec()).map_err(|_| {
            ParseError::new(0, format!("attribute {} is not a UTF-8 string", self.kind))
        })
    }

    /// The payload read as a nested attribute stream (whether or not NLA_F_NESTED is set).
    pub fn nested(&self) -> Attrs<'a> {
        Attrs::new(self.payload)
    }
}

/// Iterates the attributes of a payload. Yields `Err` once, for the first malformed attribute
/// (length below the header size, or past the end of the buffer, or a partial header), then
/// stops; a zero-length buffer yields nothing.
#[derive(Clone, Debug)]
pub struct Attrs<'a> {
    rest: &'a [u8],
    failed: bool,
}

impl<'a> Attrs<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Attrs { rest: buf, failed: false }
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<Attr<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        let fail = |this: &mut Self, msg: String| {
            this.failed = true;
            Some(Err(ParseError::new(0, msg)))
        };
        let (Some(len), Some(raw_kind)) = (rd_u16(self.rest, 0), rd_u16(self.rest, 2)) else {
            let n = self.rest.len();
            return fail(self, format!("{n} trailing bytes, too short for an attribute header"));
        };
        let len = usize::from(len);
        if len < NLA_HDRLEN {
            return fail(self, format!("attribute {raw_kind} claims length {len} (< 4)"));
        }
        let Some(payload) = self.rest.get(NLA_HDRLEN..len) else {
            let n = self.rest.len();
            return fail(
                self,
                format!("attribute {raw_kind} claims {len} bytes but only {n} remain"),
            );
        };
        // The last attribute may lack its padding; everything else starts 4-aligned.
        let next = align4(len).min(self.rest.len());
        self.rest = self.rest.get(next..).unwrap_or_default();
        Some(Ok(Attr {
            kind: raw_kind & NLA_TYPE_MASK,
            nested: raw_kind & NLA_F_NESTED != 0,
            net_byteorder: raw_kind & NLA_F_NET_BYTEORDER != 0,
            payload,
        }))
    }
}

/// Collects all attributes of a payload, or the first error.
pub fn parse_attrs(buf: &[u8]) -> Result<Vec<Attr<'_>>, ParseError> {
    Attrs::new(buf).collect()
}

// ---------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------

/// One netlink message: its header fields and the payload after the 16-byte header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Msg<'a> {
    pub kind: u16,
    pub flags: u16,
    pub seq: u32,
    pub pid: u32,
    pub payload: &'a [u8],
}

/// Iterates the messages of one datagram, like NLMSG_OK/NLMSG_NEXT but checked: yields `Err` once
/// for a header whose length is below 16 or past the end, then stops.
#[derive(Clone, Debug)]
pub struct Msgs<'a> {
    rest: &'a [u8],
    failed: bool,
}

impl<'a> Msgs<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Msgs { rest: buf, failed: false }
    }
}

impl<'a> Iterator for Msgs<'a> {
    type Item = Result<Msg<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        let b = self.rest;
        let (Some(len), Some(kind), Some(flags), Some(seq), Some(pid)) =
            (rd_u32(b, 0), rd_u16(b, 4), rd_u16(b, 6), rd_u32(b, 8), rd_u32(b, 12))
        else {
            self.failed = true;
            let n = b.len();
            return Some(Err(ParseError::new(
                0,
                format!("{n} trailing bytes, too short for a netlink message header"),
            )));
        };
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        if len < NLMSG_HDRLEN {
            self.failed = true;
            return Some(Err(ParseError::new(
                0,
                format!("netlink message type {kind} claims length {len} (< 16)"),
            )));
        }
        let Some(payload) = b.get(NLMSG_HDRLEN..len) else {
            self.failed = true;
            let n = b.len();
            return Some(Err(ParseError::new(
                0,
                format!("netlink message type {kind} claims {len} bytes but only {n} remain"),
            )));
        };
        let next = align4(len).min(b.len());
        self.rest = b.get(next..).unwrap_or_default();
        Some(Ok(Msg { kind, flags, seq, pid, payload }))
    }
}

/// Builds one request message. Attribute payloads above 65531 bytes do not fit `nla_len`; they
/// are written with a length the kernel rejects (EINVAL) rather than panicking here.
#[derive(Clone, Debug)]
pub struct MsgBuilder {
    buf: Vec<u8>,
}

impl MsgBuilder {
    pub fn new(kind: u16, flags: u16, seq: u32) -> Self {
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // length, set by finish()
        buf.extend_from_slice(&kind.to_ne_bytes());
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&seq.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes()); // pid 0: the kernel fills in our port
        MsgBuilder { buf }
    }

    /// Appends a family header (struct ifinfomsg, struct genlmsghdr, ...), padded to 4.
    pub fn header(mut self, bytes: &[u8]) -> Self {
        self.buf.extend_from_slice(bytes);
        self.pad();
        self
    }

    pub fn attr(mut self, kind: u16, payload: &[u8]) -> Self {
        let len = u16::try_from(NLA_HDRLEN.saturating_add(payload.len())).unwrap_or(0);
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(payload);
        self.pad();
        self
    }

    pub fn attr_u32(self, kind: u16, v: u32) -> Self {
        self.attr(kind, &v.to_ne_bytes())
    }

    /// A NUL-terminated string attribute.
    pub fn attr_str(self, kind: u16, s: &str) -> Self {
        let mut v = Vec::with_capacity(s.len().saturating_add(1));
        v.extend_from_slice(s.as_bytes());
        v.push(0);
        self.attr(kind, &v)
    }

    pub fn finish(mut self) -> Vec<u8> {
        let len = u32::try_from(self.buf.len()).unwrap_or(u32::MAX);
        if let Some(s) = self.buf.get_mut(0..4) {
            s.copy_from_slice(&len.to_ne_bytes());
        }
        self.buf
    }

    fn pad(&mut self) {
        let target = align4(self.buf.len());
        self.buf.resize(target, 0);
    }
}

// ---------------------------------------------------------------------------------------------
// Replies
// ---------------------------------------------------------------------------------------------

/// A reply message that carries data (not a control message), copied out of the receive buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedMsg {
    pub kind: u16,
    pub flags: u16,
    pub payload: Vec<u8>,
}

/// Where one received datagram left the conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// More datagrams follow (a multipart dump not yet at NLMSG_DONE).
    More,
    /// NLMSG_DONE, or the ack (NLMSG_ERROR with error 0) of a non-dump request.
    Finished,
}

/// The kernel's reason text from an extended ack (NLMSGERR_ATTR_MSG), if any.
fn ext_ack_message(tlvs: &[u8]) -> Option<String> {
    Attrs::new(tlvs)
        .map_while(Result::ok)
        .find(|a| a.kind == NLMSGERR_ATTR_MSG)
        .and_then(|a| a.string().ok())
        .filter(|s| !s.is_empty())
}

/// Decodes the payload of NLMSG_ERROR (struct nlmsgerr: int error, the request's nlmsghdr, the
/// request's payload unless NLM_F_CAPPED, then extended-ack TLVs if NLM_F_ACK_TLVS). Returns the
/// errno as a positive number (0 = ack) and the kernel's message.
pub fn parse_error_payload(
    flags: u16,
    payload: &[u8],
) -> Result<(i32, Option<String>), ParseError> {
    let err = rd_u32(payload, 0)
        .ok_or_else(|| ParseError::new(0, "NLMSG_ERROR shorter than its 4-byte error code"))?;
    let errno = (err as i32).checked_neg().unwrap_or(i32::MAX);
    let mut msg = None;
    if flags & NLM_F_ACK_TLVS != 0 {
        let echoed = if flags & NLM_F_CAPPED != 0 {
            NLMSG_HDRLEN
        } else {
            rd_u32(payload, 4).map_or(NLMSG_HDRLEN, |l| align4(l as usize))
        };
        let at = 4usize.saturating_add(echoed);
        msg = payload.get(at..).and_then(ext_ack_message);
    }
    Ok((errno, msg))
}

/// Handles one received datagram of the reply to request `seq` on port `port`: data messages are
/// appended to `out`, NLMSG_DONE / an ack finish, a kernel error becomes `NlError::Kernel`.
/// Messages for another sequence number or port (left over from an abandoned request) are
/// skipped. Sets `*interrupted` when the kernel flags the dump as inconsistent (NLM_F_DUMP_INTR).
pub fn process_datagram(
    buf: &[u8],
    seq: u32,
    port: u32,
    out: &mut Vec<OwnedMsg>,
    interrupted: &mut bool,
) -> Result<Progress, NlError> {
    for m in Msgs::new(buf) {
        let m = m.map_err(NlError::Parse)?;
        if m.seq != seq || (m.pid != port && m.pid != 0) {
            continue;
        }
        if m.flags & NLM_F_DUMP_INTR != 0 {
            *interrupted = true;
        }
        match m.kind {
            NLMSG_NOOP => {}
            NLMSG_OVERRUN => {
                return Err(NlError::Parse(ParseError::new(0, "NLMSG_OVERRUN: data was lost")));
            }
            NLMSG_ERROR => {
                let (errno, message) =
                    parse_error_payload(m.flags, m.payload).map_err(NlError::Parse)?;
                if errno == 0 {
                    return Ok(Progress::Finished);
                }
                return Err(NlError::Kernel { errno, message });
            }
            NLMSG_DONE => {
                // A dump that fails part-way reports its error here (int error; 0 = success).
                // Very old kernels sent NLMSG_DONE with no payload at all.
                let err = rd_u32(m.payload, 0).map_or(0, |e| e as i32);
                if err < 0 {
                    let message = m.payload.get(4..).and_then(ext_ack_message);
                    return Err(NlError::Kernel { errno: err.saturating_neg(), message });
                }
                return Ok(Progress::Finished);
            }
            _ => {
                // A single-part reply (no NLM_F_MULTI) is followed by the ack every non-dump
                // request here asks for, so the ack, not this message, ends the reply.
                out.push(OwnedMsg { kind: m.kind, flags: m.flags, payload: m.payload.to_vec() });
            }
        }
    }
    Ok(Progress::More)
}

// ---------------------------------------------------------------------------------------------
// Socket
// ---------------------------------------------------------------------------------------------

/// An `AF_NETLINK` socket of one protocol, bound in the network namespace of the thread that
/// opened it (a netlink socket keeps the netns it was created in).
#[derive(Debug)]
pub struct NlSocket {
    fd: libc::c_int,
    port: u32,
    seq: u32,
    buf: Vec<u8>,
}

/// Starting receive buffer: the kernel sizes dump datagrams up to 32 KiB (netlink_dump), so one
/// receive normally fits; a larger datagram is detected with MSG_PEEK|MSG_TRUNC and the buffer
/// grows.
const RECV_START: usize = 32 * 1024;
/// A reply that never ends (a broken kernel, a bug here) must not hang rxpath.
const RECV_TIMEOUT_SECS: libc::time_t = 5;
/// How often an inconsistent dump (NLM_F_DUMP_INTR) is retried before its data is used anyway.
const DUMP_RETRIES: usize = 3;

impl NlSocket {
    /// Opens and binds a socket of `protocol` (libc::NETLINK_ROUTE, libc::NETLINK_GENERIC).
    pub fn open(protocol: libc::c_int) -> io::Result<NlSocket> {
        // SAFETY: plain socket(2) call; the result is checked.
        let fd = unsafe {
            libc::socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC, protocol)
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut sock = NlSocket { fd, port: 0, seq: 0, buf: vec![0; RECV_START] };
        let one: libc::c_int = 1;
        // Best effort: without them we lose only the kernel's error text / get longer acks.
        for opt in [NETLINK_EXT_ACK, NETLINK_CAP_ACK] {
            // SAFETY: fd is open; optval points to a c_int of the stated size.
            unsafe {
                libc::setsockopt(
                    fd,
                    libc::SOL_NETLINK,
                    opt,
                    (&one as *const libc::c_int).cast(),
                    mem::size_of::<libc::c_int>() as libc::socklen_t,
                );
            }
        }
        let tv = libc::timeval { tv_sec: RECV_TIMEOUT_SECS, tv_usec: 0 };
        // SAFETY: fd is open; optval points to a timeval of the stated size.
        unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                mem::size_of::<libc::timeval>() as libc::socklen_t,
            );
        }
        // SAFETY: sockaddr_nl is plain data; zeroed is a valid value.
        let mut addr: libc::sockaddr_nl = unsafe { mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        let mut alen = mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
        // SAFETY: addr is a valid sockaddr_nl of the stated length.
        let rc = unsafe { libc::bind(fd, (&addr as *const libc::sockaddr_nl).cast(), alen) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: addr/alen describe a writable sockaddr_nl.
        let rc = unsafe {
            libc::getsockname(fd, (&mut addr as *mut libc::sockaddr_nl).cast(), &mut alen)
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        sock.port = addr.nl_pid;
        // Start from a varying number so replies to another process's socket are never ours.
        sock.seq = std::process::id().wrapping_mul(7919);
        Ok(sock)
    }

    /// The next sequence number to put in a request.
    pub fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// Sends `request` (whose header must carry `seq`) and collects the data messages of the
    /// reply until NLMSG_DONE or the ack. A dump the kernel marks inconsistent (NLM_F_DUMP_INTR:
    /// the set changed while it was walked) is rebuilt with `build` and re-sent up to 3 times; after that
    /// its data is returned anyway, since counters from a changing set are still counters.
    pub fn transact(
        &mut self,
        mut build: impl FnMut(u32) -> Vec<u8>,
    ) -> Result<Vec<OwnedMsg>, NlError> {
        let mut attempt = 0;
        loop {
            let seq = self.next_seq();
            let req = build(seq);
            self.send(&req).map_err(NlError::Os)?;
            let mut out = Vec::new();
            let mut interrupted = false;
            loop {
                let n = self.recv().map_err(NlError::Os)?;
                let data = self.buf.get(..n).unwrap_or_default();
                match process_datagram(data, seq, self.port, &mut out, &mut interrupted)? {
                    Progress::More => continue,
                    Progress::Finished => break,
                }
            }
            attempt += 1;
            if !interrupted || attempt > DUMP_RETRIES {
                return Ok(out);
            }
        }
    }

    fn send(&self, req: &[u8]) -> io::Result<()> {
        // SAFETY: zeroed sockaddr_nl with pid 0 addresses the kernel.
        let mut to: libc::sockaddr_nl = unsafe { mem::zeroed() };
        to.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        loop {
            // SAFETY: req is a valid readable buffer; `to` a valid sockaddr_nl.
            let rc = unsafe {
                libc::sendto(
                    self.fd,
                    req.as_ptr().cast(),
                    req.len(),
                    0,
                    (&to as *const libc::sockaddr_nl).cast(),
                    mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
                )
            };
            if rc >= 0 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    /// Receives one datagram into `self.buf`, growing it first if the datagram is larger.
    fn recv(&mut self) -> io::Result<usize> {
        loop {
            // The size alone: MSG_PEEK|MSG_TRUNC into no room returns the datagram's real length
            // without copying any of it (a sock_diag dump of many sockets is megabytes).
            // SAFETY: a zero-length read writes nothing through the pointer.
            let peek = unsafe {
                libc::recv(
                    self.fd,
                    self.buf.as_mut_ptr().cast(),
                    0,
                    libc::MSG_PEEK | libc::MSG_TRUNC,
                )
            };
            if peek < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            let want = peek as usize;
            if want > self.buf.len() {
                self.buf.resize(want, 0);
            }
            // SAFETY: as above, without MSG_PEEK.
            let n = unsafe {
                libc::recv(self.fd, self.buf.as_mut_ptr().cast(), self.buf.len(), libc::MSG_TRUNC)
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            let n = n as usize;
            if n > self.buf.len() {
                return Err(io::Error::other(format!(
                    "netlink datagram of {n} bytes truncated to {}",
                    self.buf.len()
                )));
            }
            return Ok(n);
        }
    }
}

impl std::os::fd::AsRawFd for NlSocket {
    fn as_raw_fd(&self) -> libc::c_int {
        self.fd
    }
}

impl Drop for NlSocket {
    fn drop(&mut self) {
        // SAFETY: fd was opened by us and is closed exactly once.
        unsafe {
            libc::close(self.fd);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn attr(kind: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&((4 + payload.len()) as u16).to_ne_bytes());
        v.extend_from_slice(&kind.to_ne_bytes());
        v.extend_from_slice(payload);
        v.resize(align4(v.len()), 0);
        v
    }

    fn msg(kind: u16, flags: u16, seq: u32, pid: u32, payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&((16 + payload.len()) as u32).to_ne_bytes());
        v.extend_from_slice(&kind.to_ne_bytes());
        v.extend_from_slice(&flags.to_ne_bytes());
        v.extend_from_slice(&seq.to_ne_bytes());
        v.extend_from_slice(&pid.to_ne_bytes());
        v.extend_from_slice(payload);
        v.resize(align4(v.len()), 0);
        v
    }

    #[test]
    fn attributes_with_padding_nesting_and_flags() {
        let inner = [attr(1, &7u32.to_ne_bytes()), attr(2, b"ab\0")].concat();
        let buf = [
            attr(3, &[0xaa]),               // 1-byte payload, 3 bytes padding
            attr(4 | NLA_F_NESTED, &inner), // nested with the flag
            attr(5, &[]),                   // zero-length payload (a flag attribute)
            attr(6 | NLA_F_NET_BYTEORDER, &[0, 1]),
        ]
        .concat();
        let attrs = parse_attrs(&buf).unwrap();
        assert_eq!(attrs.len(), 4);
        assert_eq!(attrs[0].kind, 3);
        assert_eq!(attrs[0].u8().unwrap(), 0xaa);
        assert_eq!(attrs[1].kind, 4);
        assert!(attrs[1].nested);
        let inner: Vec<_> = attrs[1].nested().collect::<Result<_, _>>().unwrap();
        assert_eq!(inner[0].u32().unwrap(), 7);
        assert_eq!(inner[1].string().unwrap(), "ab");
        assert_eq!(attrs[2].payload, &[] as &[u8]);
        assert_eq!(attrs[3].kind, 6);
        assert!(attrs[3].net_byteorder);
    }

    #[test]
    fn last_attribute_may_lack_its_padding() {
        let mut buf = attr(1, &[1, 2, 3, 4]);
        buf.extend_from_slice(&5u16.to_ne_bytes());
        buf.extend_from_slice(&2u16.to_ne_bytes());
        buf.push(9); // 5-byte attribute, no padding after it
        let attrs = parse_attrs(&buf).unwrap();
        assert_eq!(attrs.len(), 2);
        assert_eq!(attrs[1].u8().unwrap(), 9);
    }

    #[test]
    fn malformed_attributes_are_rejected() {
        // length below the header
        let e = parse_attrs(&[3, 0, 1, 0]).unwrap_err();
        assert!(e.msg.contains("claims length 3"), "{e}");
        // huge length claim
        let e = parse_attrs(&[0xff, 0xff, 1, 0, 0, 0, 0, 0]).unwrap_err();
        assert!(e.msg.contains("65535 bytes but only 8 remain"), "{e}");
        // a partial header after a good attribute
        let mut buf = attr(1, &[0; 4]);
        buf.extend_from_slice(&[8, 0]);
        let e = parse_attrs(&buf).unwrap_err();
        assert!(e.msg.contains("2 trailing bytes"), "{e}");
        // truncated payload
        let buf = attr(1, &[0; 8]);
        assert!(parse_attrs(&buf[..10]).is_err());
        // empty is fine
        assert_eq!(parse_attrs(&[]).unwrap(), vec![]);
        // the iterator stops after its error
        let mut it = Attrs::new(&[3, 0, 1, 0, 8, 0, 1, 0, 0, 0, 0, 0]);
        assert!(it.next().unwrap().is_err());
        assert!(it.next().is_none());
    }

    #[test]
    fn typed_accessors_check_lengths() {
        let a = Attr { kind: 9, nested: false, net_byteorder: false, payload: &[1, 0, 0] };
        assert!(a.u32().is_err());
        assert!(a.u16().is_err());
        assert!(a.u64().is_err());
        assert!(a.uint().is_err());
        let four = 5u32.to_ne_bytes();
        let a = Attr { payload: &four, ..a };
        assert_eq!(a.uint().unwrap(), 5);
        let eight = (1u64 << 40).to_ne_bytes();
        let a = Attr { payload: &eight, ..a };
        assert_eq!(a.uint().unwrap(), 1 << 40);
        assert_eq!(a.u64().unwrap(), 1 << 40);
        let bad = [0xff, 0xfe, 0];
        let a = Attr { payload: &bad, ..a };
        assert!(a.string().is_err());
        let unterminated = *b"eth0";
        let a = Attr { payload: &unterminated, ..a };
        assert_eq!(a.string().unwrap(), "eth0");
    }

    #[test]
    fn messages_iterate_and_reject_bad_lengths() {
        let buf =
            [msg(16, NLM_F_MULTI, 1, 2, &[1, 2, 3]), msg(NLMSG_DONE, 2, 1, 2, &[0; 4])].concat();
        let ms: Vec<_> = Msgs::new(&buf).collect::<Result<_, _>>().unwrap();
        assert_eq!(ms.len(), 2);
        assert_eq!(ms[0].payload, &[1, 2, 3]);
        assert_eq!(ms[1].kind, NLMSG_DONE);
        // nlmsg_len 8 < 16
        let mut bad = msg(16, 0, 1, 2, &[]);
        bad[0..4].copy_from_slice(&8u32.to_ne_bytes());
        assert!(Msgs::new(&bad).next().unwrap().is_err());
        // nlmsg_len past the end
        let mut bad = msg(16, 0, 1, 2, &[0; 4]);
        bad[0..4].copy_from_slice(&u32::MAX.to_ne_bytes());
        let e = Msgs::new(&bad).next().unwrap().unwrap_err();
        assert!(e.msg.contains("only 20 remain"), "{e}");
        // a truncated header
        assert!(Msgs::new(&[0; 10]).next().unwrap().is_err());
    }

    #[test]
    fn builder_lays_out_header_and_attributes() {
        let m = MsgBuilder::new(18, NLM_F_REQUEST | NLM_F_DUMP, 42)
            .header(&[1, 2, 3])
            .attr_u32(4, 9)
            .attr_str(2, "lo")
            .finish();
        assert_eq!(m.len(), 16 + 4 + 8 + 8);
        let parsed = Msgs::new(&m).next().unwrap().unwrap();
        assert_eq!(parsed.kind, 18);
        assert_eq!(parsed.flags, NLM_F_REQUEST | NLM_F_DUMP);
        assert_eq!(parsed.seq, 42);
        assert_eq!(&parsed.payload[..4], &[1, 2, 3, 0]);
        let attrs = parse_attrs(&parsed.payload[4..]).unwrap();
        assert_eq!(attrs[0].u32().unwrap(), 9);
        assert_eq!(attrs[1].string().unwrap(), "lo");
    }

    #[test]
    fn dump_collects_data_until_done_and_skips_other_sequences() {
        let mut out = Vec::new();
        let mut intr = false;
        let first = [
            msg(16, NLM_F_MULTI, 5, 77, b"one\0"),
            msg(16, NLM_F_MULTI, 4, 77, b"stale"), // an older request's leftover
            msg(16, NLM_F_MULTI, 5, 99, b"other"), // another port
        ]
        .concat();
        assert_eq!(process_datagram(&first, 5, 77, &mut out, &mut intr).unwrap(), Progress::More);
        let second = [
            msg(16, NLM_F_MULTI, 5, 77, b"two\0"),
            msg(NLMSG_DONE, NLM_F_MULTI, 5, 77, &0i32.to_ne_bytes()),
        ]
        .concat();
        assert_eq!(
            process_datagram(&second, 5, 77, &mut out, &mut intr).unwrap(),
            Progress::Finished
        );
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].payload, b"one\0");
        assert_eq!(out[1].payload, b"two\0");
        assert!(!intr);
        // Very old kernels: NLMSG_DONE without the int.
        let old = msg(NLMSG_DONE, NLM_F_MULTI, 5, 77, &[]);
        assert_eq!(process_datagram(&old, 5, 77, &mut out, &mut intr).unwrap(), Progress::Finished);
    }

    #[test]
    fn dump_interrupted_flag_is_reported() {
        let mut out = Vec::new();
        let mut intr = false;
        let buf = msg(16, NLM_F_MULTI | NLM_F_DUMP_INTR, 1, 1, &[]);
        process_datagram(&buf, 1, 1, &mut out, &mut intr).unwrap();
        assert!(intr);
    }

    #[test]
    fn errors_from_error_and_done_messages() {
        let mut out = Vec::new();
        let mut intr = false;
        // NLMSG_ERROR -EOPNOTSUPP, capped, with an extended-ack message.
        let mut p = (-libc::EOPNOTSUPP).to_ne_bytes().to_vec();
        p.extend_from_slice(&msg(30, 0x301, 3, 0, &[])[..16]);
        p.extend_from_slice(&attr(NLMSGERR_ATTR_MSG, b"no stats\0"));
        let buf = msg(NLMSG_ERROR, NLM_F_CAPPED | NLM_F_ACK_TLVS, 3, 8, &p);
        match process_datagram(&buf, 3, 8, &mut out, &mut intr) {
            Err(NlError::Kernel { errno, message }) => {
                assert_eq!(errno, libc::EOPNOTSUPP);
                assert_eq!(message.as_deref(), Some("no stats"));
            }
            other => panic!("{other:?}"),
        }
        // Not capped: the request's payload is echoed before the TLVs.
        let mut p = (-libc::EINVAL).to_ne_bytes().to_vec();
        p.extend_from_slice(&msg(30, 0x301, 3, 0, &[1, 2, 3, 4, 5])); // 21 bytes, padded to 24
        p.extend_from_slice(&attr(NLMSGERR_ATTR_MSG, b"bad attr\0"));
        let buf = msg(NLMSG_ERROR, NLM_F_ACK_TLVS, 3, 8, &p);
        let e = process_datagram(&buf, 3, 8, &mut out, &mut intr).unwrap_err();
        assert_eq!(e.errno(), Some(libc::EINVAL));
        assert!(e.to_string().contains("bad attr"), "{e}");
        // An ack (error 0) finishes.
        let mut p = 0i32.to_ne_bytes().to_vec();
        p.extend_from_slice(&[0; 16]);
        let buf = msg(NLMSG_ERROR, NLM_F_CAPPED, 3, 8, &p);
        assert_eq!(process_datagram(&buf, 3, 8, &mut out, &mut intr).unwrap(), Progress::Finished);
        // A dump failing part-way: NLMSG_DONE carrying -ENODEV.
        let buf = msg(NLMSG_DONE, NLM_F_MULTI, 3, 8, &(-libc::ENODEV).to_ne_bytes());
        let e = process_datagram(&buf, 3, 8, &mut out, &mut intr).unwrap_err();
        assert_eq!(e.errno(), Some(libc::ENODEV));
        // A truncated NLMSG_ERROR is a parse error, not a panic.
        let buf = msg(NLMSG_ERROR, 0, 3, 8, &[1, 2]);
        assert!(matches!(
            process_datagram(&buf, 3, 8, &mut out, &mut intr),
            Err(NlError::Parse(_))
        ));
        // Overrun.
        let buf = msg(NLMSG_OVERRUN, 0, 3, 8, &[]);
        assert!(process_datagram(&buf, 3, 8, &mut out, &mut intr).is_err());
    }

    #[test]
    fn kernel_errors_become_classified_unavailable() {
        let e = NlError::Kernel { errno: libc::EOPNOTSUPP, message: Some("x".into()) };
        let u = e.to_unavailable("netlink netdev qstats-get");
        assert_eq!(u.what, "netlink netdev qstats-get");
        assert!(u.why.contains("not supported") && u.why.contains("(kernel: x)"), "{}", u.why);
        let e = NlError::Kernel { errno: libc::EPERM, message: None };
        assert!(e.to_unavailable("w").why.contains("root"));
    }

    proptest! {
        #[test]
        fn attrs_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..512)) {
            for a in Attrs::new(&buf).map_while(Result::ok) {
                let _ = (a.u8(), a.u16(), a.u32(), a.u64(), a.uint(), a.string());
                for b in a.nested().map_while(Result::ok) {
                    let _ = b.nested().count();
                }
            }
        }

        #[test]
        fn datagrams_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..512), seq: u32, port: u32) {
            let mut out = Vec::new();
            let mut intr = false;
            let _ = process_datagram(&buf, seq, port, &mut out, &mut intr);
            let _ = Msgs::new(&buf).count();
        }

        #[test]
        fn error_payloads_never_panic(flags: u16, buf in proptest::collection::vec(any::<u8>(), 0..128)) {
            let _ = parse_error_payload(flags, &buf);
        }

        /// Valid streams survive a round trip through the builder and the iterator.
        #[test]
        fn built_attributes_parse_back(items in proptest::collection::vec((1u16..0x3fff, proptest::collection::vec(any::<u8>(), 0..40)), 0..10)) {
            let mut b = MsgBuilder::new(1, 0, 0);
            for (k, p) in &items {
                b = b.attr(*k, p);
            }
            let m = b.finish();
            let parsed = parse_attrs(&m[16..]).unwrap();
            prop_assert_eq!(parsed.len(), items.len());
            for (a, (k, p)) in parsed.iter().zip(&items) {
                prop_assert_eq!(a.kind, *k);
                prop_assert_eq!(a.payload, &p[..]);
            }
        }
    }
}
