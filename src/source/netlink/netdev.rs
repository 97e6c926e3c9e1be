//! The `netdev` generic-netlink family: which queues a device has and which NAPI instance serves
//! each (`queue-get`), each NAPI instance's IRQ, kthread and tunables (`napi-get`), and the
//! standard per-queue and per-device statistics (`qstats-get`), including the ring-drop counters
//! `rx-hw-drops` / `rx-hw-drop-overruns` that rtnl_link_stats64 does not split out.
//!
//! Attribute and command numbers: include/uapi/linux/netdev.h (generated from
//! Documentation/netlink/specs/netdev.yaml, which also gives the names and types used here). The
//! family appeared in Linux 6.x and gained ops over several releases, so each op is checked
//! against the family's op list and each failure affects only its own field.

use super::NlError;
use super::genl::{self, Family, split_genl};
use super::socket::{Attrs, NlSocket};
use crate::avail::{Avail, Unavailable};
use crate::source::CounterMap;
use crate::source::{Name, ParseError};
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

// include/uapi/linux/netdev.h
pub const NETDEV_FAMILY_NAME: &str = "netdev";
pub const NETDEV_FAMILY_VERSION: u8 = 1;

pub const NETDEV_CMD_QUEUE_GET: u8 = 10;
pub const NETDEV_CMD_NAPI_GET: u8 = 11;
pub const NETDEV_CMD_QSTATS_GET: u8 = 12;

// enum netdev_queue_type
const NETDEV_QUEUE_TYPE_RX: u32 = 0;
const NETDEV_QUEUE_TYPE_TX: u32 = 1;

// enum netdev_qstats_scope
const NETDEV_QSTATS_SCOPE_QUEUE: u32 = 1;

// NETDEV_A_QUEUE_*
const NETDEV_A_QUEUE_ID: u16 = 1;
const NETDEV_A_QUEUE_IFINDEX: u16 = 2;
const NETDEV_A_QUEUE_TYPE: u16 = 3;
const NETDEV_A_QUEUE_NAPI_ID: u16 = 4;

// NETDEV_A_NAPI_*. IRQ_SUSPEND_TIMEOUT (7) is newer than the rest: absent from the older netdev.h
// read, present right after GRO_FLUSH_TIMEOUT in later ones (and sent by 6.18, followed by
// THREADED = 8, which this struct does not carry).
const NETDEV_A_NAPI_IFINDEX: u16 = 1;
const NETDEV_A_NAPI_ID: u16 = 2;
const NETDEV_A_NAPI_IRQ: u16 = 3;
const NETDEV_A_NAPI_PID: u16 = 4;
const NETDEV_A_NAPI_DEFER_HARD_IRQS: u16 = 5;
const NETDEV_A_NAPI_GRO_FLUSH_TIMEOUT: u16 = 6;
const NETDEV_A_NAPI_IRQ_SUSPEND_TIMEOUT: u16 = 7;

// NETDEV_A_QSTATS_*: identification attributes; counters start at 8 (see QSTATS_COUNTERS)
const NETDEV_A_QSTATS_IFINDEX: u16 = 1;
const NETDEV_A_QSTATS_QUEUE_TYPE: u16 = 2;
const NETDEV_A_QSTATS_QUEUE_ID: u16 = 3;
const NETDEV_A_QSTATS_SCOPE: u16 = 4;

/// qstats counter names by attribute number, from NETDEV_A_QSTATS_RX_PACKETS = 8 up to
/// NETDEV_A_QSTATS_TX_WAKE = 34, spelled as in netdev.yaml (the names `ynl` prints).
const QSTATS_COUNTERS: [(u16, &str); 27] = [
    (8, "rx-packets"),
    (9, "rx-bytes"),
    (10, "tx-packets"),
    (11, "tx-bytes"),
    (12, "rx-alloc-fail"),
    (13, "rx-hw-drops"),
    (14, "rx-hw-drop-overruns"),
    (15, "rx-csum-complete"),
    (16, "rx-csum-unnecessary"),
    (17, "rx-csum-none"),
    (18, "rx-csum-bad"),
    (19, "rx-hw-gro-packets"),
    (20, "rx-hw-gro-bytes"),
    (21, "rx-hw-gro-wire-packets"),
    (22, "rx-hw-gro-wire-bytes"),
    (23, "rx-hw-drop-ratelimits"),
    (24, "tx-hw-drops"),
    (25, "tx-hw-drop-errors"),
    (26, "tx-csum-none"),
    (27, "tx-needs-csum"),
    (28, "tx-hw-gso-packets"),
    (29, "tx-hw-gso-bytes"),
    (30, "tx-hw-gso-wire-packets"),
    (31, "tx-hw-gso-wire-bytes"),
    (32, "tx-hw-drop-ratelimits"),
    (33, "tx-stop"),
    (34, "tx-wake"),
];

/// The kernel's name for a qstats attribute, or `attr-N` for one this build does not know.
pub fn qstats_name(kind: u16) -> Name {
    // Every queue of every sample has these names: made once for the process, then shared.
    static NAMES: LazyLock<Vec<(u16, Name)>> =
        LazyLock::new(|| QSTATS_COUNTERS.iter().map(|&(k, n)| (k, Name::from(n))).collect());
    NAMES
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or_else(|| format!("attr-{kind}").into(), |(_, n)| n.clone())
}

/// `enum netdev_queue_type`; a type a newer kernel adds is kept as its number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QueueType {
    Rx,
    Tx,
    #[serde(untagged)]
    Other(u32),
}

impl QueueType {
    pub fn from_raw(v: u32) -> QueueType {
        match v {
            NETDEV_QUEUE_TYPE_RX => QueueType::Rx,
            NETDEV_QUEUE_TYPE_TX => QueueType::Tx,
            n => QueueType::Other(n),
        }
    }
}

/// One queue of a device (`queue-get`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queue {
    pub ifindex: u32,
    pub id: u32,
    #[serde(rename = "type")]
    pub type_: QueueType,
    /// The NAPI instance serving the queue; absent when the driver does not link them.
    pub napi_id: Option<u32>,
}

/// One NAPI instance (`napi-get`). Attributes the kernel did not send are `None`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Napi {
    pub ifindex: u32,
    pub id: u32,
    pub irq: Option<u32>,
    /// PID of the NAPI kthread; only present in threaded mode.
    pub pid: Option<u32>,
    pub defer_hard_irqs: Option<u32>,
    /// Nanoseconds.
    pub gro_flush_timeout: Option<u64>,
    /// Nanoseconds; only kernels newer than the napi tunables' first release send it.
    pub irq_suspend_timeout: Option<u64>,
}

/// Statistics of one queue (`queue_type`/`queue_id` set) or of a whole device (both `None`).
/// Counters keep the kernel's names; only counters the driver reports are present.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QStats {
    pub ifindex: u32,
    pub queue_type: Option<QueueType>,
    pub queue_id: Option<u32>,
    pub counters: CounterMap,
}

/// Everything read from the netdev family, each op on its own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetdevGenl {
    pub queues: Avail<Vec<Queue>>,
    pub napis: Avail<Vec<Napi>>,
    /// `qstats-get` with scope = queue.
    pub qstats: Avail<Vec<QStats>>,
    /// `qstats-get` with scope 0: per-device totals.
    pub qstats_device: Avail<Vec<QStats>>,
}

fn missing(what: &str) -> ParseError {
    ParseError::new(0, format!("netdev reply without its {what} attribute"))
}

/// Parses one `queue-get` reply (the payload after the nlmsghdr: genlmsghdr + attributes).
pub fn parse_queue(payload: &[u8]) -> Result<Queue, ParseError> {
    let (_, _, attrs) = split_genl(payload)?;
    let (mut ifindex, mut id, mut type_, mut napi_id) = (None, None, None, None);
    for a in Attrs::new(attrs) {
        let a = a?;
        match a.kind {
            NETDEV_A_QUEUE_ID => id = Some(a.u32()?),
            NETDEV_A_QUEUE_IFINDEX => ifindex = Some(a.u32()?),
            NETDEV_A_QUEUE_TYPE => type_ = Some(QueueType::from_raw(a.u32()?)),
            NETDEV_A_QUEUE_NAPI_ID => napi_id = Some(a.u32()?),
            _ => {}
        }
    }
    Ok(Queue {
        ifindex: ifindex.ok_or_else(|| missing("queue ifindex"))?,
        id: id.ok_or_else(|| missing("queue id"))?,
        type_: type_.ok_or_else(|| missing("queue type"))?,
        napi_id,
    })
}

/// Parses one `napi-get` reply.
pub fn parse_napi(payload: &[u8]) -> Result<Napi, ParseError> {
    let (_, _, attrs) = split_genl(payload)?;
    let (mut ifindex, mut id) = (None, None);
    let mut n = Napi {
        ifindex: 0,
        id: 0,
        irq: None,
        pid: None,
        defer_hard_irqs: None,
        gro_flush_timeout: None,
        irq_suspend_timeout: None,
    };
    for a in Attrs::new(attrs) {
        let a = a?;
        match a.kind {
            NETDEV_A_NAPI_IFINDEX => ifindex = Some(a.u32()?),
            NETDEV_A_NAPI_ID => id = Some(a.u32()?),
            NETDEV_A_NAPI_IRQ => n.irq = Some(a.u32()?),
            NETDEV_A_NAPI_PID => n.pid = Some(a.u32()?),
            NETDEV_A_NAPI_DEFER_HARD_IRQS => n.defer_hard_irqs = Some(a.u32()?),
            NETDEV_A_NAPI_GRO_FLUSH_TIMEOUT => n.gro_flush_timeout = Some(a.uint()?),
            NETDEV_A_NAPI_IRQ_SUSPEND_TIMEOUT => n.irq_suspend_timeout = Some(a.uint()?),
            _ => {}
        }
    }
    n.ifindex = ifindex.ok_or_else(|| missing("napi ifindex"))?;
    n.id = id.ok_or_else(|| missing("napi id"))?;
    Ok(n)
}

/// Parses one `qstats-get` reply. Counters are NLA_UINT (4 or 8 bytes). An attribute this build
/// does not know is kept as `attr-N` when it has an integer's size, and skipped otherwise (a
/// nest or blob can only be metadata, not a counter).
pub fn parse_qstats(payload: &[u8]) -> Result<QStats, ParseError> {
    let (_, _, attrs) = split_genl(payload)?;
    let mut ifindex = None;
    let mut s =
        QStats { ifindex: 0, queue_type: None, queue_id: None, counters: CounterMap::default() };
    for a in Attrs::new(attrs) {
        let a = a?;
        match a.kind {
            NETDEV_A_QSTATS_IFINDEX => ifindex = Some(a.u32()?),
            NETDEV_A_QSTATS_QUEUE_TYPE => s.queue_type = Some(QueueType::from_raw(a.u32()?)),
            NETDEV_A_QSTATS_QUEUE_ID => s.queue_id = Some(a.u32()?),
            NETDEV_A_QSTATS_SCOPE => {}
            k if QSTATS_COUNTERS.iter().any(|(n, _)| *n == k) => {
                s.counters.insert(qstats_name(k), a.uint()?);
            }
            k => {
                if !a.nested
                    && let Ok(v) = a.uint()
                {
                    s.counters.insert(qstats_name(k), v);
                }
            }
        }
    }
    s.ifindex = ifindex.ok_or_else(|| missing("qstats ifindex"))?;
    Ok(s)
}

/// The dump request of `cmd`. For `qstats-get`, `scope` = Some(1) asks for per-queue rows and
/// None for per-device totals.
pub fn dump_request(family: u16, cmd: u8, scope: Option<u32>, seq: u32) -> Vec<u8> {
    let b = genl::dump_request(family, cmd, NETDEV_FAMILY_VERSION, seq);
    match scope {
        Some(s) => b.attr_u32(NETDEV_A_QSTATS_SCOPE, s).finish(),
        None => b.finish(),
    }
}

fn op_name(cmd: u8) -> &'static str {
    match cmd {
        NETDEV_CMD_QUEUE_GET => "queue-get",
        NETDEV_CMD_NAPI_GET => "napi-get",
        NETDEV_CMD_QSTATS_GET => "qstats-get",
        _ => "?",
    }
}

/// A NETLINK_GENERIC socket with the netdev family resolved: a `Sampler` keeps one for its whole
/// run, so each sample sends only its dumps (no socket set-up, no CTRL_CMD_GETFAMILY).
#[derive(Debug)]
pub struct NetdevSocket {
    sock: NlSocket,
    family: Family,
    /// Set when a dump failed in a way that may leave its reply queued (`NlError::spoils_socket`).
    spoiled: bool,
}

impl std::os::fd::AsRawFd for NetdevSocket {
    fn as_raw_fd(&self) -> libc::c_int {
        self.sock.as_raw_fd()
    }
}

impl NetdevSocket {
    /// Opens a socket in the calling thread's network namespace and resolves the family.
    /// `Ok(None)` when this kernel has no netdev family (`no_family` says why), which does not
    /// change while it runs.
    pub fn open() -> Result<Option<NetdevSocket>, Unavailable> {
        let mut sock = NlSocket::open(libc::NETLINK_GENERIC)
            .map_err(|e| Unavailable::from_io("netlink socket (NETLINK_GENERIC)", &e))?;
        match genl::resolve(&mut sock, NETDEV_FAMILY_NAME) {
            Ok(Some(family)) => Ok(Some(NetdevSocket { sock, family, spoiled: false })),
            Ok(None) => Ok(None),
            Err(e) => Err(e.to_unavailable("generic netlink family \"netdev\"")),
        }
    }

    /// Why there is nothing from the netdev family on a kernel without it.
    pub fn no_family() -> Unavailable {
        Unavailable::new(
            "generic netlink family \"netdev\"",
            "this kernel has no netdev netlink family (added in Linux 6.x): per-queue counters \
             come from driver statistics instead",
        )
    }

    /// False once a dump failed in a way that may leave its reply in the socket: a kept socket is
    /// then dropped and a new one opened for the next sample.
    pub fn is_usable(&self) -> bool {
        !self.spoiled
    }

    /// The settings: the queues (`queue-get`) and the NAPI instances (`napi-get`).
    pub fn queues_and_napis(&mut self) -> (Avail<Vec<Queue>>, Avail<Vec<Napi>>) {
        (
            self.dump_op(NETDEV_CMD_QUEUE_GET, None, parse_queue),
            self.dump_op(NETDEV_CMD_NAPI_GET, None, parse_napi),
        )
    }

    /// The counters: `qstats-get` per queue and per device.
    pub fn qstats(&mut self) -> (Avail<Vec<QStats>>, Avail<Vec<QStats>>) {
        (
            self.dump_op(NETDEV_CMD_QSTATS_GET, Some(NETDEV_QSTATS_SCOPE_QUEUE), parse_qstats),
            self.dump_op(NETDEV_CMD_QSTATS_GET, None, parse_qstats),
        )
    }

    /// Everything: settings and counters.
    pub fn read(&mut self) -> NetdevGenl {
        let (queues, napis) = self.queues_and_napis();
        let (qstats, qstats_device) = self.qstats();
        NetdevGenl { queues, napis, qstats, qstats_device }
    }

    fn dump_op<T>(
        &mut self,
        cmd: u8,
        scope: Option<u32>,
        parse: fn(&[u8]) -> Result<T, ParseError>,
    ) -> Avail<Vec<T>> {
        let what = match scope {
            Some(_) => format!("netlink netdev {} (scope queue)", op_name(cmd)),
            None if cmd == NETDEV_CMD_QSTATS_GET => {
                format!("netlink netdev {} (scope device)", op_name(cmd))
            }
            None => format!("netlink netdev {}", op_name(cmd)),
        };
        if !self.family.can_dump(cmd) {
            return Avail::missing(
                what,
                format!(
                    "this kernel's netdev family has no {} dump (added in a later Linux 6.x)",
                    op_name(cmd)
                ),
            );
        }
        let fam = self.family.id;
        let parsed =
            self.sock.transact(|seq| dump_request(fam, cmd, scope, seq)).and_then(|msgs| {
                let mine = msgs.iter().filter(|m| m.kind == fam);
                mine.map(|m| parse(&m.payload).map_err(NlError::Parse)).collect()
            });
        match parsed {
            Ok(v) => Avail::Value(v),
            Err(e) => {
                self.spoiled |= e.spoils_socket();
                Avail::Unavailable(e.to_unavailable(what))
            }
        }
    }
}

impl NetdevGenl {
    /// Reads queues, NAPI instances and queue statistics of every device in the calling thread's
    /// network namespace, on a socket of its own.
    pub fn read() -> Avail<NetdevGenl> {
        match NetdevSocket::open() {
            Ok(Some(mut sock)) => Avail::Value(sock.read()),
            Ok(None) => Avail::Unavailable(NetdevSocket::no_family()),
            Err(u) => Avail::Unavailable(u),
        }
    }
}

/// Same as `NetdevGenl::read()`.
pub fn read() -> Avail<NetdevGenl> {
    NetdevGenl::read()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::netlink::genl::genl_header;
    use crate::source::netlink::socket::MsgBuilder;
    use proptest::prelude::*;

    fn payload(f: impl FnOnce(MsgBuilder) -> MsgBuilder) -> Vec<u8> {
        f(MsgBuilder::new(20, 0, 0).header(&genl_header(NETDEV_CMD_QSTATS_GET, 1)))
            .finish()
            .split_off(16)
    }

    #[test]
    fn queue_with_and_without_napi() {
        let q = parse_queue(&payload(|b| {
            b.attr_u32(NETDEV_A_QUEUE_ID, 3)
                .attr_u32(NETDEV_A_QUEUE_TYPE, 0)
                .attr_u32(NETDEV_A_QUEUE_IFINDEX, 4)
                .attr_u32(NETDEV_A_QUEUE_NAPI_ID, 259)
                .attr_u32(5, 1) // dmabuf: not ours
        }))
        .unwrap();
        assert_eq!(q, Queue { ifindex: 4, id: 3, type_: QueueType::Rx, napi_id: Some(259) });
        let q = parse_queue(&payload(|b| {
            b.attr_u32(NETDEV_A_QUEUE_ID, 0)
                .attr_u32(NETDEV_A_QUEUE_TYPE, 1)
                .attr_u32(NETDEV_A_QUEUE_IFINDEX, 1)
        }))
        .unwrap();
        assert_eq!(q.type_, QueueType::Tx);
        assert_eq!(q.napi_id, None);
        let json = serde_json::to_string(&q).unwrap();
        assert_eq!(json, r#"{"ifindex":1,"id":0,"type":"tx","napi_id":null}"#);
    }

    #[test]
    fn unknown_queue_type_is_kept_as_a_number() {
        let q = parse_queue(&payload(|b| {
            b.attr_u32(NETDEV_A_QUEUE_ID, 0)
                .attr_u32(NETDEV_A_QUEUE_TYPE, 7)
                .attr_u32(NETDEV_A_QUEUE_IFINDEX, 1)
        }))
        .unwrap();
        assert_eq!(q.type_, QueueType::Other(7));
        let json = serde_json::to_string(&q.type_).unwrap();
        assert_eq!(json, "7");
        assert_eq!(serde_json::from_str::<QueueType>("7").unwrap(), QueueType::Other(7));
        assert_eq!(serde_json::from_str::<QueueType>("\"rx\"").unwrap(), QueueType::Rx);
    }

    #[test]
    fn queue_missing_required_attribute_is_an_error() {
        let e = parse_queue(&payload(|b| b.attr_u32(NETDEV_A_QUEUE_ID, 0))).unwrap_err();
        assert!(e.msg.contains("ifindex"), "{e}");
        // ifindex with a wrong size
        let e = parse_queue(&payload(|b| b.attr(NETDEV_A_QUEUE_IFINDEX, &[1, 0]))).unwrap_err();
        assert!(e.msg.contains("2-byte payload"), "{e}");
    }

    #[test]
    fn napi_optional_attributes_and_uint_widths() {
        let n = parse_napi(&payload(|b| {
            b.attr_u32(NETDEV_A_NAPI_ID, 257)
                .attr_u32(NETDEV_A_NAPI_IFINDEX, 4)
                .attr_u32(NETDEV_A_NAPI_IRQ, 38)
                .attr_u32(NETDEV_A_NAPI_PID, 812)
                .attr_u32(NETDEV_A_NAPI_DEFER_HARD_IRQS, 2)
                .attr(NETDEV_A_NAPI_GRO_FLUSH_TIMEOUT, &(20_000_000_000u64).to_ne_bytes())
                .attr_u32(NETDEV_A_NAPI_IRQ_SUSPEND_TIMEOUT, 5000)
                .attr_u32(8, 1) // threaded (newer than our header): ignored
        }))
        .unwrap();
        assert_eq!(n.irq, Some(38));
        assert_eq!(n.pid, Some(812));
        assert_eq!(n.defer_hard_irqs, Some(2));
        assert_eq!(n.gro_flush_timeout, Some(20_000_000_000));
        assert_eq!(n.irq_suspend_timeout, Some(5000));
        let n = parse_napi(&payload(|b| {
            b.attr_u32(NETDEV_A_NAPI_ID, 9).attr_u32(NETDEV_A_NAPI_IFINDEX, 2)
        }))
        .unwrap();
        assert_eq!(
            (n.irq, n.pid, n.defer_hard_irqs, n.gro_flush_timeout),
            (None, None, None, None)
        );
        assert_eq!(n.irq_suspend_timeout, None);
        let e = parse_napi(&payload(|b| {
            b.attr_u32(NETDEV_A_NAPI_ID, 9)
                .attr_u32(NETDEV_A_NAPI_IFINDEX, 2)
                .attr(NETDEV_A_NAPI_GRO_FLUSH_TIMEOUT, &[0; 6])
        }))
        .unwrap_err();
        assert!(e.msg.contains("4 or 8"), "{e}");
    }

    #[test]
    fn qstats_names_unknown_and_widths() {
        let s = parse_qstats(&payload(|b| {
            b.attr_u32(NETDEV_A_QSTATS_IFINDEX, 4)
                .attr_u32(NETDEV_A_QSTATS_QUEUE_TYPE, 0)
                .attr_u32(NETDEV_A_QSTATS_QUEUE_ID, 1)
                .attr_u32(8, 100)
                .attr(9, &(1u64 << 33).to_ne_bytes())
                .attr_u32(14, 3) // rx-hw-drop-overruns
                .attr_u32(16, 90) // rx-csum-unnecessary
                .attr_u32(23, 1) // rx-hw-drop-ratelimits
                .attr_u32(40, 77) // unknown counter
                .attr(41 | 0x8000, &[8, 0, 1, 0, 0, 0, 0, 0]) // unknown nest: skipped
                .attr(42, &[1, 2, 3]) // unknown odd size: skipped
        }))
        .unwrap();
        assert_eq!(s.ifindex, 4);
        assert_eq!(s.queue_type, Some(QueueType::Rx));
        assert_eq!(s.queue_id, Some(1));
        let got: Vec<_> = s.counters.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(
            got,
            vec![
                ("rx-packets", 100),
                ("rx-bytes", 1 << 33),
                ("rx-hw-drop-overruns", 3),
                ("rx-csum-unnecessary", 90),
                ("rx-hw-drop-ratelimits", 1),
                ("attr-40", 77),
            ]
        );
        // Device scope: no queue attributes.
        let s = parse_qstats(&payload(|b| b.attr_u32(NETDEV_A_QSTATS_IFINDEX, 4).attr_u32(10, 5)))
            .unwrap();
        assert_eq!((s.queue_type, s.queue_id), (None, None));
        assert_eq!(s.counters["tx-packets"], 5);
        // A known counter with a bad width is garbage.
        assert!(parse_qstats(&payload(|b| b.attr_u32(1, 4).attr(8, &[1, 2]))).is_err());
    }

    #[test]
    fn counter_names_follow_the_spec_numbering() {
        assert_eq!(qstats_name(8), "rx-packets");
        assert!(Name::ptr_eq(&qstats_name(8), &qstats_name(8)), "one name for every queue");
        assert_eq!(qstats_name(13), "rx-hw-drops");
        assert_eq!(qstats_name(14), "rx-hw-drop-overruns");
        assert_eq!(qstats_name(16), "rx-csum-unnecessary");
        assert_eq!(qstats_name(23), "rx-hw-drop-ratelimits");
        assert_eq!(qstats_name(34), "tx-wake");
        assert_eq!(qstats_name(35), "attr-35");
        assert_eq!(qstats_name(5), "attr-5");
    }

    #[test]
    fn qstats_request_carries_the_scope() {
        let r = dump_request(20, NETDEV_CMD_QSTATS_GET, Some(NETDEV_QSTATS_SCOPE_QUEUE), 1);
        assert_eq!(r.len(), 16 + 4 + 8);
        assert_eq!(&r[16..20], &[NETDEV_CMD_QSTATS_GET, 1, 0, 0]);
        assert_eq!(u16::from_ne_bytes([r[22], r[23]]), NETDEV_A_QSTATS_SCOPE);
        assert_eq!(u32::from_ne_bytes(r[24..28].try_into().unwrap()), 1);
        assert_eq!(dump_request(20, NETDEV_CMD_QSTATS_GET, None, 1).len(), 20);
    }

    proptest! {
        #[test]
        fn netdev_parsers_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_queue(&buf);
            let _ = parse_napi(&buf);
            let _ = parse_qstats(&buf);
        }

        /// Random attribute streams behind a valid header reach the per-attribute code.
        #[test]
        fn netdev_parsers_never_panic_on_wellformed_attrs(
            attrs in proptest::collection::vec((0u16..40, proptest::collection::vec(any::<u8>(), 0..12)), 0..12)
        ) {
            let p = payload(|mut b| {
                for (k, v) in &attrs {
                    b = b.attr(*k, v);
                }
                b
            });
            let _ = parse_queue(&p);
            let _ = parse_napi(&p);
            let _ = parse_qstats(&p);
            let _ = crate::source::netlink::genl::parse_family(&p);
        }
    }
}
