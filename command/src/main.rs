// SPDX-License-Identifier: GPL-2.0-only
//! `ipt_netflow`: turns this machine into a NetFlow source with the
//! ipt_NETFLOW module (see ipt_netflow(8)). Exit status: 0 success, 1
//! failure (for `status`: not running), 2 bad usage.

use ipt_netflow_command::modes;
use ipt_netflow_command::options::{Help, Mode, Options, MODES_HELP, USAGE};
use ipt_netflow_command::report::VERSION;
use ipt_netflow_command::system::{self, System, SYS_MODULE};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let o = match Options::parse(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("ipt_netflow: {e}");
            return ExitCode::from(2);
        }
    };
    match o.help {
        Some(Help::Short) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(Help::Long) => {
            print!("{USAGE}{MODES_HELP}");
            return ExitCode::SUCCESS;
        }
        None => {}
    }
    if o.version {
        let module = system::read(&format!("{SYS_MODULE}/version"))
            .map_or_else(|| "not loaded".to_string(), |v| v.trim().to_string());
        println!("ipt_netflow {VERSION} (module ipt_NETFLOW: {module})");
        return ExitCode::SUCCESS;
    }
    if let Err(e) = o.fits_mode() {
        eprintln!("ipt_netflow: {e}");
        return ExitCode::from(2);
    }
    let mut sys = match System::new(o.verbose, o.log.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ipt_netflow: {}: {e}", o.log.as_deref().unwrap_or(""));
            return ExitCode::FAILURE;
        }
    };
    let outcome = match o.mode {
        Mode::Show => modes::show(&mut sys, &o),
        Mode::Status => modes::status(&mut sys, o.verbose),
        Mode::Install => modes::install(&mut sys, &o),
        Mode::Enable => modes::enable(&mut sys, &o),
        Mode::Disable => modes::disable(&mut sys),
        Mode::Remove => modes::remove(&mut sys),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if !e.is_empty() {
                sys.say(&format!("failed: {e}"));
                eprintln!("ipt_netflow: {e}");
            }
            ExitCode::FAILURE
        }
    }
}
