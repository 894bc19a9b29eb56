// SPDX-License-Identifier: GPL-2.0-only
//! `ipt_netflow`, the operator's command: the pure parts (options, files,
//! /proc parsing, reports) apart from what touches the system, so that the
//! former are tested without root.

pub mod config_files;
pub mod json;
pub mod modes;
pub mod options;
pub mod proc_status;
pub mod report;
pub mod rules;
pub mod settings;
pub mod system;
pub mod template;
