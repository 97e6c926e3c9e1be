//! Generic netlink: the genlmsghdr, and resolving a family by name through the controller
//! (CTRL_CMD_GETFAMILY). Family ids are handed out at registration, so they differ between kernels
//! and boots ("netdev" was 0x14 on the verified 6.18 host): always resolve, never hard-code.
//!
//! Constants: include/uapi/linux/genetlink.h (struct genlmsghdr, GENL_ID_CTRL, CTRL_CMD_*,
//! CTRL_ATTR_*, CTRL_ATTR_OP_*).

use super::NlError;
use super::socket::{Attrs, MsgBuilder, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NlSocket, OwnedMsg};
use crate::source::ParseError;

/// GENL_ID_CTRL = NLMSG_MIN_TYPE: the controller's fixed family id.
pub const GENL_ID_CTRL: u16 = 0x10;
/// sizeof(struct genlmsghdr): u8 cmd, u8 version, u16 reserved.
pub const GENL_HDRLEN: usize = 4;

const CTRL_CMD_GETFAMILY: u8 = 3;
const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;
const CTRL_ATTR_VERSION: u16 = 3;
const CTRL_ATTR_OPS: u16 = 6;
const CTRL_ATTR_OP_ID: u16 = 1;
const CTRL_ATTR_OP_FLAGS: u16 = 2;
/// The controller's own protocol version we speak (genetlink.c registers it as version 2).
const CTRL_VERSION: u8 = 2;

/// GENL_CMD_CAP_DO / GENL_CMD_CAP_DUMP in an op's flags.
pub const GENL_CMD_CAP_DO: u32 = 0x02;
pub const GENL_CMD_CAP_DUMP: u32 = 0x04;

/// One operation a family offers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Op {
    pub id: u32,
    /// GENL_ADMIN_PERM, GENL_CMD_CAP_DO, GENL_CMD_CAP_DUMP, ... (genetlink.h).
    pub flags: u32,
}

/// A resolved generic-netlink family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Family {
    pub id: u16,
    pub name: String,
    pub version: u32,
    pub ops: Vec<Op>,
}

impl Family {
    /// Whether the family lists `cmd` among its ops with the dump capability. A family that sent
    /// no op list at all is given the benefit of the doubt (the request itself will tell).
    pub fn can_dump(&self, cmd: u8) -> bool {
        self.ops.is_empty()
            || self.ops.iter().any(|o| o.id == u32::from(cmd) && o.flags & GENL_CMD_CAP_DUMP != 0)
    }
}

/// The 4-byte genlmsghdr.
pub fn genl_header(cmd: u8, version: u8) -> [u8; GENL_HDRLEN] {
    [cmd, version, 0, 0]
}

/// Splits a generic-netlink message payload into (cmd, version, attribute bytes).
pub fn split_genl(payload: &[u8]) -> Result<(u8, u8, &[u8]), ParseError> {
    match payload {
        [cmd, version, _, _, rest @ ..] => Ok((*cmd, *version, rest)),
        _ => Err(ParseError::new(
            0,
            format!("generic netlink payload of {} bytes has no genlmsghdr", payload.len()),
        )),
    }
}

/// The CTRL_CMD_GETFAMILY request for `name`.
pub fn getfamily_request(name: &str, seq: u32) -> Vec<u8> {
    MsgBuilder::new(GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK, seq)
        .header(&genl_header(CTRL_CMD_GETFAMILY, CTRL_VERSION))
        .attr_str(CTRL_ATTR_FAMILY_NAME, name)
        .finish()
}

/// Parses the controller's reply (payload after the nlmsghdr) into a `Family`.
pub fn parse_family(payload: &[u8]) -> Result<Family, ParseError> {
    let (_, _, attrs) = split_genl(payload)?;
    let mut id = None;
    let mut name = None;
    let mut version = 0;
    let mut ops = Vec::new();
    for a in Attrs::new(attrs) {
        let a = a?;
        match a.kind {
            CTRL_ATTR_FAMILY_ID => id = Some(a.u16()?),
            CTRL_ATTR_FAMILY_NAME => name = Some(a.string()?),
            CTRL_ATTR_VERSION => version = a.u32()?,
            CTRL_ATTR_OPS => {
                // An array: each element's type is its index, its payload the op's attributes.
                for elem in a.nested() {
                    let mut op_id = None;
                    let mut flags = 0;
                    for oa in elem?.nested() {
                        let oa = oa?;
                        match oa.kind {
                            CTRL_ATTR_OP_ID => op_id = Some(oa.u32()?),
                            CTRL_ATTR_OP_FLAGS => flags = oa.u32()?,
                            _ => {}
                        }
                    }
                    if let Some(id) = op_id {
                        ops.push(Op { id, flags });
                    }
                }
            }
            _ => {}
        }
    }
    let id =
        id.ok_or_else(|| ParseError::new(0, "CTRL_CMD_GETFAMILY reply without a family id"))?;
    Ok(Family { id, name: name.unwrap_or_default(), version, ops })
}

/// Resolves `name` on `sock` (a NETLINK_GENERIC socket). `Ok(None)` when the kernel has no such
/// family (the controller answers ENOENT).
pub fn resolve(sock: &mut NlSocket, name: &str) -> Result<Option<Family>, NlError> {
    match sock.transact(|seq| getfamily_request(name, seq)) {
        Ok(msgs) => family_from_reply(&msgs).map(Some),
        Err(NlError::Kernel { errno: libc::ENOENT, .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

fn family_from_reply(msgs: &[OwnedMsg]) -> Result<Family, NlError> {
    let m = msgs.iter().find(|m| m.kind == GENL_ID_CTRL).ok_or_else(|| {
        ParseError::new(0, "the controller acked CTRL_CMD_GETFAMILY without data")
    })?;
    Ok(parse_family(&m.payload)?)
}

/// A generic-netlink dump request: `cmd` of `family`, with the given attributes.
pub fn dump_request(family: u16, cmd: u8, version: u8, seq: u32) -> MsgBuilder {
    MsgBuilder::new(family, NLM_F_REQUEST | NLM_F_DUMP, seq).header(&genl_header(cmd, version))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn family_payload() -> Vec<u8> {
        // genlmsghdr + FAMILY_ID 0x14 + FAMILY_NAME "netdev" + VERSION 1 + OPS [ {id 10, flags 0x0e},
        // {id 13, flags 0x03} ], built the way the kernel lays it out (ctrl_fill_info).
        let op = |id: u32, flags: u32| {
            MsgBuilder::new(0, 0, 0)
                .attr_u32(CTRL_ATTR_OP_ID, id)
                .attr_u32(CTRL_ATTR_OP_FLAGS, flags)
                .finish()
                .split_off(16)
        };
        let mut ops = Vec::new();
        for (i, o) in [op(10, 0x0e), op(13, 0x03)].iter().enumerate() {
            let len = (4 + o.len()) as u16;
            ops.extend_from_slice(&len.to_ne_bytes());
            ops.extend_from_slice(&((i + 1) as u16 | 0x8000).to_ne_bytes());
            ops.extend_from_slice(o);
        }
        MsgBuilder::new(0, 0, 0)
            .header(&genl_header(1, 2))
            .attr(CTRL_ATTR_FAMILY_ID, &0x14u16.to_ne_bytes())
            .attr_str(CTRL_ATTR_FAMILY_NAME, "netdev")
            .attr_u32(CTRL_ATTR_VERSION, 1)
            .attr(CTRL_ATTR_OPS | 0x8000, &ops)
            .finish()
            .split_off(16)
    }

    #[test]
    fn parses_family_with_ops() {
        let f = parse_family(&family_payload()).unwrap();
        assert_eq!(f.id, 0x14);
        assert_eq!(f.name, "netdev");
        assert_eq!(f.version, 1);
        assert_eq!(f.ops, vec![Op { id: 10, flags: 0x0e }, Op { id: 13, flags: 0x03 }]);
        assert!(f.can_dump(10));
        assert!(!f.can_dump(13), "op 13 has DO but not DUMP");
        assert!(!f.can_dump(12), "op 12 is absent");
    }

    #[test]
    fn rejects_reply_without_id_or_header() {
        assert!(parse_family(&[1, 2]).is_err());
        let p = MsgBuilder::new(0, 0, 0)
            .header(&genl_header(1, 2))
            .attr_str(CTRL_ATTR_FAMILY_NAME, "x")
            .finish()
            .split_off(16);
        assert!(parse_family(&p).unwrap_err().msg.contains("family id"));
    }

    #[test]
    fn every_truncation_of_a_family_reply_is_handled() {
        let p = family_payload();
        for n in 0..p.len() {
            let _ = parse_family(&p[..n]);
        }
    }

    #[test]
    fn getfamily_request_layout() {
        let r = getfamily_request("netdev", 7);
        assert_eq!(r.len(), 16 + 4 + 4 + 8); // "netdev\0" padded to 8
        assert_eq!(u32::from_ne_bytes(r[0..4].try_into().unwrap()) as usize, r.len());
        assert_eq!(u16::from_ne_bytes([r[4], r[5]]), GENL_ID_CTRL);
        assert_eq!(u16::from_ne_bytes([r[6], r[7]]), NLM_F_REQUEST | NLM_F_ACK);
        assert_eq!(u32::from_ne_bytes(r[8..12].try_into().unwrap()), 7);
        assert_eq!(&r[16..20], &[CTRL_CMD_GETFAMILY, CTRL_VERSION, 0, 0]);
        assert_eq!(&r[24..31], b"netdev\0");
    }
}
