// SPDX-License-Identifier: GPL-2.0-only
//! The options records NetFlow v9 and IPFIX exporters send about
//! themselves (reference §4.5): when the exporter started and what it is,
//! metering and exporting statistics, the names of the interfaces whose
//! indexes the flow records carry, and how flows are sampled (RFC 7014).
//!
//! Each record is a list of (element, value) pairs; its template and its
//! bytes both come from that one list, so they cannot disagree.

use super::template::{FieldList, TemplateKey};
use crate::meter::sampler::SamplerMode;

/// Seconds between system-information records (the original's
/// `SYSINFO_INTERVAL`).
pub const SYSINFO_INTERVAL: u64 = 300;
/// Seconds between statistics records (`STAT_INTERVAL`).
pub const STAT_INTERVAL: u64 = 60;
/// Seconds between interface-name lists.
pub const IFNAMES_INTERVAL: u64 = 300;
/// Seconds between sampler descriptions (`SAMPLER_INFO_INTERVAL`).
pub const SAMPLER_INTERVAL: u64 = 300;

/// Length of the IF_NAME element.
pub const IF_NAME_LEN: usize = 16;
/// Length of the IF_DESC element.
pub const IF_DESC_LEN: usize = 32;

/// Element ids of the options records.
pub mod ie {
    /// INPUT_SNMP / ingressInterface.
    pub const INGRESS_INTERFACE: u16 = 10;
    /// FLOW_SAMPLER_ID (v9).
    pub const FLOW_SAMPLER_ID: u16 = 48;
    /// FLOW_SAMPLER_MODE (v9).
    pub const FLOW_SAMPLER_MODE: u16 = 49;
    /// FLOW_SAMPLER_RANDOM_INTERVAL (v9).
    pub const FLOW_SAMPLER_RANDOM_INTERVAL: u16 = 50;
    /// selectorId.
    pub const SELECTOR_ID: u16 = 302;
    /// samplingSize.
    pub const SAMPLING_SIZE: u16 = 309;
    /// samplingPopulation.
    pub const SAMPLING_POPULATION: u16 = 310;
    /// selectorIdTotalPktsObserved.
    pub const SELECTOR_PKTS_OBSERVED: u16 = 318;
    /// selectorIdTotalPktsSelected.
    pub const SELECTOR_PKTS_SELECTED: u16 = 319;
    /// flowSelectorAlgorithm.
    pub const FLOW_SELECTOR_ALGORITHM: u16 = 390;
    /// selectorIDTotalFlowsObserved.
    pub const SELECTOR_FLOWS_OBSERVED: u16 = 394;
    /// selectorIDTotalFlowsSelected.
    pub const SELECTOR_FLOWS_SELECTED: u16 = 395;
    /// samplingFlowInterval.
    pub const SAMPLING_FLOW_INTERVAL: u16 = 396;
    /// samplingFlowSpacing.
    pub const SAMPLING_FLOW_SPACING: u16 = 397;
    /// exportedOctetTotalCount.
    pub const EXPORTED_OCTETS: u16 = 40;
    /// exportedMessageTotalCount.
    pub const EXPORTED_MESSAGES: u16 = 41;
    /// exportedFlowRecordTotalCount.
    pub const EXPORTED_FLOWS: u16 = 42;
    /// IF_NAME (v9).
    pub const IF_NAME: u16 = 82;
    /// IF_DESC (v9).
    pub const IF_DESC: u16 = 83;
    /// exportingProcessId.
    pub const EXPORTING_PROCESS_ID: u16 = 144;
    /// observationDomainId.
    pub const OBSERVATION_DOMAIN_ID: u16 = 149;
    /// flowStartMilliseconds.
    pub const START_MS: u16 = 152;
    /// flowEndMilliseconds.
    pub const END_MS: u16 = 153;
    /// systemInitTimeMilliseconds.
    pub const SYSTEM_INIT_MS: u16 = 160;
    /// observedFlowTotalCount.
    pub const OBSERVED_FLOWS: u16 = 163;
    /// ignoredPacketTotalCount.
    pub const IGNORED_PACKETS: u16 = 164;
    /// ignoredOctetTotalCount.
    pub const IGNORED_OCTETS: u16 = 165;
    /// notSentFlowTotalCount.
    pub const NOT_SENT_FLOWS: u16 = 166;
    /// notSentPacketTotalCount.
    pub const NOT_SENT_PACKETS: u16 = 167;
    /// notSentOctetTotalCount.
    pub const NOT_SENT_OCTETS: u16 = 168;
    /// observationDomainName.
    pub const OBSERVATION_DOMAIN_NAME: u16 = 300;
}

/// One element's value; its wire length follows from the variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    /// One byte.
    U8(u8),
    /// Two bytes.
    U16(u16),
    /// Four bytes.
    U32(u32),
    /// Eight bytes.
    U64(u64),
    /// Text in a field of the given length, zero-padded (and cut if longer).
    Text(&'a [u8], u16),
}

impl Value<'_> {
    /// Bytes on the wire.
    pub fn len(&self) -> u16 {
        match *self {
            Value::U8(_) => 1,
            Value::U16(_) => 2,
            Value::U32(_) => 4,
            Value::U64(_) => 8,
            Value::Text(_, n) => n,
        }
    }

    /// Whether the value takes no bytes (never, for the records below).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn write(&self, out: &mut [u8]) {
        let bytes: &[u8] = match self {
            Value::U8(v) => &[*v],
            Value::U16(v) => &v.to_be_bytes(),
            Value::U32(v) => &v.to_be_bytes(),
            Value::U64(v) => &v.to_be_bytes(),
            Value::Text(t, _) => t,
        };
        for (o, b) in out
            .iter_mut()
            .zip(bytes.iter().chain(core::iter::repeat(&0)))
        {
            *o = *b;
        }
    }
}

/// A time span in milliseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    /// flowStartMilliseconds.
    pub first_ms: u64,
    /// flowEndMilliseconds.
    pub last_ms: u64,
}

/// The options records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionsRecord<'a> {
    /// Who the exporter is and since when.
    SystemInit {
        /// observationDomainId (`engine_id`).
        domain: u32,
        /// When the system booted.
        boot_ms: u64,
        /// `"ipt_NETFLOW <version> <srcversion>"`, sent NUL-terminated.
        name: &'a [u8],
        /// From the module's load until now.
        span: Span,
    },
    /// Metering Process Statistics (RFC 7011 §4.1).
    MeteringStats {
        /// observationDomainId.
        domain: u32,
        /// Export packets sent.
        messages: u64,
        /// Flow records exported.
        flows: u64,
        /// Bytes of export packets sent.
        octets: u64,
        /// Flows the meter created.
        observed_flows: u64,
    },
    /// Metering Process Reliability Statistics (RFC 7011 §4.2).
    MeteringReliability {
        /// observationDomainId.
        domain: u32,
        /// Packets the meter could not account.
        packets: u64,
        /// Their bytes.
        octets: u64,
        /// When the first and the last were dropped.
        span: Span,
    },
    /// Exporting Process Reliability Statistics (RFC 7011 §4.3).
    ExportingReliability {
        /// exportingProcessId (`engine_id`).
        process: u32,
        /// Flow records that reached no collector.
        flows: u64,
        /// Packets in them.
        packets: u64,
        /// Bytes in them.
        octets: u64,
        /// When the first and the last were lost.
        span: Span,
    },
    /// One network interface: its index, name and description.
    Interface {
        /// observationDomainId.
        domain: u32,
        /// The index flow records carry as input/output interface.
        ifindex: u16,
        /// The interface's name.
        name: &'a [u8],
        /// What it is (see [`interface_description`]).
        description: &'a [u8],
    },
    /// NetFlow v9 flow sampler: its id (the mode), mode and interval.
    Sampler {
        /// observationDomainId.
        domain: u32,
        /// FLOW_SAMPLER_ID: the mode number the data records carry.
        id: u8,
        /// FLOW_SAMPLER_MODE: 1 deterministic, 2 random (hash too).
        mode: u8,
        /// FLOW_SAMPLER_RANDOM_INTERVAL: one flow out of this many.
        interval: u16,
    },
    /// IPFIX systematic count-based flow selector (deterministic mode).
    SelectorCount {
        /// observationDomainId.
        domain: u32,
        /// selectorId: the mode number the data records carry.
        id: u8,
        /// samplingFlowSpacing: one flow out of this many.
        interval: u16,
    },
    /// IPFIX random n-out-of-N flow selector (random and hash modes).
    SelectorRandom {
        /// observationDomainId.
        domain: u32,
        /// selectorId.
        id: u8,
        /// samplingPopulation: one flow out of this many.
        interval: u16,
    },
    /// IPFIX flow selector statistics (RFC 7014 §4). In hash mode the
    /// flows the selector looked at are unknown (unselected packets make
    /// no flow), so that count is left out.
    SelectorStats {
        /// selectorId (the scope).
        id: u8,
        /// selectorIDTotalFlowsObserved, unless in hash mode.
        flows_observed: Option<u64>,
        /// selectorIDTotalFlowsSelected.
        flows_selected: u64,
        /// selectorIdTotalPktsObserved.
        pkts_observed: u64,
        /// selectorIdTotalPktsSelected.
        pkts_selected: u64,
        /// Since sampling started, until now.
        span: Span,
    },
}

/// Most elements an options record has.
pub const MAX_OPTION_FIELDS: usize = 7;

/// An options record's (element, value) pairs, scope first, in a fixed
/// array (no allocation on the export path).
pub struct Elements<'a> {
    items: [(u16, Value<'a>); MAX_OPTION_FIELDS],
    len: usize,
}

impl<'a> Elements<'a> {
    /// The pairs of `list`.
    fn of<const N: usize>(list: [(u16, Value<'a>); N]) -> Self {
        let mut e = Elements {
            items: [(0, Value::U8(0)); MAX_OPTION_FIELDS],
            len: 0,
        };
        for element in list {
            e.push(element);
        }
        e
    }

    /// Appends a pair; one beyond MAX_OPTION_FIELDS is dropped (the unit
    /// tests show every record within it).
    fn push(&mut self, element: (u16, Value<'a>)) {
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = element;
            self.len += 1;
        }
    }

    /// The pairs.
    pub fn as_slice(&self) -> &[(u16, Value<'a>)] {
        self.items.get(..self.len).unwrap_or(&[])
    }
}

impl<'a> OptionsRecord<'a> {
    /// The template key; bit 31 keeps options keys apart from data ones.
    pub fn key(&self) -> TemplateKey {
        let n = match self {
            OptionsRecord::SystemInit { name, .. } => 1 | (name.len().min(0xfff) as u32 + 1) << 8,
            OptionsRecord::MeteringStats { .. } => 2,
            OptionsRecord::MeteringReliability { .. } => 3,
            OptionsRecord::ExportingReliability { .. } => 4,
            OptionsRecord::Interface { .. } => 5,
            OptionsRecord::Sampler { .. } => 6,
            OptionsRecord::SelectorCount { .. } => 7,
            OptionsRecord::SelectorRandom { .. } => 8,
            OptionsRecord::SelectorStats {
                flows_observed: Some(_),
                ..
            } => 9,
            OptionsRecord::SelectorStats {
                flows_observed: None,
                ..
            } => 10,
        };
        TemplateKey(1 << 31 | n)
    }

    /// How many leading elements are the scope (always one).
    pub const SCOPE_FIELDS: u16 = 1;

    /// The (element, value) pairs, scope first.
    pub fn elements(&self) -> Elements<'a> {
        use ie::*;
        match *self {
            OptionsRecord::SystemInit {
                domain,
                boot_ms,
                name,
                span,
            } => Elements::of([
                (OBSERVATION_DOMAIN_ID, Value::U32(domain)),
                (SYSTEM_INIT_MS, Value::U64(boot_ms)),
                // The terminating NUL is part of the element.
                (
                    OBSERVATION_DOMAIN_NAME,
                    Value::Text(name, name.len().min(0xfff) as u16 + 1),
                ),
                (START_MS, Value::U64(span.first_ms)),
                (END_MS, Value::U64(span.last_ms)),
            ]),
            OptionsRecord::MeteringStats {
                domain,
                messages,
                flows,
                octets,
                observed_flows,
            } => Elements::of([
                (OBSERVATION_DOMAIN_ID, Value::U32(domain)),
                (EXPORTED_MESSAGES, Value::U64(messages)),
                (EXPORTED_FLOWS, Value::U64(flows)),
                (EXPORTED_OCTETS, Value::U64(octets)),
                (OBSERVED_FLOWS, Value::U64(observed_flows)),
            ]),
            OptionsRecord::MeteringReliability {
                domain,
                packets,
                octets,
                span,
            } => Elements::of([
                (OBSERVATION_DOMAIN_ID, Value::U32(domain)),
                (IGNORED_PACKETS, Value::U64(packets)),
                (IGNORED_OCTETS, Value::U64(octets)),
                (START_MS, Value::U64(span.first_ms)),
                (END_MS, Value::U64(span.last_ms)),
            ]),
            OptionsRecord::ExportingReliability {
                process,
                flows,
                packets,
                octets,
                span,
            } => Elements::of([
                (EXPORTING_PROCESS_ID, Value::U32(process)),
                (NOT_SENT_FLOWS, Value::U64(flows)),
                (NOT_SENT_PACKETS, Value::U64(packets)),
                (NOT_SENT_OCTETS, Value::U64(octets)),
                (START_MS, Value::U64(span.first_ms)),
                (END_MS, Value::U64(span.last_ms)),
            ]),
            OptionsRecord::Interface {
                domain,
                ifindex,
                name,
                description,
            } => Elements::of([
                (OBSERVATION_DOMAIN_ID, Value::U32(domain)),
                (INGRESS_INTERFACE, Value::U16(ifindex)),
                (IF_NAME, Value::Text(name, IF_NAME_LEN as u16)),
                (IF_DESC, Value::Text(description, IF_DESC_LEN as u16)),
            ]),
            OptionsRecord::Sampler {
                domain,
                id,
                mode,
                interval,
            } => Elements::of([
                (OBSERVATION_DOMAIN_ID, Value::U32(domain)),
                (FLOW_SAMPLER_ID, Value::U8(id)),
                (FLOW_SAMPLER_MODE, Value::U8(mode)),
                (FLOW_SAMPLER_RANDOM_INTERVAL, Value::U16(interval)),
            ]),
            OptionsRecord::SelectorCount {
                domain,
                id,
                interval,
            } => Elements::of([
                (OBSERVATION_DOMAIN_ID, Value::U32(domain)),
                (SELECTOR_ID, Value::U8(id)),
                (
                    FLOW_SELECTOR_ALGORITHM,
                    Value::U8(SamplerMode::Deterministic.ipfix_algorithm()),
                ),
                // One flow selected...
                (SAMPLING_FLOW_INTERVAL, Value::U8(1)),
                // ...then `interval - 1` skipped: the original's value.
                (SAMPLING_FLOW_SPACING, Value::U16(interval)),
            ]),
            OptionsRecord::SelectorRandom {
                domain,
                id,
                interval,
            } => Elements::of([
                (OBSERVATION_DOMAIN_ID, Value::U32(domain)),
                (SELECTOR_ID, Value::U8(id)),
                (
                    FLOW_SELECTOR_ALGORITHM,
                    Value::U8(SamplerMode::Random.ipfix_algorithm()),
                ),
                (SAMPLING_SIZE, Value::U8(1)),
                (SAMPLING_POPULATION, Value::U16(interval)),
            ]),
            OptionsRecord::SelectorStats {
                id,
                flows_observed,
                flows_selected,
                pkts_observed,
                pkts_selected,
                span,
            } => {
                let mut e = Elements::of([(SELECTOR_ID, Value::U8(id))]);
                if let Some(observed) = flows_observed {
                    e.push((SELECTOR_FLOWS_OBSERVED, Value::U64(observed)));
                }
                for element in [
                    (SELECTOR_FLOWS_SELECTED, Value::U64(flows_selected)),
                    (SELECTOR_PKTS_OBSERVED, Value::U64(pkts_observed)),
                    (SELECTOR_PKTS_SELECTED, Value::U64(pkts_selected)),
                    (START_MS, Value::U64(span.first_ms)),
                    (END_MS, Value::U64(span.last_ms)),
                ] {
                    e.push(element);
                }
                e
            }
        }
    }

    /// The template's (element, length) pairs.
    pub fn fields(&self, out: &mut FieldList) {
        for (id, v) in self.elements().as_slice() {
            out.extend(&[(*id, v.len())]);
        }
    }

    /// Writes the record's bytes; `out` is as long as the template says.
    pub fn write(&self, out: &mut [u8]) {
        let mut at = 0usize;
        for (_, v) in self.elements().as_slice() {
            let len = usize::from(v.len());
            if let Some(dst) = out.get_mut(at..at.saturating_add(len)) {
                v.write(dst);
            }
            at = at.saturating_add(len);
        }
    }
}

/// Which options records are due.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Due {
    /// The system-information record.
    pub system_init: bool,
    /// The statistics records.
    pub stats: bool,
    /// The interface list.
    pub interfaces: bool,
    /// The sampler's description (when sampling is on).
    pub sampler: bool,
}

/// When each options record is due next, in seconds of a monotonic clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OptionsSchedule {
    system_init_at: u64,
    stats_at: u64,
    interfaces_at: u64,
    sampler_at: u64,
}

impl OptionsSchedule {
    /// At start: the system information and interface list at once, the
    /// first statistics a minute later.
    pub fn new(now: u64) -> Self {
        OptionsSchedule {
            system_init_at: now,
            stats_at: now.saturating_add(STAT_INTERVAL),
            interfaces_at: now,
            sampler_at: now,
        }
    }

    /// The templates were forgotten (protocol or destination change): a
    /// collector that starts listening now learns who we are at once. The
    /// interface list keeps its own pace, as in the original.
    pub fn templates_reset(&mut self, now: u64) {
        self.system_init_at = now;
        self.stats_at = now;
        self.sampler_at = now;
    }

    /// The sampler changed: collectors learn the new one at once.
    pub fn sampler_changed(&mut self, now: u64) {
        self.sampler_at = now;
    }

    /// What is due at `now`; each due record is scheduled again.
    pub fn take_due(&mut self, now: u64) -> Due {
        let take = |at: &mut u64, every: u64| {
            let due = now >= *at;
            if due {
                *at = now.saturating_add(every);
            }
            due
        };
        Due {
            system_init: take(&mut self.system_init_at, SYSINFO_INTERVAL),
            stats: take(&mut self.stats_at, STAT_INTERVAL),
            interfaces: take(&mut self.interfaces_at, IFNAMES_INTERVAL),
            sampler: take(&mut self.sampler_at, SAMPLER_INTERVAL),
        }
    }
}

/// What the kernel says about an interface, for [`interface_description`].
#[derive(Clone, Copy, Debug, Default)]
pub struct InterfaceFacts<'a> {
    /// Its alias (`ip link set ... alias`), empty if none.
    pub alias: &'a [u8],
    /// Its driver's name from ethtool, empty if none.
    pub driver: &'a [u8],
    /// Whether it is up with a carrier.
    pub running: bool,
    /// Link speed in Mb/s, if known.
    pub speed_mbps: Option<u32>,
    /// ethtool `PORT_*` connector type, if known.
    pub port: Option<u8>,
    /// `ARPHRD_*` hardware type.
    pub hw_type: u16,
}

/// The interface description the original exports as IF_DESC: the alias
/// if one is set; otherwise the driver's name, with speed and connector
/// while the link is up (`"e1000e,1GbE,tp"`); otherwise a name for the
/// hardware type. Returns the text's length in `out`.
pub fn interface_description(f: &InterfaceFacts<'_>, out: &mut [u8; IF_DESC_LEN]) -> usize {
    let mut w = TextWriter { buf: out, len: 0 };
    if !f.alias.is_empty() {
        w.put(f.alias);
    } else if !f.driver.is_empty() {
        w.put(f.driver);
        if f.running {
            if let Some(mbps) = f.speed_mbps {
                w.put(b",");
                if mbps >= 1000 && mbps % 1000 == 0 {
                    w.number(mbps / 1000);
                    w.put(b"GbE");
                } else {
                    w.number(mbps);
                    w.put(b"MbE");
                }
            }
            if let Some(port) = f.port.and_then(port_name) {
                w.put(b",");
                w.put(port);
            }
        }
    } else {
        w.put(hw_type_name(f.hw_type));
    }
    w.len
}

/// ethtool's connector types, by their `PORT_*` number.
fn port_name(port: u8) -> Option<&'static [u8]> {
    Some(match port {
        0x00 => b"tp",
        0x01 => b"aui",
        0x02 => b"bnc",
        0x03 => b"mii",
        0x04 => b"fb",
        0x05 => b"da",
        _ => return None,
    })
}

/// The original's name for an `ARPHRD_*` hardware type; empty for a type
/// it has no name for.
fn hw_type_name(t: u16) -> &'static [u8] {
    match t {
        0 => b"NET/ROM",
        1 => b"Ethernet",
        3 => b"AX.25 Level 2",
        6 => b"IEEE 802.2 Ethernet",
        7 => b"ARCnet",
        15 => b"Frame Relay DLCI",
        19 => b"ATM",
        23 => b"Metricom STRIP",
        24 => b"IEEE 1394 IPv4",
        27 => b"EUI-64",
        32 => b"InfiniBand",
        256 => b"SLIP",
        257 => b"CSLIP",
        258 => b"SLIP6",
        259 => b"CSLIP6",
        270 => b"ROSE",
        271 => b"X.25",
        272 => b"HW X.25",
        512 => b"PPP",
        513 => b"Cisco HDLC",
        516 => b"LAPB",
        517 => b"DDCMP",
        518 => b"Raw HDLC",
        768 => b"IPIP Tunnel",
        769 => b"IP6IP6 Tunnel",
        770 => b"FRAD",
        772 => b"Loopback",
        773 => b"Localtalk",
        774 => b"FDDI",
        776 => b"SIT Tunnel",
        777 => b"IP over DDP",
        778 => b"GRE over IP",
        779 => b"PISM Register",
        780 => b"HIPPI",
        783 => b"IrDA",
        801 => b"IEEE 802.11",
        802 => b"IEEE 802.11 Prism2",
        803 => b"IEEE 802.11 Radiotap",
        804 => b"IEEE 802.15.4",
        820 => b"PhoNet",
        821 => b"PhoNet pipe",
        0xffff => b"void",
        0xfffe => b"none",
        _ => b"",
    }
}

/// Appends to a fixed buffer, dropping what does not fit.
struct TextWriter<'b> {
    buf: &'b mut [u8; IF_DESC_LEN],
    len: usize,
}

impl TextWriter<'_> {
    fn put(&mut self, s: &[u8]) {
        for &b in s {
            // The NUL of a C string ends it.
            if b == 0 {
                return;
            }
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = b;
                self.len += 1;
            }
        }
    }

    fn number(&mut self, n: u32) {
        // Written without indexing or a division that could panic: this
        // runs in the kernel.
        let mut div = 1_000_000_000u32;
        let mut started = false;
        while div > 0 {
            let digit = (n.checked_div(div).unwrap_or(0) % 10) as u8;
            if digit != 0 || started || div == 1 {
                started = true;
                self.put(&[b'0' + digit]);
            }
            div /= 10;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::template::Version;

    fn desc(f: InterfaceFacts<'_>) -> std::string::String {
        let mut out = [0u8; IF_DESC_LEN];
        let n = interface_description(&f, &mut out);
        std::string::String::from_utf8(out[..n].to_vec()).unwrap()
    }

    #[test]
    fn description_prefers_alias_then_driver_then_type() {
        let mut f = InterfaceFacts {
            alias: b"uplink to AS64500",
            driver: b"e1000e",
            hw_type: 1,
            ..Default::default()
        };
        assert_eq!(desc(f), "uplink to AS64500");
        f.alias = b"";
        assert_eq!(desc(f), "e1000e");
        f.running = true;
        f.speed_mbps = Some(1000);
        f.port = Some(0);
        assert_eq!(desc(f), "e1000e,1GbE,tp");
        f.speed_mbps = Some(100);
        f.port = Some(0x04);
        assert_eq!(desc(f), "e1000e,100MbE,fb");
        f.speed_mbps = Some(2500);
        f.port = Some(0xff);
        assert_eq!(desc(f), "e1000e,2500MbE");
        f.driver = b"";
        assert_eq!(desc(f), "Ethernet");
        f.hw_type = 772;
        assert_eq!(desc(f), "Loopback");
    }

    /// The hardware-type names are the original's, and a type it does not
    /// name has an empty description, as there.
    #[test]
    fn hardware_types_are_named_as_the_original() {
        let named = |hw_type| {
            desc(InterfaceFacts {
                hw_type,
                ..Default::default()
            })
        };
        assert_eq!(named(776), "SIT Tunnel");
        assert_eq!(named(768), "IPIP Tunnel");
        assert_eq!(named(778), "GRE over IP");
        assert_eq!(named(772), "Loopback");
        assert_eq!(named(0xfffe), "none");
        assert_eq!(named(823), "");
    }

    #[test]
    fn long_description_is_cut_to_the_element() {
        let f = InterfaceFacts {
            alias: &[b'x'; 40],
            ..Default::default()
        };
        assert_eq!(desc(f).len(), IF_DESC_LEN);
    }

    #[test]
    fn schedule_matches_the_original_intervals() {
        let mut s = OptionsSchedule::new(1000);
        assert_eq!(
            s.take_due(1000),
            Due {
                system_init: true,
                stats: false,
                interfaces: true,
                sampler: true,
            }
        );
        assert_eq!(s.take_due(1059), Due::default());
        assert_eq!(
            s.take_due(1060),
            Due {
                stats: true,
                ..Default::default()
            }
        );
        assert_eq!(s.take_due(1119), Due::default());
        assert_eq!(
            s.take_due(1300),
            Due {
                system_init: true,
                stats: true,
                interfaces: true,
                sampler: true,
            }
        );
        s.templates_reset(1310);
        assert_eq!(
            s.take_due(1310),
            Due {
                system_init: true,
                stats: true,
                interfaces: false,
                sampler: true,
            }
        );
        s.sampler_changed(1320);
        assert_eq!(
            s.take_due(1320),
            Due {
                sampler: true,
                ..Default::default()
            }
        );
    }

    #[test]
    fn fields_and_bytes_agree() {
        let name = b"ipt_NETFLOW 2.6-rs1 ABC";
        let r = OptionsRecord::SystemInit {
            domain: 7,
            boot_ms: 1_700_000_000_000,
            name,
            span: Span {
                first_ms: 1,
                last_ms: 2,
            },
        };
        let mut f = FieldList::default();
        r.fields(&mut f);
        assert_eq!(
            f.as_slice(),
            &[(149, 4), (160, 8), (300, 24), (152, 8), (153, 8)]
        );
        let mut b = std::vec![0xaau8; f.record_len()];
        r.write(&mut b);
        assert_eq!(&b[..4], &7u32.to_be_bytes());
        assert_eq!(&b[12..35], name);
        assert_eq!(b[35], 0, "NUL-terminated");
        assert_eq!(&b[36..44], &1u64.to_be_bytes());
    }

    #[test]
    fn keys_are_distinct_and_marked_as_options() {
        let s = Span::default();
        let recs = [
            OptionsRecord::SystemInit {
                domain: 0,
                boot_ms: 0,
                name: b"x",
                span: s,
            },
            OptionsRecord::MeteringStats {
                domain: 0,
                messages: 0,
                flows: 0,
                octets: 0,
                observed_flows: 0,
            },
            OptionsRecord::MeteringReliability {
                domain: 0,
                packets: 0,
                octets: 0,
                span: s,
            },
            OptionsRecord::ExportingReliability {
                process: 0,
                flows: 0,
                packets: 0,
                octets: 0,
                span: s,
            },
            OptionsRecord::Interface {
                domain: 0,
                ifindex: 1,
                name: b"lo",
                description: b"Loopback",
            },
            OptionsRecord::Sampler {
                domain: 0,
                id: 1,
                mode: 1,
                interval: 2,
            },
            OptionsRecord::SelectorCount {
                domain: 0,
                id: 1,
                interval: 2,
            },
            OptionsRecord::SelectorRandom {
                domain: 0,
                id: 2,
                interval: 2,
            },
            OptionsRecord::SelectorStats {
                id: 1,
                flows_observed: Some(0),
                flows_selected: 0,
                pkts_observed: 0,
                pkts_selected: 0,
                span: s,
            },
            OptionsRecord::SelectorStats {
                id: 3,
                flows_observed: None,
                flows_selected: 0,
                pkts_observed: 0,
                pkts_selected: 0,
                span: s,
            },
        ];
        for (i, a) in recs.iter().enumerate() {
            assert!(a.key().0 & 1 << 31 != 0);
            for b in &recs[i + 1..] {
                assert_ne!(a.key(), b.key());
            }
        }
    }

    /// What an element must decode to: a number, or text zero-padded to
    /// the element's length.
    enum Want {
        Num(u64),
        Text(&'static str, usize),
    }
    use Want::{Num, Text};

    const FIRST: u64 = 1_700_000_000_000;
    const LAST: u64 = 1_700_000_060_000;
    const SPAN: Span = Span {
        first_ms: FIRST,
        last_ms: LAST,
    };

    /// Every options record, in a PDU of each version, decoded by the
    /// `netflow_parser` crate: each element read back is the value the
    /// record was made with, written out here as a literal.
    #[test]
    fn records_decode_with_netflow_parser() {
        let recs = [
            OptionsRecord::SystemInit {
                domain: 9,
                boot_ms: 1_699_999_000_000,
                name: b"ipt_NETFLOW 2.6-rs1 X",
                span: SPAN,
            },
            OptionsRecord::MeteringStats {
                domain: 9,
                messages: 11,
                flows: 222,
                octets: 3333,
                observed_flows: 44,
            },
            OptionsRecord::MeteringReliability {
                domain: 9,
                packets: 5,
                octets: 600,
                span: SPAN,
            },
            OptionsRecord::ExportingReliability {
                process: 9,
                flows: 7,
                packets: 8,
                octets: 900,
                span: SPAN,
            },
            OptionsRecord::Interface {
                domain: 9,
                ifindex: 3,
                name: b"eth0",
                description: b"virtio_net,10GbE,tp",
            },
        ];
        // Per record above, its elements in order, scope first.
        let want: [&[(u16, Want)]; 5] = [
            &[
                (149, Num(9)),
                (160, Num(1_699_999_000_000)),
                // The name and its terminating NUL.
                (300, Text("ipt_NETFLOW 2.6-rs1 X", 22)),
                (152, Num(FIRST)),
                (153, Num(LAST)),
            ],
            &[
                (149, Num(9)),
                (41, Num(11)),
                (42, Num(222)),
                (40, Num(3333)),
                (163, Num(44)),
            ],
            &[
                (149, Num(9)),
                (164, Num(5)),
                (165, Num(600)),
                (152, Num(FIRST)),
                (153, Num(LAST)),
            ],
            &[
                (144, Num(9)),
                (166, Num(7)),
                (167, Num(8)),
                (168, Num(900)),
                (152, Num(FIRST)),
                (153, Num(LAST)),
            ],
            &[
                (149, Num(9)),
                (10, Num(3)),
                (82, Text("eth0", 16)),
                (83, Text("virtio_net,10GbE,tp", 32)),
            ],
        ];
        for version in [Version::Ipfix, Version::V9] {
            check_decoded(version, &recs, &want);
        }
    }

    /// The sampler's records: NetFlow v9's flow sampler, IPFIX's selectors
    /// and their statistics (with and without the observed flows).
    #[test]
    fn sampler_records_decode_with_netflow_parser() {
        check_decoded(
            Version::V9,
            &[OptionsRecord::Sampler {
                domain: 9,
                id: 3,
                mode: 2,
                interval: 4,
            }],
            &[&[(149, Num(9)), (48, Num(3)), (49, Num(2)), (50, Num(4))]],
        );
        let recs = [
            OptionsRecord::SelectorCount {
                domain: 9,
                id: 1,
                interval: 10,
            },
            OptionsRecord::SelectorRandom {
                domain: 9,
                id: 2,
                interval: 300,
            },
            OptionsRecord::SelectorStats {
                id: 1,
                flows_observed: Some(1000),
                flows_selected: 100,
                pkts_observed: 5000,
                pkts_selected: 480,
                span: SPAN,
            },
            OptionsRecord::SelectorStats {
                id: 3,
                flows_observed: None,
                flows_selected: 25,
                pkts_observed: 4000,
                pkts_selected: 1010,
                span: SPAN,
            },
        ];
        let want: [&[(u16, Want)]; 4] = [
            &[
                (149, Num(9)),
                (302, Num(1)),
                (390, Num(1)),
                (396, Num(1)),
                (397, Num(10)),
            ],
            &[
                (149, Num(9)),
                (302, Num(2)),
                (390, Num(3)),
                (309, Num(1)),
                (310, Num(300)),
            ],
            &[
                (302, Num(1)),
                (394, Num(1000)),
                (395, Num(100)),
                (318, Num(5000)),
                (319, Num(480)),
                (152, Num(FIRST)),
                (153, Num(LAST)),
            ],
            &[
                (302, Num(3)),
                (395, Num(25)),
                (318, Num(4000)),
                (319, Num(1010)),
                (152, Num(FIRST)),
                (153, Num(LAST)),
            ],
        ];
        check_decoded(Version::Ipfix, &recs, &want);
    }

    /// Puts `recs` in one PDU of `version`, decodes it with the
    /// `netflow_parser` crate and compares each record's elements with
    /// `want` (one list per record, scope first).
    fn check_decoded(version: Version, recs: &[OptionsRecord<'_>], want: &[&[(u16, Want)]]) {
        use crate::export::pdu::{Pdu, PduHeader, TemplateCache};
        use netflow_parser::variable_versions::field_value::FieldValue;
        use netflow_parser::variable_versions::ipfix::lookup::IPFixField;
        use netflow_parser::variable_versions::ipfix::FlowSetBody as IpfixBody;
        use netflow_parser::variable_versions::v9::{FlowSetBody as V9Body, ScopeDataField};
        use netflow_parser::{NetflowPacket, NetflowParser};
        use std::vec::Vec;

        let be = |v: &FieldValue| {
            let mut b = Vec::new();
            v.write_be_bytes(&mut b).unwrap();
            b
        };
        let mut cache = TemplateCache::default();
        let mut pdu = Pdu::new(version);
        for r in recs {
            let mut fields = FieldList::default();
            r.fields(&mut fields);
            let t = cache
                .get_options(r.key(), OptionsRecord::SCOPE_FIELDS)
                .unwrap();
            pdu.add_record(t, fields.as_slice(), 0, 0, 20, 30, |b| r.write(b))
                .unwrap();
        }
        let p = pdu
            .finish(&PduHeader {
                domain: 9,
                ..Default::default()
            })
            .to_vec();
        let parsed = NetflowParser::default().parse_bytes(&p);
        assert!(parsed.error.is_none(), "{version:?}: {:?}", parsed.error);
        // Each record as (element id, bytes) pairs. IPFIX elements come
        // named, so the id is checked here by naming the wanted one.
        let mut got: Vec<Vec<(u16, Vec<u8>)>> = Vec::new();
        match &parsed.packets[0] {
            NetflowPacket::IPFix(x) => {
                for set in &x.flowsets {
                    if let IpfixBody::OptionsData(d) = &set.body {
                        let w = want[got.len()];
                        assert_eq!(d.fields[0].len(), w.len(), "{version:?}");
                        got.push(
                            d.fields[0]
                                .iter()
                                .zip(w)
                                .map(|((k, v), (id, _))| {
                                    assert_eq!(
                                        *k,
                                        IPFixField::new(*id, None),
                                        "record {}",
                                        got.len()
                                    );
                                    (*id, be(v))
                                })
                                .collect(),
                        );
                    }
                }
            }
            NetflowPacket::V9(x) => {
                for set in &x.flowsets {
                    if let V9Body::OptionsData(d) = &set.body {
                        let r = &d.fields[0];
                        // v9 has scope types, not elements: both
                        // observationDomainId and exportingProcessId are
                        // the System scope.
                        let [ScopeDataField::System(scope)] = &r.scope_fields[..] else {
                            panic!("unexpected scope {:?}", r.scope_fields)
                        };
                        let mut vals = std::vec![(want[got.len()][0].0, scope.clone())];
                        vals.extend(r.options_fields.iter().map(|(k, v)| (u16::from(*k), be(v))));
                        got.push(vals);
                    }
                }
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(got.len(), recs.len(), "{version:?}");
        for (n, (g, w)) in got.iter().zip(want).enumerate() {
            let got_ids: Vec<u16> = g.iter().map(|(id, _)| *id).collect();
            let want_ids: Vec<u16> = w.iter().map(|(id, _)| *id).collect();
            assert_eq!(got_ids, want_ids, "{version:?} record {n}");
            for ((id, bytes), (_, want)) in g.iter().zip(w.iter()) {
                let at = std::format!("{version:?} record {n} element {id}");
                match want {
                    Num(v) => {
                        let got = bytes.iter().fold(0u64, |a, &b| a << 8 | u64::from(b));
                        assert_eq!(got, *v, "{at}");
                    }
                    // Compared as escaped text, which shows the padding.
                    Text(t, len) => {
                        let mut padded = t.as_bytes().to_vec();
                        padded.resize(*len, 0);
                        let text = |b: &[u8]| std::format!("{}", b.escape_ascii());
                        assert_eq!(text(bytes), text(&padded), "{at}");
                    }
                }
            }
        }
    }
}
