// SPDX-License-Identifier: GPL-2.0-only
//! The module as the files of a running system show it.

use crate::stats::Stats;
use crate::view::Source;
use std::fs;
use std::io::{self, ErrorKind, Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

/// How long statistics read from ipt_netflow_snmp are reused: one read per
/// second at most, however fast a manager walks (the original's rule).
pub const REFRESH: Duration = Duration::from_secs(1);
/// When a read fails for a reason other than the file being gone, the last
/// statistics are served for this long before their objects disappear (the
/// original's staleness limit).
pub const STALE: Duration = Duration::from_secs(5);
/// ipt_netflow_snmp is a few lines per CPU and destination; a file beyond
/// this is not the module's.
const MAX_STATS: u64 = 1 << 20;

/// The files under `root` (`/` on a real system).
pub struct System {
    root: PathBuf,
    cache: Option<(Instant, Stats)>,
    now: fn() -> Instant,
}

impl System {
    /// The system whose files are under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        System {
            root: root.into(),
            cache: None,
            now: Instant::now,
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn read(&self, rel: &str) -> Option<String> {
        fs::read_to_string(self.path(rel)).ok()
    }

    fn refresh(&mut self, now: Instant) {
        if matches!(&self.cache, Some((at, _)) if now.duration_since(*at) < REFRESH) {
            return;
        }
        let read = fs::File::open(self.path("proc/net/stat/ipt_netflow_snmp")).and_then(|f| {
            let mut text = String::new();
            f.take(MAX_STATS).read_to_string(&mut text)?;
            Ok(text)
        });
        match read {
            Ok(text) => self.cache = Some((now, Stats::parse(&text))),
            // The module is gone: nothing to serve.
            Err(e) if e.kind() == ErrorKind::NotFound => self.cache = None,
            Err(_) => {
                if matches!(&self.cache, Some((at, _)) if now.duration_since(*at) > STALE) {
                    self.cache = None;
                }
            }
        }
    }
}

impl Source for System {
    fn module_loaded(&self) -> Option<SystemTime> {
        fs::metadata(self.path("sys/module/ipt_NETFLOW"))
            .and_then(|m| m.modified())
            .ok()
    }

    fn module_file(&self, name: &str) -> Option<String> {
        self.read(&format!("sys/module/ipt_NETFLOW/{name}"))
    }

    fn sysctl(&self, name: &str) -> Option<String> {
        self.read(&format!("proc/sys/net/netflow/{name}"))
    }

    fn write_sysctl(&mut self, name: &str, text: &str) -> io::Result<()> {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(self.path(&format!("proc/sys/net/netflow/{name}")))?;
        // One write, as `sysctl -w` does: the module parses it whole.
        let line = format!("{text}\n");
        let n = f.write(line.as_bytes())?;
        if n != line.len() {
            return Err(io::Error::new(ErrorKind::WriteZero, "short write"));
        }
        Ok(())
    }

    fn stats(&mut self) -> Option<&Stats> {
        let now = (self.now)();
        self.refresh(now);
        self.cache.as_ref().map(|(_, s)| s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;

    /// A clock the test moves: milliseconds after a fixed start.
    static MS: AtomicU64 = AtomicU64::new(0);
    fn test_now() -> Instant {
        static START: OnceLock<Instant> = OnceLock::new();
        *START.get_or_init(Instant::now) + Duration::from_millis(MS.load(Ordering::Relaxed))
    }

    fn tree() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ipt-netflow-agent-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        for d in [
            "sys/module/ipt_NETFLOW",
            "proc/sys/net/netflow",
            "proc/net/stat",
        ] {
            fs::create_dir_all(dir.join(d)).unwrap();
        }
        fs::write(dir.join("sys/module/ipt_NETFLOW/version"), "2.6\n").unwrap();
        fs::write(dir.join("proc/sys/net/netflow/active_timeout"), "1800\n").unwrap();
        dir
    }

    /// Cached for a second, re-read after; a vanished file drops the
    /// statistics at once, an unreadable one only after five seconds.
    #[test]
    fn reads_files_and_caches_statistics() {
        let dir = tree();
        let snmp = dir.join("proc/net/stat/ipt_netflow_snmp");
        fs::write(&snmp, "inFlows 1\n").unwrap();
        let mut s = System {
            root: dir.clone(),
            cache: None,
            now: test_now,
        };
        assert!(s.module_loaded().is_some());
        assert_eq!(s.module_file("version").as_deref(), Some("2.6\n"));
        assert_eq!(s.sysctl("active_timeout").as_deref(), Some("1800\n"));
        assert_eq!(s.sysctl("promisc"), None);
        s.write_sysctl("active_timeout", "60").unwrap();
        assert_eq!(s.sysctl("active_timeout").as_deref(), Some("60\n"));

        let flows = |s: &mut System| {
            s.stats()
                .and_then(|st| st.total("inFlows").map(str::to_string))
        };
        assert_eq!(flows(&mut s).as_deref(), Some("1"));
        fs::write(&snmp, "inFlows 2\n").unwrap();
        MS.store(900, Ordering::Relaxed);
        assert_eq!(flows(&mut s).as_deref(), Some("1"), "cached");
        MS.store(1000, Ordering::Relaxed);
        assert_eq!(flows(&mut s).as_deref(), Some("2"), "re-read");

        // A directory where the file was: reads fail, but not as "gone".
        fs::remove_file(&snmp).unwrap();
        fs::create_dir(&snmp).unwrap();
        MS.store(3000, Ordering::Relaxed);
        assert_eq!(flows(&mut s).as_deref(), Some("2"), "kept while not stale");
        MS.store(6100, Ordering::Relaxed);
        assert_eq!(flows(&mut s), None, "stale");

        fs::remove_dir(&snmp).unwrap();
        fs::write(&snmp, "inFlows 3\n").unwrap();
        MS.store(7200, Ordering::Relaxed);
        assert_eq!(flows(&mut s).as_deref(), Some("3"));
        fs::remove_file(&snmp).unwrap();
        MS.store(8300, Ordering::Relaxed);
        assert_eq!(flows(&mut s), None, "gone at once");
        fs::remove_dir_all(dir.join("sys/module/ipt_NETFLOW")).unwrap();
        assert!(s.module_loaded().is_none());
        fs::remove_dir_all(dir).unwrap();
    }
}
