//! The metering state the packet path reads, and the per-packet entry point.

use super::account::account_packet;
use super::packet::L3Family;
use super::stats::CpuStats;
use crate::sys::bindings;
use crate::sys::percpu::PerCpu;
use crate::sys::skb::SkbView;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::error::Result;
use kernel::prelude::*;

/// Everything the packet path needs.
pub struct Meter {
    /// Per-CPU counters.
    pub stats: PerCpu<CpuStats>,
}

/// The live [`Meter`], published for the packet path and /proc readers.
/// Non-null from before the targets and /proc files are registered until
/// after they are unregistered.
static METER: AtomicPtr<Meter> = AtomicPtr::new(null_mut());

/// Owns the published [`Meter`]; dropping it unpublishes and frees it.
pub struct MeterHandle {
    /// Kept only to own the allocation METER points to.
    _meter: KBox<Meter>,
}

impl MeterHandle {
    /// Allocates the meter and publishes it.
    pub fn new() -> Result<Self> {
        // SAFETY: `CpuStats` is a block of atomic counters, valid when zeroed.
        let stats = unsafe { PerCpu::<CpuStats>::new_zeroed()? };
        let mut meter = KBox::new(Meter { stats }, GFP_KERNEL)?;
        METER.store(&mut *meter, Ordering::Release);
        Ok(Self { _meter: meter })
    }
}

impl Drop for MeterHandle {
    fn drop(&mut self) {
        // The owner drops this only after unregistering everything that
        // reads METER, so no reader can still hold the old pointer.
        METER.store(null_mut(), Ordering::Release);
    }
}

/// Runs `f` with the live meter, if the module is (still) set up.
#[inline]
pub fn with_meter<R>(f: impl FnOnce(&Meter) -> R) -> Option<R> {
    let meter = METER.load(Ordering::Acquire);
    if meter.is_null() {
        return None;
    }
    // SAFETY: a non-null METER points to the `Meter` owned by the live
    // `MeterHandle`, which outlives every registered caller (see above).
    Some(f(unsafe { &*meter }))
}

/// Meters one packet handed to the NETFLOW target.
///
/// # Safety
///
/// `skb` must be the valid socket buffer a netfilter hook is processing.
#[inline]
pub unsafe fn meter_skb(skb: *const bindings::sk_buff, family: L3Family) {
    with_meter(|meter| {
        // SAFETY: the caller guarantees `skb` is valid for this call.
        let view = unsafe { SkbView::new(skb) };
        meter
            .stats
            .with_local(|stats| account_packet(stats, &view, family, view.skb_len()));
    });
}
