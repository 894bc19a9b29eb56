//! `/proc/net/stat/ipt_netflow` and `/proc/net/stat/ipt_netflow_snmp`.

use super::params_kernel;
use super::proc_text::{self, CpuRow, SnmpTotals, TemplateInfo};
use crate::meter::meter_kernel::{with_meter, Meter};
use crate::meter::stats::StatsSum;
use crate::sys::bindings;
use crate::sys::percpu::present_cpus;
use crate::sys::seq::SeqWriter;
use core::ffi::{c_int, c_void, CStr};
use core::ptr::null_mut;
use kernel::error::{code::ENOMEM, Result};

/// Everyone may read the statistics.
const MODE: bindings::umode_t = 0o444;

type ShowFn = unsafe extern "C" fn(*mut bindings::seq_file, *mut c_void) -> c_int;

const FILES: [(&CStr, ShowFn); 2] = [(c"ipt_netflow", show_stat), (c"ipt_netflow_snmp", show_snmp)];

fn cpu_row(stats: &StatsSum) -> CpuRow {
    CpuRow { pps: 0, metric_x100: stats.metric_x100(), stats: *stats }
}

fn rows(meter: &Meter) -> impl ExactSizeIterator<Item = (u32, CpuRow)> + '_ {
    present_cpus().map(|cpu| (cpu, cpu_row(&meter.stats.get(cpu).snapshot())))
}

fn total(meter: &Meter) -> StatsSum {
    let mut sum = StatsSum::default();
    for (_, row) in rows(meter) {
        sum.accumulate(&row.stats);
    }
    sum
}

fn version() -> (&'static str, &'static str) {
    // SAFETY: both helpers return static NUL-terminated strings.
    let (v, s) = unsafe { (CStr::from_ptr(bindings::nf_version()), CStr::from_ptr(bindings::nf_srcversion())) };
    (v.to_str().unwrap_or("?"), s.to_str().unwrap_or("?"))
}

fn write_stat(w: &mut SeqWriter, meter: &Meter) -> core::fmt::Result {
    let (version, srcversion) = version();
    proc_text::write_version_line(w, version, srcversion, &[])?;
    let templates = TemplateInfo {
        refresh_rate: params_kernel::refresh_rate(),
        timeout_rate: params_kernel::timeout_rate(),
        ..Default::default()
    };
    proc_text::write_protocol_line(w, params_kernel::protocol() as u32, &templates)?;
    proc_text::write_cpu_table(w, &cpu_row(&total(meter)), rows(meter))
}

fn write_snmp(w: &mut SeqWriter, meter: &Meter) -> core::fmt::Result {
    let stats = total(meter);
    let totals = SnmpTotals { stats, ..Default::default() };
    proc_text::write_snmp(w, &totals, rows(meter), 0)
}

/// `show` of `ipt_netflow`.
///
/// # Safety
///
/// Called by the seq_file core with the seq_file being filled.
unsafe extern "C" fn show_stat(m: *mut bindings::seq_file, _v: *mut c_void) -> c_int {
    // SAFETY: called by the seq_file core with its live seq_file.
    let mut w = unsafe { SeqWriter::new(m) };
    // Writing into a seq_file cannot fail; overflow is retried by the core.
    let _ = with_meter(|meter| write_stat(&mut w, meter));
    0
}

/// `show` of `ipt_netflow_snmp`.
///
/// # Safety
///
/// Called by the seq_file core with the seq_file being filled.
unsafe extern "C" fn show_snmp(m: *mut bindings::seq_file, _v: *mut c_void) -> c_int {
    // SAFETY: called by the seq_file core with its live seq_file.
    let mut w = unsafe { SeqWriter::new(m) };
    let _ = with_meter(|meter| write_snmp(&mut w, meter));
    0
}

/// The registered /proc files; removed when dropped.
pub struct ProcFiles {
    created: usize,
}

impl ProcFiles {
    /// Creates the files under `/proc/net/stat` of the initial namespace.
    pub fn register() -> Result<Self> {
        let mut files = Self { created: 0 };
        for (name, show) in FILES {
            // SAFETY: `name` is static; the parent is init_net's stat dir,
            // which lives as long as the kernel; `show` stays valid until
            // `drop` removes the entry (remove_proc_entry waits for readers).
            let pde = unsafe {
                bindings::proc_create_single_data(
                    name.as_ptr(),
                    MODE,
                    bindings::nf_proc_net_stat(),
                    Some(show),
                    null_mut(),
                )
            };
            if pde.is_null() {
                return Err(ENOMEM); // `files` drops and removes what exists
            }
            files.created += 1;
        }
        Ok(files)
    }
}

impl Drop for ProcFiles {
    fn drop(&mut self) {
        for (name, _) in FILES.iter().take(self.created) {
            // SAFETY: created in `register`; removal waits for open readers.
            unsafe { bindings::remove_proc_entry(name.as_ptr(), bindings::nf_proc_net_stat()) };
        }
    }
}
