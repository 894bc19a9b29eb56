// SPDX-License-Identifier: GPL-2.0-only
//! Kernel log lines, written as given.
//!
//! The original module's messages carry their own prefixes ("ipt_NETFLOW: ",
//! "ipt_NETFLOW ", "netflow: ") and operators grep the log for them, so
//! nothing is added in front (the kernel crate's `pr_*` macros would add
//! "ipt_NETFLOW: " to every line). Use [`log_info!`], [`log_warn!`] and [`log_err!`]
//! with the whole line, newline included.

use crate::sys::bindings;
use core::ffi::c_void;
use core::fmt;

/// A kernel log level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// KERN_ERR.
    Err,
    /// KERN_WARNING.
    Warning,
    /// KERN_INFO.
    Info,
}

/// Writes one log line at `level`.
pub fn print(level: Level, line: fmt::Arguments<'_>) {
    let args = core::ptr::from_ref(&line).cast::<c_void>();
    // SAFETY: `args` points to a `fmt::Arguments` that lives across the
    // call, which is what the helpers' "%pA" conversion reads; printk
    // formats it before returning and keeps no pointer to it.
    unsafe {
        match level {
            Level::Err => bindings::nf_log_err(args),
            Level::Warning => bindings::nf_log_warn(args),
            Level::Info => bindings::nf_log_info(args),
        }
    }
}

/// Writes one KERN_ERR line unless the module's error lines come faster
/// than the kernel's default rate limit (10 per 5 s, then a count of the
/// suppressed ones): for errors a flood of packets could repeat.
pub fn err_ratelimited(line: fmt::Arguments<'_>) {
    let args = core::ptr::from_ref(&line).cast::<c_void>();
    // SAFETY: as in `print`.
    unsafe { bindings::nf_log_err_ratelimited(args) }
}

/// Logs an info line as given (see the module documentation).
#[macro_export]
macro_rules! log_info {
    ($($arg:tt)+) => {
        $crate::sys::log::print($crate::sys::log::Level::Info, ::core::format_args!($($arg)+))
    };
}

/// Logs a warning line as given.
#[macro_export]
macro_rules! log_warn {
    ($($arg:tt)+) => {
        $crate::sys::log::print($crate::sys::log::Level::Warning, ::core::format_args!($($arg)+))
    };
}

/// Logs an error line as given.
#[macro_export]
macro_rules! log_err {
    ($($arg:tt)+) => {
        $crate::sys::log::print($crate::sys::log::Level::Err, ::core::format_args!($($arg)+))
    };
}
