// SPDX-License-Identifier: GPL-2.0-only
//! The AgentX wire format (RFC 2741, section 5 and 6): the PDUs a subagent
//! sends and the ones a master agent sends it.
//!
//! Decoding is bounded: every length is checked against what is left of
//! the PDU before anything is read, so a malformed PDU is an error, never a
//! read past its end or an allocation larger than the PDU itself.

use std::fmt;

/// The fixed header in front of every PDU.
pub const HEADER_LEN: usize = 20;
/// Largest payload accepted from the master agent; snmpd's PDUs are far
/// smaller (a request carries at most one SNMP message's variables).
pub const MAX_PAYLOAD: usize = 1 << 20;
/// RFC 2741 5.1: an object identifier has at most 128 sub-identifiers.
const MAX_SUBIDS: usize = 128;

/// Header flag bits (RFC 2741 6.1).
const FLAG_NON_DEFAULT_CONTEXT: u8 = 1 << 3;
const FLAG_NETWORK_BYTE_ORDER: u8 = 1 << 4;

/// PDU types (RFC 2741 6.1).
mod ty {
    pub const OPEN: u8 = 1;
    pub const CLOSE: u8 = 2;
    pub const REGISTER: u8 = 3;
    pub const GET: u8 = 5;
    pub const GET_NEXT: u8 = 6;
    pub const GET_BULK: u8 = 7;
    pub const TEST_SET: u8 = 8;
    pub const COMMIT_SET: u8 = 9;
    pub const UNDO_SET: u8 = 10;
    pub const CLEANUP_SET: u8 = 11;
    pub const RESPONSE: u8 = 18;
}

/// Value types of a variable binding (RFC 2741 5.4).
mod vt {
    pub const INTEGER: u16 = 2;
    pub const OCTET_STRING: u16 = 4;
    pub const NULL: u16 = 5;
    pub const OBJECT_IDENTIFIER: u16 = 6;
    pub const IP_ADDRESS: u16 = 64;
    pub const COUNTER32: u16 = 65;
    pub const GAUGE32: u16 = 66;
    pub const TIME_TICKS: u16 = 67;
    pub const OPAQUE: u16 = 68;
    pub const COUNTER64: u16 = 70;
    pub const NO_SUCH_OBJECT: u16 = 128;
    pub const NO_SUCH_INSTANCE: u16 = 129;
    pub const END_OF_MIB_VIEW: u16 = 130;
}

/// Why a PDU could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// A field runs past the end of the PDU.
    Truncated,
    /// The header's version is not 1.
    Version(u8),
    /// The payload length is not a multiple of 4 or above [`MAX_PAYLOAD`].
    PayloadLength(u32),
    /// An object identifier with more than 128 sub-identifiers.
    OidTooLong(u8),
    /// A value type RFC 2741 does not define.
    ValueType(u16),
    /// A PDU type a master agent does not send to a subagent.
    PduType(u8),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => write!(f, "a field runs past the end of the PDU"),
            Self::Version(v) => write!(f, "AgentX version {v}, not 1"),
            Self::PayloadLength(n) => write!(
                f,
                "payload length {n} is not a multiple of 4 up to {MAX_PAYLOAD}"
            ),
            Self::OidTooLong(n) => write!(
                f,
                "object identifier of {n} sub-identifiers (at most {MAX_SUBIDS})"
            ),
            Self::ValueType(t) => write!(f, "unknown value type {t}"),
            Self::PduType(t) => write!(f, "unexpected PDU type {t}"),
        }
    }
}

/// An object identifier, as its sub-identifiers.
pub type Oid = Vec<u32>;

/// The internet prefix 1.3.6.1 that the OID encoding can compress.
const INTERNET: [u32; 4] = [1, 3, 6, 1];

/// A variable's value, or the exception that stands for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// INTEGER / Integer32.
    Integer(i32),
    /// OCTET STRING: any bytes (DateAndTime is binary).
    OctetString(Vec<u8>),
    /// NULL, as a manager sends in a GET.
    Null,
    /// OBJECT IDENTIFIER.
    ObjectIdentifier(Oid),
    /// IpAddress.
    IpAddress([u8; 4]),
    /// Counter32.
    Counter32(u32),
    /// Gauge32 (Unsigned32).
    Gauge32(u32),
    /// TimeTicks.
    TimeTicks(u32),
    /// Opaque.
    Opaque(Vec<u8>),
    /// Counter64.
    Counter64(u64),
    /// No object of this name.
    NoSuchObject,
    /// The object exists, this instance does not.
    NoSuchInstance,
    /// Nothing follows in the view.
    EndOfMibView,
}

/// A name and its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VarBind {
    /// The variable's name.
    pub name: Oid,
    /// Its value.
    pub value: Value,
}

/// A range of names to search, from `start` (itself included when
/// `include`) up to `end` (excluded; empty for no bound).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchRange {
    /// Where the search starts.
    pub start: Oid,
    /// Whether `start` itself may be returned.
    pub include: bool,
    /// Where it ends, excluded; empty: no end.
    pub end: Oid,
}

/// The header fields that identify a PDU and that its response repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// PDU type.
    pub ty: u8,
    /// Flags; the byte order of the PDU is among them.
    pub flags: u8,
    /// Session the PDU belongs to.
    pub session_id: u32,
    /// Transaction (one SNMP request).
    pub transaction_id: u32,
    /// Packet, matched by the response.
    pub packet_id: u32,
}

impl Header {
    fn big_endian(&self) -> bool {
        self.flags & FLAG_NETWORK_BYTE_ORDER != 0
    }
}

/// A PDU a master agent sends a subagent, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// agentx-Get-PDU: the exact names.
    Get(Vec<SearchRange>),
    /// agentx-GetNext-PDU.
    GetNext(Vec<SearchRange>),
    /// agentx-GetBulk-PDU.
    GetBulk {
        /// Ranges searched once.
        non_repeaters: u16,
        /// Times the other ranges are searched.
        max_repetitions: u16,
        /// All ranges, the non-repeaters first.
        ranges: Vec<SearchRange>,
    },
    /// agentx-TestSet-PDU.
    TestSet(Vec<VarBind>),
    /// agentx-CommitSet-PDU.
    CommitSet,
    /// agentx-UndoSet-PDU.
    UndoSet,
    /// agentx-CleanupSet-PDU (it gets no response).
    CleanupSet,
    /// agentx-Close-PDU, with its reason.
    Close(u8),
    /// agentx-Response-PDU: the answer to one of ours.
    Response {
        /// res.error.
        error: u16,
        /// res.index.
        index: u16,
    },
}

/// Reads the 20-byte header; returns it and the payload length that follows.
pub fn decode_header(b: &[u8; HEADER_LEN]) -> Result<(Header, usize), DecodeError> {
    if b[0] != 1 {
        return Err(DecodeError::Version(b[0]));
    }
    let h = Header {
        ty: b[1],
        flags: b[2],
        session_id: 0,
        transaction_id: 0,
        packet_id: 0,
    };
    let mut r = Reader {
        b: &b[4..],
        big: h.big_endian(),
    };
    let session_id = r.u32()?;
    let transaction_id = r.u32()?;
    let packet_id = r.u32()?;
    let len = r.u32()?;
    if len % 4 != 0 || len as usize > MAX_PAYLOAD {
        return Err(DecodeError::PayloadLength(len));
    }
    Ok((
        Header {
            session_id,
            transaction_id,
            packet_id,
            ..h
        },
        len as usize,
    ))
}

/// Decodes the payload of a PDU whose header is `h`.
pub fn decode_payload(h: &Header, payload: &[u8]) -> Result<Request, DecodeError> {
    let mut r = Reader {
        b: payload,
        big: h.big_endian(),
    };
    let has_context = h.flags & FLAG_NON_DEFAULT_CONTEXT != 0;
    match h.ty {
        ty::GET | ty::GET_NEXT => {
            r.context(has_context)?;
            let ranges = r.ranges()?;
            Ok(if h.ty == ty::GET {
                Request::Get(ranges)
            } else {
                Request::GetNext(ranges)
            })
        }
        ty::GET_BULK => {
            r.context(has_context)?;
            let non_repeaters = r.u16()?;
            let max_repetitions = r.u16()?;
            Ok(Request::GetBulk {
                non_repeaters,
                max_repetitions,
                ranges: r.ranges()?,
            })
        }
        ty::TEST_SET => {
            r.context(has_context)?;
            let mut vbs = Vec::new();
            while !r.b.is_empty() {
                vbs.push(r.varbind()?);
            }
            Ok(Request::TestSet(vbs))
        }
        ty::COMMIT_SET => Ok(Request::CommitSet),
        ty::UNDO_SET => Ok(Request::UndoSet),
        ty::CLEANUP_SET => Ok(Request::CleanupSet),
        ty::CLOSE => Ok(Request::Close(r.bytes(4)?[0])),
        ty::RESPONSE => {
            let _sys_uptime = r.u32()?;
            let error = r.u16()?;
            let index = r.u16()?;
            Ok(Request::Response { error, index })
        }
        t => Err(DecodeError::PduType(t)),
    }
}

struct Reader<'a> {
    b: &'a [u8],
    big: bool,
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.b.len() {
            return Err(DecodeError::Truncated);
        }
        let (head, rest) = self.b.split_at(n);
        self.b = rest;
        Ok(head)
    }

    /// The next `N` bytes as a big-endian number's bytes, whatever the
    /// PDU's byte order.
    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.bytes(N)?);
        if !self.big {
            a.reverse();
        }
        Ok(a)
    }

    fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// An object identifier and its include flag (RFC 2741 5.1).
    fn oid(&mut self) -> Result<(Oid, bool), DecodeError> {
        let head = self.bytes(4)?;
        let (n, prefix, include) = (head[0], head[1], head[2] != 0);
        if usize::from(n) > MAX_SUBIDS {
            return Err(DecodeError::OidTooLong(n));
        }
        if usize::from(n) * 4 > self.b.len() {
            return Err(DecodeError::Truncated);
        }
        let mut oid = Vec::with_capacity(usize::from(n) + 5);
        if prefix != 0 {
            oid.extend_from_slice(&INTERNET);
            oid.push(u32::from(prefix));
        }
        for _ in 0..n {
            oid.push(self.u32()?);
        }
        Ok((oid, include))
    }

    /// An octet string, padded to 4 bytes (RFC 2741 5.3).
    fn octets(&mut self) -> Result<Vec<u8>, DecodeError> {
        let len = self.u32()? as usize;
        let padded = len.checked_add(3).ok_or(DecodeError::Truncated)? & !3;
        let b = self.bytes(padded)?;
        Ok(b[..len].to_vec())
    }

    fn context(&mut self, present: bool) -> Result<(), DecodeError> {
        if present {
            self.octets()?;
        }
        Ok(())
    }

    fn ranges(&mut self) -> Result<Vec<SearchRange>, DecodeError> {
        let mut ranges = Vec::new();
        while !self.b.is_empty() {
            let (start, include) = self.oid()?;
            let (end, _) = self.oid()?;
            ranges.push(SearchRange {
                start,
                include,
                end,
            });
        }
        Ok(ranges)
    }

    fn varbind(&mut self) -> Result<VarBind, DecodeError> {
        let t = self.u16()?;
        self.u16()?; // reserved
        let (name, _) = self.oid()?;
        let value = match t {
            vt::INTEGER => Value::Integer(self.u32()? as i32),
            vt::OCTET_STRING => Value::OctetString(self.octets()?),
            vt::NULL => Value::Null,
            vt::OBJECT_IDENTIFIER => Value::ObjectIdentifier(self.oid()?.0),
            vt::IP_ADDRESS => {
                let o = self.octets()?;
                Value::IpAddress(
                    o.as_slice()
                        .try_into()
                        .map_err(|_| DecodeError::Truncated)?,
                )
            }
            vt::COUNTER32 => Value::Counter32(self.u32()?),
            vt::GAUGE32 => Value::Gauge32(self.u32()?),
            vt::TIME_TICKS => Value::TimeTicks(self.u32()?),
            vt::OPAQUE => Value::Opaque(self.octets()?),
            vt::COUNTER64 => Value::Counter64(self.u64()?),
            vt::NO_SUCH_OBJECT => Value::NoSuchObject,
            vt::NO_SUCH_INSTANCE => Value::NoSuchInstance,
            vt::END_OF_MIB_VIEW => Value::EndOfMibView,
            t => return Err(DecodeError::ValueType(t)),
        };
        Ok(VarBind { name, value })
    }
}

/// Builds one PDU; the payload length is filled in by [`Writer::finish`].
/// Everything we send is in network byte order.
struct Writer {
    b: Vec<u8>,
}

impl Writer {
    fn new(ty: u8, flags: u8, session_id: u32, transaction_id: u32, packet_id: u32) -> Self {
        let mut b = Vec::with_capacity(64);
        b.extend_from_slice(&[1, ty, flags | FLAG_NETWORK_BYTE_ORDER, 0]);
        for v in [session_id, transaction_id, packet_id, 0] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        Writer { b }
    }

    fn u8s(&mut self, v: [u8; 4]) {
        self.b.extend_from_slice(&v);
    }

    fn u16(&mut self, v: u16) {
        self.b.extend_from_slice(&v.to_be_bytes());
    }

    fn u32(&mut self, v: u32) {
        self.b.extend_from_slice(&v.to_be_bytes());
    }

    fn oid(&mut self, oid: &[u32], include: bool) {
        let (prefix, rest) = match oid {
            [1, 3, 6, 1, p @ 1..=255, rest @ ..] => (*p as u8, rest),
            _ => (0, oid),
        };
        // Names come from our MIB or from the master; both are within
        // RFC 2741's 128 sub-identifiers, but a longer one must not wrap.
        let rest = &rest[..rest.len().min(MAX_SUBIDS)];
        self.u8s([rest.len() as u8, prefix, u8::from(include), 0]);
        for &s in rest {
            self.u32(s);
        }
    }

    fn octets(&mut self, o: &[u8]) {
        self.u32(o.len() as u32);
        self.b.extend_from_slice(o);
        self.b.resize(self.b.len().next_multiple_of(4), 0);
    }

    fn varbind(&mut self, vb: &VarBind) {
        let t = match vb.value {
            Value::Integer(_) => vt::INTEGER,
            Value::OctetString(_) => vt::OCTET_STRING,
            Value::Null => vt::NULL,
            Value::ObjectIdentifier(_) => vt::OBJECT_IDENTIFIER,
            Value::IpAddress(_) => vt::IP_ADDRESS,
            Value::Counter32(_) => vt::COUNTER32,
            Value::Gauge32(_) => vt::GAUGE32,
            Value::TimeTicks(_) => vt::TIME_TICKS,
            Value::Opaque(_) => vt::OPAQUE,
            Value::Counter64(_) => vt::COUNTER64,
            Value::NoSuchObject => vt::NO_SUCH_OBJECT,
            Value::NoSuchInstance => vt::NO_SUCH_INSTANCE,
            Value::EndOfMibView => vt::END_OF_MIB_VIEW,
        };
        self.u16(t);
        self.u16(0);
        self.oid(&vb.name, false);
        match &vb.value {
            Value::Integer(v) => self.u32(*v as u32),
            Value::Counter32(v) | Value::Gauge32(v) | Value::TimeTicks(v) => self.u32(*v),
            Value::Counter64(v) => self.b.extend_from_slice(&v.to_be_bytes()),
            Value::OctetString(o) | Value::Opaque(o) => self.octets(o),
            Value::IpAddress(a) => self.octets(a),
            Value::ObjectIdentifier(o) => self.oid(o, false),
            Value::Null | Value::NoSuchObject | Value::NoSuchInstance | Value::EndOfMibView => {}
        }
    }

    fn finish(mut self) -> Vec<u8> {
        let len = (self.b.len() - HEADER_LEN) as u32;
        self.b[16..20].copy_from_slice(&len.to_be_bytes());
        self.b
    }
}

/// agentx-Open-PDU: a session whose requests time out after `timeout_s`.
pub fn open(packet_id: u32, timeout_s: u8, id: &[u32], descr: &str) -> Vec<u8> {
    let mut w = Writer::new(ty::OPEN, 0, 0, 0, packet_id);
    w.u8s([timeout_s, 0, 0, 0]);
    w.oid(id, false);
    w.octets(descr.as_bytes());
    w.finish()
}

/// agentx-Register-PDU for the whole `subtree`, at the default priority.
pub fn register(session_id: u32, packet_id: u32, subtree: &[u32]) -> Vec<u8> {
    let mut w = Writer::new(ty::REGISTER, 0, session_id, 0, packet_id);
    w.u8s([0, 127, 0, 0]);
    w.oid(subtree, false);
    w.finish()
}

/// agentx-Close-PDU; reason 5 is "shutdown".
pub fn close(session_id: u32, packet_id: u32, reason: u8) -> Vec<u8> {
    let mut w = Writer::new(ty::CLOSE, 0, session_id, 0, packet_id);
    w.u8s([reason, 0, 0, 0]);
    w.finish()
}

/// SNMP error statuses a response carries (RFC 3416; RFC 2741 6.2.16).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub enum SnmpError {
    /// noError.
    NoError = 0,
    /// genErr.
    GenErr = 5,
    /// wrongType.
    WrongType = 7,
    /// wrongValue.
    WrongValue = 10,
    /// noCreation.
    NoCreation = 11,
    /// commitFailed.
    CommitFailed = 14,
    /// undoFailed.
    UndoFailed = 15,
    /// notWritable.
    NotWritable = 17,
}

/// agentx-Response-PDU answering the PDU with header `h`.
pub fn response(h: &Header, error: SnmpError, index: u16, vbs: &[VarBind]) -> Vec<u8> {
    let mut w = Writer::new(ty::RESPONSE, 0, h.session_id, h.transaction_id, h.packet_id);
    w.u32(0); // sysUpTime: the master fills in its own
    w.u16(error as u16);
    w.u16(index);
    for vb in vbs {
        w.varbind(vb);
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(bytes: &[u8]) -> (Header, usize) {
        decode_header(bytes[..HEADER_LEN].try_into().unwrap()).unwrap()
    }

    /// A GetNext as net-snmp's master sends it, written out by hand from
    /// RFC 2741 (little-endian, as snmpd on x86 sends): start
    /// 1.3.6.1.4.1.37476.9000.10.1 included, end 1.3.6.1.4.1.37476.9000.10.2.
    #[test]
    fn decodes_a_little_endian_get_next_by_hand() {
        let mut b = vec![1, 6, 0, 0];
        for v in [7u32, 8, 9, 2 * (4 + 4 * 5)] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        for (last, include) in [(1u32, 1u8), (2, 0)] {
            b.extend_from_slice(&[5, 4, include, 0]);
            for s in [1u32, 37476, 9000, 10, last] {
                b.extend_from_slice(&s.to_le_bytes());
            }
        }
        let (h, len) = header(&b);
        assert_eq!(
            (h.ty, h.session_id, h.transaction_id, h.packet_id, len),
            (6, 7, 8, 9, 48)
        );
        let r = decode_payload(&h, &b[HEADER_LEN..]).unwrap();
        let root = |last| vec![1, 3, 6, 1, 4, 1, 37476, 9000, 10, last];
        assert_eq!(
            r,
            Request::GetNext(vec![SearchRange {
                start: root(1),
                include: true,
                end: root(2)
            }])
        );
    }

    #[test]
    fn response_is_big_endian_with_the_prefix_compressed() {
        let h = Header {
            ty: 5,
            flags: 0,
            session_id: 1,
            transaction_id: 2,
            packet_id: 3,
        };
        let vb = VarBind {
            name: vec![1, 3, 6, 1, 4, 1, 2, 0],
            value: Value::Counter64(0x0102_0304_0506_0708),
        };
        let b = response(&h, SnmpError::NoError, 0, &[vb]);
        assert_eq!(&b[..4], &[1, 18, FLAG_NETWORK_BYTE_ORDER, 0]);
        assert_eq!(&b[4..16], &[0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]);
        assert_eq!(
            u32::from_be_bytes(b[16..20].try_into().unwrap()) as usize,
            b.len() - HEADER_LEN
        );
        // sysUpTime, error, index; then type 70, the name 1.3.6.1.4 + (1, 2, 0).
        assert_eq!(&b[20..28], &[0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&b[28..32], &[0, 70, 0, 0]);
        assert_eq!(&b[32..36], &[3, 4, 0, 0]);
        assert_eq!(&b[48..56], &[1, 2, 3, 4, 5, 6, 7, 8]);
    }

    #[test]
    fn every_value_type_survives_a_round_trip() {
        let values = [
            Value::Integer(-5),
            Value::OctetString(vec![0x07, 0xea, 11, 30, 0, 0, 0, 0, b'+', 0, 0]),
            Value::OctetString(Vec::new()),
            Value::Null,
            Value::ObjectIdentifier(vec![1, 3, 6, 1, 4, 1, 37476]),
            Value::IpAddress([10, 0, 0, 1]),
            Value::Counter32(u32::MAX),
            Value::Gauge32(7),
            Value::TimeTicks(100),
            Value::Opaque(vec![1, 2, 3]),
            Value::Counter64(u64::MAX),
            Value::NoSuchObject,
            Value::NoSuchInstance,
            Value::EndOfMibView,
        ];
        let vbs: Vec<VarBind> = values
            .iter()
            .enumerate()
            .map(|(i, v)| VarBind {
                name: vec![1, 3, i as u32],
                value: v.clone(),
            })
            .collect();
        // A response carries exactly a TestSet's payload after its 8 bytes.
        let h = Header {
            ty: ty::TEST_SET,
            flags: FLAG_NETWORK_BYTE_ORDER,
            session_id: 1,
            transaction_id: 1,
            packet_id: 1,
        };
        let b = response(&h, SnmpError::NoError, 0, &vbs);
        let r = decode_payload(&h, &b[HEADER_LEN + 8..]).unwrap();
        assert_eq!(r, Request::TestSet(vbs));
    }

    #[test]
    fn every_truncation_of_a_pdu_is_an_error() {
        let h = Header {
            ty: ty::TEST_SET,
            flags: FLAG_NETWORK_BYTE_ORDER,
            session_id: 1,
            transaction_id: 1,
            packet_id: 1,
        };
        let vbs = [
            VarBind {
                name: vec![1, 3, 6, 1, 4, 1, 37476, 9000, 10, 1, 1, 2, 7, 0],
                value: Value::OctetString(b"127.0.0.1:2055".to_vec()),
            },
            VarBind {
                name: vec![1, 3, 6, 1, 4, 1, 37476, 9000, 10, 1, 1, 2, 4, 0],
                value: Value::Integer(60),
            },
        ];
        let b = response(&h, SnmpError::NoError, 0, &vbs);
        let payload = &b[HEADER_LEN + 8..];
        for cut in 1..payload.len() {
            let r = decode_payload(&h, &payload[..payload.len() - cut]);
            // Cutting at a varbind boundary leaves a valid shorter list.
            if let Ok(Request::TestSet(got)) = &r {
                assert_eq!(got.as_slice(), &vbs[..1], "cut {cut}");
            } else {
                assert_eq!(r, Err(DecodeError::Truncated), "cut {cut}");
            }
        }
    }

    #[test]
    fn header_checks() {
        let mut b = [0u8; HEADER_LEN];
        b[0] = 2;
        assert_eq!(decode_header(&b), Err(DecodeError::Version(2)));
        b[0] = 1;
        b[16] = 3;
        assert_eq!(decode_header(&b), Err(DecodeError::PayloadLength(3)));
        b[16..20].copy_from_slice(&(MAX_PAYLOAD as u32 + 4).to_le_bytes());
        assert!(matches!(
            decode_header(&b),
            Err(DecodeError::PayloadLength(_))
        ));
        let h = Header {
            ty: 99,
            flags: 0,
            session_id: 0,
            transaction_id: 0,
            packet_id: 0,
        };
        assert_eq!(decode_payload(&h, &[]), Err(DecodeError::PduType(99)));
    }

    #[test]
    fn oid_longer_than_128_is_refused() {
        let h = Header {
            ty: ty::GET,
            flags: 0,
            session_id: 0,
            transaction_id: 0,
            packet_id: 0,
        };
        let mut p = vec![129, 0, 0, 0];
        p.resize(4 + 129 * 4, 0);
        assert_eq!(decode_payload(&h, &p), Err(DecodeError::OidTooLong(129)));
    }

    #[test]
    fn open_and_register_layout() {
        let root = [1, 3, 6, 1, 4, 1, 37476, 9000, 10, 1];
        let b = open(1, 5, &root, "ipt_NETFLOW");
        let (h, len) = header(&b);
        assert_eq!((h.ty, len), (ty::OPEN, b.len() - HEADER_LEN));
        assert_eq!(&b[20..24], &[5, 0, 0, 0]);
        assert_eq!(&b[24..28], &[5, 4, 0, 0]);
        assert_eq!(&b[48..52], &11u32.to_be_bytes());
        assert_eq!(b.len(), 52 + 12);
        let b = register(42, 2, &root);
        let (h, _) = header(&b);
        assert_eq!((h.ty, h.session_id), (ty::REGISTER, 42));
        assert_eq!(&b[20..24], &[0, 127, 0, 0]);
    }
}
