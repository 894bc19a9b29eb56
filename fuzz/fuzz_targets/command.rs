// SPDX-License-Identifier: GPL-2.0-only
//! Feeds bytes to the operator's command's parsers: its command line, the
//! files it reads back (modprobe.d, the service file, its manifest) and
//! the module's /proc text. None may panic; each file that parses must
//! come back the same through the text the command writes for it.
//!
//! Input: a mode byte, then the bytes (as UTF-8, lossily).
#![no_main]

use ipt_netflow_command::config_files::{self, Manifest, ServiceConf};
use ipt_netflow_command::options::Options;
use ipt_netflow_command::proc_status::{self, Status};
use ipt_netflow_command::{report, template};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    match mode % 6 {
        0 => {
            let args: Vec<String> = text.split('\0').map(String::from).collect();
            let _ = Options::parse(&args).map_err(|e| e.to_string());
        }
        1 => {
            if let Ok((values, _)) = config_files::parse_modprobe_conf(&text) {
                let again = config_files::parse_modprobe_conf(&config_files::modprobe_conf(&values));
                assert_eq!(again.map(|(v, _)| v), Ok(values));
            }
        }
        2 => {
            if let Ok(conf) = ServiceConf::parse(&text) {
                assert_eq!(ServiceConf::parse(&conf.render()), Ok(conf));
            }
        }
        3 => {
            if let Ok(m) = Manifest::parse(&text) {
                assert_eq!(Manifest::parse(&m.render()), Ok(m));
            }
        }
        4 => {
            // /proc/net/stat/ipt_netflow, then ipt_netflow_snmp after a NUL.
            let (stat, snmp) = text.split_once('\0').unwrap_or((&text, ""));
            let status = Status::parse(stat, snmp);
            let facts = report::Facts {
                status: Some(status),
                top: proc_status::top_flows(stat, 5),
                ..report::Facts::default()
            };
            let _ = report::text(&facts);
            let _ = report::json(&facts).to_string();
        }
        _ => {
            let (t, line) = text.split_once('\0').unwrap_or(("{} {}", &text));
            let _ = template::fields(t, line);
        }
    }
});
