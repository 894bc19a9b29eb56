// SPDX-License-Identifier: GPL-2.0-only
//! What the command touches: files, the programs it runs (modprobe,
//! iptables, dkms, make), and the narration of what it did, to stdout with
//! `-v` and always to the `--log` file.

use std::fs;
use std::io::{self, Write};
use std::path::Path;
use std::process::Command;

/// Where the module's settings live for modprobe.
pub const MODPROBE_CONF: &str = "/etc/modprobe.d/ipt_netflow.conf";
/// What `install` did, for `remove`.
pub const MANIFEST: &str = "/var/lib/ipt_netflow/installed";
/// The service's unit, as `make install` puts it.
pub const UNIT: &str = "/lib/systemd/system/ipt_netflow.service";
/// The module's status file.
pub const PROC_STAT: &str = "/proc/net/stat/ipt_netflow";
/// Its machine-readable totals.
pub const PROC_SNMP: &str = "/proc/net/stat/ipt_netflow_snmp";
/// Its flow dump.
pub const PROC_FLOWS: &str = "/proc/net/stat/ipt_netflow_flows";
/// Its settings.
pub const SYSCTL_DIR: &str = "/proc/sys/net/netflow";
/// Present while the module is loaded.
pub const SYS_MODULE: &str = "/sys/module/ipt_NETFLOW";
/// The module's name for modprobe and modinfo.
pub const MODULE: &str = "ipt_NETFLOW";

/// The service's configuration file: Debian's `/etc/default`, or
/// `/etc/sysconfig` where that is the convention (and `/etc/default` is
/// absent).
pub fn service_conf_path() -> &'static str {
    if !Path::new("/etc/default").is_dir() && Path::new("/etc/sysconfig").is_dir() {
        "/etc/sysconfig/ipt_netflow"
    } else {
        "/etc/default/ipt_netflow"
    }
}

/// A program's result.
pub struct Ran {
    /// Whether it exited 0.
    pub ok: bool,
    /// Its exit code (-1 when killed by a signal).
    pub code: i32,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error, trimmed.
    pub stderr: String,
}

/// The command's side of the system, and its narration.
pub struct System {
    verbose: bool,
    log: Option<fs::File>,
}

impl System {
    /// `verbose` narrates to stdout; `log` (truncated) gets it too.
    pub fn new(verbose: bool, log: Option<&str>) -> io::Result<System> {
        let log = match log {
            Some(p) => {
                if let Some(dir) = Path::new(p).parent() {
                    fs::create_dir_all(dir)?;
                }
                Some(fs::File::create(p)?)
            }
            None => None,
        };
        Ok(System { verbose, log })
    }

    /// Tells what was done (or found).
    pub fn say(&mut self, what: &str) {
        if self.verbose {
            println!("ipt_netflow: {what}");
        }
        if let Some(log) = &mut self.log {
            let _ = writeln!(log, "{what}");
        }
    }

    /// Tells it whatever the verbosity: a result the operator asked for.
    pub fn tell(&mut self, what: &str) {
        println!("ipt_netflow: {what}");
        if let Some(log) = &mut self.log {
            let _ = writeln!(log, "{what}");
        }
    }

    /// Runs `program args`, capturing its output. A program that cannot
    /// be started is an error that names it.
    pub fn run(&mut self, program: &str, args: &[String]) -> Result<Ran, String> {
        let out = Command::new(program)
            .args(args)
            .output()
            .map_err(|e| format!("cannot run {program}: {e}"))?;
        Ok(Ran {
            ok: out.status.success(),
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }

    /// Runs `program args` (shown with `-v`); fails with its error output
    /// when it fails. The log gets what the command made of it instead.
    pub fn run_ok(&mut self, program: &str, args: &[String]) -> Result<Ran, String> {
        if self.verbose {
            println!("ipt_netflow: {program} {}", args.join(" "));
        }
        let ran = self.run(program, args)?;
        if ran.ok {
            Ok(ran)
        } else {
            let why = if ran.stderr.is_empty() {
                ran.stdout.trim()
            } else {
                &ran.stderr
            };
            Err(format!(
                "{program} {} failed (exit {}): {why}",
                args.join(" "),
                ran.code
            ))
        }
    }

    /// Writes `text` to `path` (creating its directory), narrated.
    pub fn write_file(&mut self, path: &str, text: &str) -> Result<(), String> {
        if let Some(dir) = Path::new(path).parent() {
            fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        fs::write(path, text).map_err(|e| format!("{path}: {e}"))?;
        self.say(&format!("wrote {path}"));
        Ok(())
    }

    /// Deletes `path`, narrated; a file already gone is not an error.
    pub fn remove_file(&mut self, path: &str) -> Result<(), String> {
        match fs::remove_file(path) {
            Ok(()) => {
                self.say(&format!("deleted {path}"));
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(format!("{path}: {e}")),
        }
    }
}

/// A file's text, `None` when it does not exist or cannot be read.
pub fn read(path: &str) -> Option<String> {
    fs::read_to_string(path).ok()
}

/// Whether `program` is on `PATH`.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

/// Whether the module is loaded.
pub fn module_loaded() -> bool {
    Path::new(SYS_MODULE).is_dir()
}

/// The running kernel's release.
pub fn kernel_release() -> String {
    read("/proc/sys/kernel/osrelease").map_or_else(String::new, |s| s.trim().to_string())
}

/// `net.netflow.*` as (name, value), sorted by name.
pub fn sysctls() -> Vec<(String, String)> {
    let Ok(dir) = fs::read_dir(SYSCTL_DIR) else {
        return Vec::new();
    };
    let mut out: Vec<(String, String)> = dir
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            // Some settings refuse reads (sndbuf without a destination).
            let value = fs::read_to_string(e.path())
                .map_or_else(|e| format!("({e})"), |v| v.trim_end().to_string());
            Some((name, value))
        })
        .collect();
    out.sort();
    out
}

/// The iptables extension, where iptables looks for it.
pub fn extension_file() -> Option<String> {
    let mut dirs: Vec<String> = std::env::var("XTABLES_LIBDIR")
        .map(|v| v.split(':').map(String::from).collect())
        .unwrap_or_default();
    if let Ok(rd) = fs::read_dir("/usr/lib") {
        // Debian's multiarch directories.
        dirs.extend(
            rd.flatten()
                .map(|e| format!("{}/xtables", e.path().display())),
        );
    }
    dirs.extend(["/usr/lib/xtables", "/usr/lib64/xtables", "/lib/xtables"].map(String::from));
    dirs.into_iter()
        .map(|d| format!("{d}/libxt_NETFLOW.so"))
        .find(|f| Path::new(f).is_file())
}
