// SPDX-License-Identifier: GPL-2.0-only
//! `net.netflow.*` sysctls (`/proc/sys/net/netflow/`).
//!
//! Every write is parsed and range-checked into a scratch value first; only
//! a valid value reaches the running configuration, so a write that does
//! not parse or is out of range fails with `-EINVAL` and changes nothing.
//! The table has no sentinel entry: an empty terminator makes registration
//! fail on 6.12 and later kernels.

use super::rule_sets_kernel;
use crate::export::destination::parse_each;
use crate::meter::meter_kernel::{with_meter, Meter, MIN_HASHSIZE};
use crate::meter::nat_kernel::{with_nat, NatCapture};
use crate::meter::packet_rules::PacketRules;
use crate::params::{self, Param, Protocol};
use crate::sys::sysctl::{proc_handler, Call, Entry, Handler, Number, Table};
use crate::sys::time::hz;
use crate::sys::udp::min_sndbuf;
use crate::work::scanner_kernel::{with_work, Scanner};
use core::ffi::{c_int, c_uint, c_void, CStr};
use core::fmt::Write;
use core::marker::PhantomData;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicU32, Ordering};
use kernel::alloc::KVec;
use kernel::error::{code::*, Result};
use kernel::prelude::GFP_KERNEL;

static ZERO: c_int = 0;
static ONE: c_int = 1;
static INT_MAX: c_int = c_int::MAX;
static HASH_MIN: c_int = MIN_HASHSIZE as c_int;
static UINT_MAX: u32 = u32::MAX;

/// The parameter an entry was registered with.
///
/// # Safety
///
/// The entry's data must be [`Param::as_ptr`] of a `T` parameter.
unsafe fn param_of<T: Copy>(call: &Call<'_>) -> Param<T> {
    // SAFETY: a parameter variable of type `T` (caller's guarantee).
    unsafe { Param::from_ptr(call.data().cast::<T>()) }
}

/// Plain number parameters (`int` or `unsigned int`): reads show the
/// value, a valid write replaces it.
struct NumberParam<T>(PhantomData<T>);

impl<T: Number> Handler for NumberParam<T> {
    fn handle(call: &mut Call<'_>) -> Result {
        // SAFETY: `entries` gives NumberParam<T> (also through TimeoutParam)
        // only to entries whose data is a parameter of type `T`.
        let param = unsafe { param_of::<T>(call) };
        let mut value = param.get();
        T::exchange(call, &mut value)?;
        if call.is_write() {
            param.set(value);
        }
        Ok(())
    }
}

/// `active_timeout` and `inactive_timeout`: as [`NumberParam`], and a
/// valid write is published to the packet path before the write returns.
struct TimeoutParam;

impl Handler for TimeoutParam {
    fn handle(call: &mut Call<'_>) -> Result {
        NumberParam::<c_int>::handle(call)?;
        if !call.is_write() {
            return Ok(());
        }
        with_work(|m, scanner| scanner.paused(|| m.refresh_timeouts())).unwrap_or(Ok(()))
    }
}

/// `hashsize`: shows the buckets over all CPUs; a write resizes every
/// table without losing a flow.
struct Hashsize;

impl Handler for Hashsize {
    fn handle(call: &mut Call<'_>) -> Result {
        let current = with_meter(|m| m.hashsize.load(Ordering::Relaxed)).unwrap_or(0);
        let mut value = c_int::try_from(current).unwrap_or(c_int::MAX);
        let before = value;
        call.int(&mut value)?;
        if !call.is_write() || value == before {
            return Ok(());
        }
        with_work(|m, scanner| scanner.paused(|| m.resize(value as u32))).ok_or(ENODEV)??;
        let after = with_meter(|m| m.hashsize.load(Ordering::Relaxed)).unwrap_or(0);
        crate::log_info!("ipt_NETFLOW: allocating new hash table {} -> {} buckets\n", before, after);
        Ok(())
    }
}

/// `flush`: reads 0; writing 1 exports every flow now, 2 also zeroes the
/// statistics.
struct Flush;

impl Handler for Flush {
    fn handle(call: &mut Call<'_>) -> Result {
        let mut value: c_int = 0;
        call.int(&mut value)?;
        if !call.is_write() || value <= 0 {
            return Ok(());
        }
        with_work(|m, scanner| {
            scanner.flush(m);
            if value > 1 {
                m.reset_stats();
                crate::log_info!("ipt_NETFLOW: forced flush (reset stat counters).\n");
            } else {
                crate::log_info!("ipt_NETFLOW: forced flush.\n");
            }
        });
        Ok(())
    }
}

/// `sndbuf`: reads show the first destination's socket buffer size; a
/// write sets every export socket's (at least the kernel's minimum) and is
/// kept for sockets made later. Both fail with ENOENT while there is no
/// destination, as in the original.
struct Sndbuf;

impl Handler for Sndbuf {
    fn handle(call: &mut Call<'_>) -> Result {
        let current = with_work(|_, scanner| scanner.with_exporter(|e| e.first_sndbuf())).flatten();
        let Some(size) = current else {
            return Err(ENOENT);
        };
        let mut value = if size > 0 { c_int::try_from(size).unwrap_or(c_int::MAX) } else { params::sndbuf() };
        call.int(&mut value)?;
        if !call.is_write() {
            return Ok(());
        }
        let value = value.max(min_sndbuf());
        let applied = with_work(|_, scanner| {
            scanner.with_exporter(|e| {
                let any = e.set_sndbuf(value);
                if any {
                    params::sndbuf_param().set(value);
                }
                any
            })
        });
        match applied {
            Some(true) => Ok(()),
            _ => Err(ENOENT),
        }
    }
}

/// A rule-set setting (`sampler`, `aggregation`, `snmp-rules`).
trait RuleSetting {
    /// The text buffer: room for the longest canonical form and its NUL,
    /// and more than the longest text the parser accepts, so that a longer
    /// write reaches the parser (which refuses it) rather than being cut
    /// to something that parses.
    const SIZE: usize;
    /// Writes the rules in force, in their canonical form.
    fn show(rules: &PacketRules, out: &mut TextBuf<'_>) -> core::fmt::Result;
    /// Parses `text` and puts it in force.
    fn apply(meter: &Meter, scanner: &Scanner, text: &str) -> Result;
}

/// Formats into a byte buffer, keeping its last byte for the NUL.
struct TextBuf<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl core::fmt::Write for TextBuf<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let room = self.buf.len().saturating_sub(1).saturating_sub(self.len);
        let n = s.len().min(room);
        if let Some(dst) = self.buf.get_mut(self.len..self.len + n) {
            dst.copy_from_slice(&s.as_bytes()[..n]);
            self.len += n;
        }
        Ok(())
    }
}

/// A rule-set sysctl: reads show the rules in force in canonical form; a
/// write that parses puts it in force, one that does not fails with EINVAL
/// and changes nothing. The text lives on the heap (kilobytes).
struct RuleText<S>(PhantomData<S>);

impl<S: RuleSetting> Handler for RuleText<S> {
    fn handle(call: &mut Call<'_>) -> Result {
        let mut buf = KVec::from_elem(0u8, S::SIZE, GFP_KERNEL)?;
        if !call.is_write() {
            let _ = with_meter(|m| S::show(&m.rules(), &mut TextBuf { buf: &mut buf, len: 0 }));
        }
        call.string(&mut buf)?;
        if !call.is_write() {
            return Ok(());
        }
        let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        let text = core::str::from_utf8(buf.get(..len).unwrap_or(&[])).map_err(|_| EINVAL)?;
        with_work(|m, scanner| S::apply(m, scanner, text)).ok_or(ENODEV)?
    }
}

/// `sampler`: exports every flow under the old sampler, then switches.
struct SamplerSetting;

impl RuleSetting for SamplerSetting {
    const SIZE: usize = 128;
    fn show(rules: &PacketRules, out: &mut TextBuf<'_>) -> core::fmt::Result {
        match rules.sampler {
            Some(s) => write!(out, "{s}"),
            None => Ok(()),
        }
    }
    fn apply(meter: &Meter, scanner: &Scanner, text: &str) -> Result {
        let sampler = rule_sets_kernel::parse_sampler(text)?;
        scanner.update_rules(meter, |r| r.sampler = sampler)
    }
}

/// `aggregation`.
struct AggregationSetting;

impl RuleSetting for AggregationSetting {
    const SIZE: usize = 2048;
    fn show(rules: &PacketRules, out: &mut TextBuf<'_>) -> core::fmt::Result {
        write!(out, "{}", rules.aggregation)
    }
    fn apply(meter: &Meter, scanner: &Scanner, text: &str) -> Result {
        let aggregation = rule_sets_kernel::parse_aggregation(text)?;
        scanner.update_rules(meter, |r| r.aggregation = aggregation)
    }
}

/// `snmp-rules`.
struct SnmpRulesSetting;

impl RuleSetting for SnmpRulesSetting {
    const SIZE: usize = 1024;
    fn show(rules: &PacketRules, out: &mut TextBuf<'_>) -> core::fmt::Result {
        write!(out, "{}", rules.snmp)
    }
    fn apply(meter: &Meter, scanner: &Scanner, text: &str) -> Result {
        let snmp = rule_sets_kernel::parse_snmp_rules(text)?;
        scanner.update_rules(meter, |r| r.snmp = snmp)
    }
}

const NENTRIES: usize = 16 + if cfg!(feature = "promisc") { 1 } else { 0 };

/// The `destination` sysctl's buffer, with its NUL.
const DEST_SIZE: usize = crate::export::destination::TEXT_MAX + 1;

/// `destination`: reads show the destinations in force; a write that parses
/// replaces them (the packet being built goes to the old ones first), one
/// that does not fails with EINVAL and changes nothing.
struct Destination;

impl Handler for Destination {
    fn handle(call: &mut Call<'_>) -> Result {
        let mut text = [0u8; DEST_SIZE];
        if !call.is_write() {
            let _ = with_work(|_, scanner| {
                scanner.with_exporter(|e| {
                    let cur = e.destination_text();
                    let n = cur.len().min(DEST_SIZE - 1);
                    text[..n].copy_from_slice(&cur.as_bytes()[..n]);
                })
            });
        }
        call.string(&mut text)?;
        if !call.is_write() {
            return Ok(());
        }
        let len = text.iter().position(|&b| b == 0).unwrap_or(DEST_SIZE);
        let s = core::str::from_utf8(&text[..len]).map_err(|_| EINVAL)?;
        let text = s.trim_end();
        if let Err(e) = parse_each(text, |_| {}) {
            crate::log_err!("ipt_NETFLOW: can't parse destination: {}: {}\n", text, e);
            return Err(EINVAL);
        }
        with_work(|_, scanner| scanner.with_exporter(|e| e.replace_destinations(text))).ok_or(ENODEV)?
    }
}

/// `protocol`: 5, 9 or 10. Any valid write flushes every flow, then switches
/// (templates are sent anew); anything else fails with EINVAL.
struct ProtocolHandler;

impl Handler for ProtocolHandler {
    fn handle(call: &mut Call<'_>) -> Result {
        let param = params::protocol_param();
        let mut value = param.get();
        call.int(&mut value)?;
        if !call.is_write() {
            return Ok(());
        }
        let protocol = Protocol::from_number(value).ok_or(EINVAL)?;
        with_work(|m, scanner| {
            crate::log_info!("ipt_NETFLOW: forced flush (protocol version change)\n");
            scanner.switch_protocol(m, protocol);
            param.set(value);
            params::log_protocol_enabled(protocol);
        });
        Ok(())
    }
}

/// `natevents`: 1 starts NAT event logging in every network namespace, 0
/// stops it (events already queued are still exported). A kernel that
/// cannot deliver conntrack events refuses 1 (EOPNOTSUPP, logged).
struct Natevents;

impl Handler for Natevents {
    fn handle(call: &mut Call<'_>) -> Result {
        let mut value = c_int::from(with_nat(NatCapture::enabled).unwrap_or(false));
        call.int(&mut value)?;
        if !call.is_write() {
            return Ok(());
        }
        with_nat(|c| c.set_enabled(value != 0)).ok_or(ENODEV)?
    }
}

/// `promisc` (the build with `--enable-promisc`): any non-zero value
/// switches promisc mode on, 0 off.
#[cfg(feature = "promisc")]
struct PromiscSwitch;

#[cfg(feature = "promisc")]
impl Handler for PromiscSwitch {
    fn handle(call: &mut Call<'_>) -> Result {
        use crate::meter::promisc_kernel::with_promisc;
        let mut value = c_int::from(with_promisc(|p| p.enabled()).unwrap_or(false));
        call.int(&mut value)?;
        if !call.is_write() {
            return Ok(());
        }
        with_promisc(|p| p.set_enabled(value != 0)).ok_or(ENODEV)?
    }
}

fn entries() -> [Entry; NENTRIES] {
    let int = |name, param: Option<Param<c_int>>, min: &'static c_int| Entry {
        name,
        data: param.map_or(null_mut(), |p| p.as_ptr().cast::<c_void>()),
        maxlen: core::mem::size_of::<c_int>(),
        handler: proc_handler::<NumberParam<c_int>>(),
        min: core::ptr::from_ref(min).cast(),
        max: core::ptr::from_ref(&INT_MAX).cast(),
    };
    let uint = |name, param: Param<c_uint>| Entry {
        name,
        data: param.as_ptr().cast(),
        maxlen: core::mem::size_of::<c_uint>(),
        handler: proc_handler::<NumberParam<c_uint>>(),
        min: null_mut(),
        max: core::ptr::from_ref(&UINT_MAX).cast(),
    };
    [
        Entry { handler: proc_handler::<TimeoutParam>(), ..int(c"active_timeout", Some(params::active_timeout_param()), &ZERO) },
        Entry {
            handler: proc_handler::<TimeoutParam>(),
            ..int(c"inactive_timeout", Some(params::inactive_timeout_param()), &ZERO)
        },
        int(c"debug", Some(params::debug_param()), &ZERO),
        // maxflows <= 0 means unlimited, as in the original.
        Entry { min: null_mut(), ..int(c"maxflows", Some(params::maxflows_param()), &ZERO) },
        Entry { handler: proc_handler::<Hashsize>(), ..int(c"hashsize", None, &HASH_MIN) },
        Entry { handler: proc_handler::<Flush>(), ..int(c"flush", None, &ZERO) },
        Entry {
            min: core::ptr::from_ref(&ONE).cast(),
            max: SCAN_MAX.as_ptr().cast_const().cast(),
            ..uint(c"scan-min", params::scan_min_param())
        },
        uint(c"refresh-rate", params::refresh_rate_param()),
        uint(c"timeout-rate", params::timeout_rate_param()),
        Entry { handler: proc_handler::<ProtocolHandler>(), ..int(c"protocol", None, &ZERO) },
        Entry { handler: proc_handler::<Sndbuf>(), ..int(c"sndbuf", None, &ZERO) },
        Entry {
            handler: proc_handler::<Destination>(),
            maxlen: DEST_SIZE,
            min: null_mut(),
            max: null_mut(),
            ..int(c"destination", None, &ZERO)
        },
        rule_entry::<SamplerSetting>(c"sampler"),
        rule_entry::<AggregationSetting>(c"aggregation"),
        rule_entry::<SnmpRulesSetting>(c"snmp-rules"),
        Entry {
            handler: proc_handler::<Natevents>(),
            max: core::ptr::from_ref(&ONE).cast(),
            ..int(c"natevents", None, &ZERO)
        },
        #[cfg(feature = "promisc")]
        Entry { handler: proc_handler::<PromiscSwitch>(), min: null_mut(), max: null_mut(), ..int(c"promisc", None, &ZERO) },
    ]
}

/// The entry of a rule-set sysctl (its handler keeps the text itself).
fn rule_entry<S: RuleSetting>(name: &'static CStr) -> Entry {
    Entry { name, data: null_mut(), maxlen: S::SIZE, handler: proc_handler::<RuleText<S>>(), min: null_mut(), max: null_mut() }
}

/// `scan-min`'s upper bound, HZ/10, set at registration.
static SCAN_MAX: AtomicU32 = AtomicU32::new(100);

/// The registered `net.netflow` table; unregistered when dropped.
pub struct Sysctls {
    _table: Table<NENTRIES>,
}

impl Sysctls {
    /// Registers `net.netflow`.
    pub fn register() -> Result<Self> {
        SCAN_MAX.store((hz() / 10).max(1), Ordering::Relaxed);
        // SAFETY: each entry's data is the parameter its handler expects (or
        // null for the handlers that keep their value elsewhere), and its
        // bounds are statics of the type the entry's parser reads.
        let table = unsafe { Table::register(c"net/netflow", entries()) }.inspect_err(|_| {
            crate::log_err!("netflow: can't register to sysctl\n");
        })?;
        Ok(Sysctls { _table: table })
    }
}
