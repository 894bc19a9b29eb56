// SPDX-License-Identifier: GPL-2.0-only
//! The six modes. Each checks what it needs before it changes anything,
//! and says what it changed; an error ends the mode with exit status 1.

use crate::config_files::{self, Ipv6, Manifest, ServiceConf, WRITTEN_BY};
use crate::options::Options;
use crate::proc_status::{self, Status};
use crate::report::{self, Facts};
use crate::rules;
use crate::settings::{self, Values};
use crate::system::{self, System, MANIFEST, MODPROBE_CONF, MODULE, SYSCTL_DIR, UNIT};
use std::path::Path;

/// Where `install` builds the module from when `--source` is not given:
/// the sources `make install` copies for DKMS.
const DEFAULT_SOURCE: Option<&str> = option_env!("IPT_NETFLOW_SOURCE");

/// The protocol `install` writes when none is given: IPFIX carries IPv6
/// flows too, which v5 (the module's own default) cannot.
const INSTALL_PROTOCOL: &str = "10";

/// A mode's outcome: `Err` is printed and exits 1.
pub type Outcome = Result<(), String>;

/// The service configuration, or the defaults when there is no file.
fn service_conf() -> Result<ServiceConf, String> {
    let path = system::service_conf_path();
    match system::read(path) {
        Some(text) => ServiceConf::parse(&text).map_err(|e| format!("{path}: {e}")),
        None => Ok(ServiceConf::default()),
    }
}

/// The manifest of the last `install`, if any.
fn manifest() -> Result<Option<Manifest>, String> {
    system::read(MANIFEST)
        .map(|t| Manifest::parse(&t).map_err(|e| format!("{MANIFEST}: {e}")))
        .transpose()
}

/// The NETFLOW rules in place, both families; an iptables that is not
/// installed lists none.
fn netflow_rules(sys: &mut System, conf: &ServiceConf) -> Result<Vec<report::Rule>, String> {
    let mut all = Vec::new();
    for (cmd, family) in conf.backend.commands().into_iter().zip(["ipv4", "ipv6"]) {
        let save = format!("{cmd}-save");
        if !system::on_path(&save) {
            continue;
        }
        let ran = sys.run(&save, &[])?;
        if !ran.ok {
            return Err(format!("{save} failed: {}", ran.stderr));
        }
        all.extend(rules::netflow_rules(&ran.stdout, family));
    }
    Ok(all)
}

/// `status`: exit 0 only with the module loaded and a rule in place.
pub fn status(sys: &mut System, verbose: bool) -> Outcome {
    let loaded = system::module_loaded();
    let rules = netflow_rules(sys, &service_conf()?)?;
    let say = |m: String| {
        if verbose {
            println!("{m}");
        }
    };
    match (loaded, rules.len()) {
        (true, n) if n > 0 => {
            say(format!(
                "ipt_NETFLOW is loaded and {n} NETFLOW rules are in place"
            ));
            Ok(())
        }
        (true, _) => {
            say("ipt_NETFLOW is loaded, but no NETFLOW rule is in place".into());
            Err(String::new())
        }
        (false, _) => {
            say("ipt_NETFLOW is not loaded".into());
            Err(String::new())
        }
    }
}

/// What `show` reports.
pub fn gather(sys: &mut System, top: usize) -> Facts {
    let kernel = system::kernel_release();
    let module_file = sys
        .run(
            "modinfo",
            &["-k".into(), kernel.clone(), "-n".into(), MODULE.into()],
        )
        .ok()
        .filter(|r| r.ok)
        .map(|r| r.stdout.trim().to_string());
    let files = [MODPROBE_CONF, system::service_conf_path(), UNIT, MANIFEST]
        .iter()
        .map(|p| (p.to_string(), Path::new(p).exists()))
        .collect();
    let (rules, rules_error) = match service_conf().and_then(|c| netflow_rules(sys, &c)) {
        Ok(r) => (r, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    let loaded = system::module_loaded();
    let status = system::read(system::PROC_STAT)
        .map(|stat| Status::parse(&stat, &system::read(system::PROC_SNMP).unwrap_or_default()));
    let top = match (top, system::read(system::PROC_FLOWS)) {
        (n, Some(text)) if n > 0 => proc_status::top_flows(&text, n),
        _ => Vec::new(),
    };
    Facts {
        kernel,
        module_file,
        extension: system::extension_file(),
        files,
        loaded,
        rules,
        rules_error,
        settings: system::sysctls(),
        status,
        top,
    }
}

/// `show`, as text or JSON.
pub fn show(sys: &mut System, o: &Options) -> Outcome {
    let facts = gather(sys, o.top);
    if o.json {
        println!("{}", report::json(&facts));
    } else {
        print!("{}", report::text(&facts));
    }
    Ok(())
}

/// Loads the module with `values` on top of modprobe's configuration, or
/// sets them through sysctl when it is loaded already.
fn load_module(sys: &mut System, values: &Values) -> Outcome {
    if !system::module_loaded() {
        let mut args = vec![MODULE.to_string()];
        args.extend(values.iter().map(|(p, v)| format!("{p}={v}")));
        sys.run_ok("modprobe", &args)?;
        sys.tell(&format!("loaded {MODULE}"));
        return Ok(());
    }
    for (param, value) in values.iter() {
        let path = format!("{SYSCTL_DIR}/{param}");
        std::fs::write(&path, format!("{value}\n"))
            .map_err(|e| format!("net.netflow.{param} = {value}: the module refused it: {e}"))?;
        sys.say(&format!("set net.netflow.{param} = {value}"));
    }
    Ok(())
}

/// Whether `cmd` has the rule `enable` adds to `chain`, from its
/// `-save` listing.
fn rule_present(sys: &mut System, cmd: &str, table: &str, chain: &str) -> Result<bool, String> {
    let ran = sys.run(&format!("{cmd}-save"), &["-t".into(), table.into()])?;
    if !ran.ok {
        return Err(format!("{cmd}-save -t {table} failed: {}", ran.stderr));
    }
    Ok(rules::has_plain_rule(&ran.stdout, table, chain))
}

/// The families `enable` gives rules to, and the reason when IPv6 is left
/// out.
fn families(conf: &ServiceConf, protocol: Option<u32>) -> (Vec<&'static str>, Option<String>) {
    let [v4, v6] = conf.backend.commands();
    match (conf.ipv6, protocol) {
        (Ipv6::Yes, _) | (Ipv6::Auto, Some(9 | 10)) => (vec![v4, v6], None),
        (Ipv6::No, _) => (vec![v4], Some("IPV6=no".into())),
        (Ipv6::Auto, p) => (
            vec![v4],
            Some(format!(
                "protocol {} cannot carry IPv6 flows (IPV6=auto)",
                p.map_or("?".into(), |p| p.to_string())
            )),
        ),
    }
}

/// `enable`: load, then a rule at the top of each configured chain.
pub fn enable(sys: &mut System, o: &Options) -> Outcome {
    let conf = service_conf()?;
    load_module(sys, &o.settings)?;
    let protocol =
        system::read(&format!("{SYSCTL_DIR}/protocol")).and_then(|p| p.trim().parse().ok());
    let (cmds, no_v6) = families(&conf, protocol);
    if let Some(why) = no_v6 {
        sys.tell(&format!("no ip6tables rules: {why}"));
    }
    for cmd in cmds {
        for chain in &conf.chains {
            if rule_present(sys, cmd, &conf.table, chain)? {
                sys.say(&format!("{cmd}: {chain} already has the rule"));
            } else {
                sys.run_ok(cmd, &rules::rule_args("-I", &conf.table, chain))?;
                sys.tell(&format!("{cmd} -t {} -I {chain} -j NETFLOW", conf.table));
            }
        }
    }
    Ok(())
}

/// Deletes the rules `enable` adds, in both families; returns how many.
fn delete_rules(sys: &mut System, conf: &ServiceConf) -> Result<usize, String> {
    let mut n = 0;
    for cmd in conf.backend.commands() {
        if !system::on_path(cmd) {
            continue;
        }
        for chain in &conf.chains {
            // Added twice by hand, it is deleted twice.
            while rule_present(sys, cmd, &conf.table, chain)? {
                sys.run_ok(cmd, &rules::rule_args("-D", &conf.table, chain))?;
                sys.tell(&format!("{cmd} -t {} -D {chain} -j NETFLOW", conf.table));
                n += 1;
            }
        }
    }
    Ok(n)
}

/// `disable`: the rules out, then the module.
pub fn disable(sys: &mut System) -> Outcome {
    disable_with(sys, &service_conf()?)
}

fn disable_with(sys: &mut System, conf: &ServiceConf) -> Outcome {
    delete_rules(sys, conf)?;
    if !system::module_loaded() {
        sys.say(&format!("{MODULE} is not loaded"));
        return Ok(());
    }
    let others = netflow_rules(sys, conf)?;
    if !others.is_empty() {
        let list: Vec<String> = others
            .iter()
            .map(|r| format!("{} -t {} {}", r.family, r.table, r.spec))
            .collect();
        return Err(format!(
            "{MODULE} stays loaded: rules that ipt_netflow did not add use it: {}",
            list.join("; ")
        ));
    }
    sys.run_ok("modprobe", &["-r".into(), MODULE.into()])?;
    sys.tell(&format!("unloaded {MODULE}"));
    Ok(())
}

/// Fails when `path` exists and `install` did not write it: an operator's
/// own file is never overwritten.
fn ours_or_absent(path: &str, m: &Manifest) -> Outcome {
    match system::read(path) {
        None => Ok(()),
        Some(t) if m.files.iter().any(|f| f == path) || t.starts_with(WRITTEN_BY) => Ok(()),
        Some(_) => Err(format!(
            "{path} exists and was not written by ipt_netflow: move it away, or put its settings on the command line"
        )),
    }
}

/// Builds and installs the module for the running kernel: with DKMS when
/// it is there, else `make install-module install-libxt` in the sources.
fn build_module(sys: &mut System, o: &Options, m: &mut Manifest, kernel: &str) -> Outcome {
    let source = o.source.as_deref().or(DEFAULT_SOURCE).ok_or_else(|| {
        format!("{MODULE} is not installed for {kernel}, and no sources were given to build it (--source DIR)")
    })?;
    if !Path::new(&format!("{source}/Kbuild")).is_file() {
        return Err(format!(
            "{source} does not hold the module's sources (no Kbuild)"
        ));
    }
    let dkms_conf =
        system::read(&format!("{source}/dkms.conf")).and_then(|t| config_files::dkms_package(&t));
    if let (true, Some((name, version))) = (system::on_path("dkms"), dkms_conf) {
        let added = sys.run(
            "dkms",
            &[
                "status".into(),
                "-m".into(),
                name.clone(),
                "-v".into(),
                version.clone(),
            ],
        )?;
        if added.stdout.trim().is_empty() {
            sys.run_ok("dkms", &["add".into(), source.into()])?;
        }
        sys.run_ok(
            "dkms",
            &[
                "install".into(),
                "-m".into(),
                name.clone(),
                "-v".into(),
                version.clone(),
                "-k".into(),
                kernel.into(),
            ],
        )?;
        m.dkms = Some(format!("{name}/{version}"));
        sys.tell(&format!(
            "built and installed {MODULE} with DKMS ({name}/{version}) for {kernel}"
        ));
    } else {
        sys.run_ok("make", &["-C".into(), source.into(), "all".into()])?;
        sys.run_ok(
            "make",
            &[
                "-C".into(),
                source.into(),
                "install-module".into(),
                "install-libxt".into(),
            ],
        )?;
        m.make = Some(source.to_string());
        sys.tell(&format!(
            "built and installed {MODULE} from {source} for {kernel}"
        ));
    }
    Ok(())
}

/// `install`: the module if needed, then the configuration files.
pub fn install(sys: &mut System, o: &Options) -> Outcome {
    let mut values = o.settings.clone();
    if values.get("protocol").is_none() {
        values.set(
            settings::by_option("protocol").expect("a setting"),
            INSTALL_PROTOCOL,
        )?;
    }
    let mut m = manifest()?.unwrap_or_default();
    let service_path = system::service_conf_path();
    ours_or_absent(MODPROBE_CONF, &m)?;
    ours_or_absent(service_path, &m)?;
    let kernel = system::kernel_release();
    let installed = sys.run(
        "modinfo",
        &["-k".into(), kernel.clone(), "-n".into(), MODULE.into()],
    )?;
    if installed.ok {
        sys.tell(&format!(
            "{MODULE} is installed for {kernel}: {}",
            installed.stdout.trim()
        ));
    } else {
        build_module(sys, o, &mut m, &kernel)?;
    }
    if system::extension_file().is_none() {
        sys.tell("warning: libxt_NETFLOW.so is not installed: iptables cannot add -j NETFLOW rules (make install-libxt)");
    }
    sys.write_file(MODPROBE_CONF, &config_files::modprobe_conf(&values))?;
    m.add_file(MODPROBE_CONF);
    // The service's file keeps an operator's edits across installs.
    if system::read(service_path).is_none() {
        sys.write_file(service_path, &ServiceConf::default().render())?;
    }
    m.add_file(service_path);
    sys.write_file(MANIFEST, &m.render())?;
    let list: Vec<String> = values.iter().map(|(p, v)| format!("{p}={v}")).collect();
    sys.tell(&format!("{MODPROBE_CONF}: {}", list.join(" ")));
    if system::module_loaded() {
        sys.tell(&format!("{MODULE} is loaded: the new settings apply at its next load (ipt_netflow -m disable, then -m enable)"));
    } else {
        sys.tell("next: ipt_netflow -m enable, or systemctl enable --now ipt_netflow");
    }
    Ok(())
}

/// `remove`: `disable`, then what `install` made, nothing else. A service
/// configuration that does not parse does not stop it: the file is about
/// to go, and its rules are looked for where the default puts them.
pub fn remove(sys: &mut System) -> Outcome {
    let conf = service_conf().unwrap_or_else(|e| {
        sys.tell(&format!("{e}: taking the default chains instead"));
        ServiceConf::default()
    });
    disable_with(sys, &conf)?;
    let Some(m) = manifest()? else {
        sys.tell("nothing to remove: ipt_netflow -m install has not run here");
        return Ok(());
    };
    for f in &m.files {
        sys.remove_file(f)?;
    }
    if let Some((name, version)) = m.dkms.as_deref().and_then(|d| d.split_once('/')) {
        sys.run_ok(
            "dkms",
            &[
                "remove".into(),
                "-m".into(),
                name.into(),
                "-v".into(),
                version.into(),
                "--all".into(),
            ],
        )?;
        sys.tell(&format!("removed {name}/{version} from DKMS"));
    }
    if let Some(source) = &m.make {
        sys.run_ok(
            "make",
            &[
                "-C".into(),
                source.clone(),
                "uninstall-module".into(),
                "uninstall-libxt".into(),
            ],
        )?;
        sys.tell(&format!("uninstalled the module built from {source}"));
    }
    sys.remove_file(MANIFEST)?;
    if let Some(dir) = Path::new(MANIFEST).parent() {
        let _ = std::fs::remove_dir(dir);
    }
    sys.tell("removed everything ipt_netflow -m install created");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_rules_follow_the_protocol() {
        let auto = ServiceConf::default();
        assert_eq!(families(&auto, Some(10)).0, ["iptables", "ip6tables"]);
        assert_eq!(families(&auto, Some(9)).0, ["iptables", "ip6tables"]);
        let (f, why) = families(&auto, Some(5));
        assert_eq!(f, ["iptables"]);
        assert_eq!(
            why.unwrap(),
            "protocol 5 cannot carry IPv6 flows (IPV6=auto)"
        );
        let yes = ServiceConf {
            ipv6: Ipv6::Yes,
            backend: config_files::Backend::Nft,
            ..ServiceConf::default()
        };
        assert_eq!(families(&yes, Some(5)).0, ["iptables-nft", "ip6tables-nft"]);
    }
}
