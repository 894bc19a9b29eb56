// SPDX-License-Identifier: GPL-2.0-only
//! What the agent answers: the MIB's instances as they are now, found by
//! GET, GETNEXT and GETBULK, and the two-phase SET of the sysctl group.
//!
//! Everything here works on a [`Source`], so the host tests drive it with
//! captured text and the daemon with the real files.

use crate::agentx::{Oid, SearchRange, SnmpError, Value, VarBind};
use crate::mib::{self, Object, Origin, Syntax, OBJECTS};
use crate::stats::Stats;
use crate::values;
use ipt_netflow::control::setting_check;
use std::io;
use std::time::SystemTime;

/// Where the module's state is read and its settings written.
pub trait Source {
    /// When the module was loaded; `None` when it is not loaded.
    fn module_loaded(&self) -> Option<SystemTime>;
    /// A file of /sys/module/ipt_NETFLOW.
    fn module_file(&self, name: &str) -> Option<String>;
    /// A sysctl's text; `None` when it does not exist.
    fn sysctl(&self, name: &str) -> Option<String>;
    /// Writes a sysctl; the module refuses what it does not accept.
    fn write_sysctl(&mut self, name: &str, text: &str) -> io::Result<()>;
    /// ipt_netflow_snmp, parsed (cached by the implementation).
    fn stats(&mut self) -> Option<&Stats>;
}

/// Every instance there is now, in identifier order.
pub fn instances(src: &mut dyn Source) -> Vec<VarBind> {
    let loaded = src.module_loaded();
    let mut out = Vec::new();
    for o in OBJECTS {
        let scalar = |value: Option<Value>| {
            value.map(|value| VarBind {
                name: instance(o, 0),
                value,
            })
        };
        match o.origin {
            Origin::ModuleName => out.extend(scalar(
                loaded.map(|_| Value::OctetString(b"ipt_NETFLOW".to_vec())),
            )),
            Origin::ModuleLoadTime => out.extend(scalar(
                loaded.map(|t| Value::OctetString(values::date_and_time(t))),
            )),
            Origin::ModuleFile(f) => out.extend(scalar(
                src.module_file(f)
                    .and_then(|t| values::from_text(o.syntax, &t)),
            )),
            Origin::Sysctl(f) => out.extend(scalar(
                src.sysctl(f).and_then(|t| values::from_text(o.syntax, &t)),
            )),
            Origin::Total(name) => {
                let v = src
                    .stats()
                    .and_then(|s| s.total(name))
                    .and_then(|t| values::from_text(o.syntax, t));
                out.extend(scalar(v));
            }
            Origin::CpuColumn(col) | Origin::SockColumn(col) => {
                let Some(stats) = src.stats() else { continue };
                let rows = if matches!(o.origin, Origin::CpuColumn(_)) {
                    &stats.cpus
                } else {
                    &stats.socks
                };
                for (index, fields) in rows {
                    let value = if col == 1 {
                        i32::try_from(*index).ok().map(Value::Integer)
                    } else {
                        fields
                            .get(col - 2)
                            .and_then(|t| values::from_text(o.syntax, t))
                    };
                    if let Some(value) = value {
                        out.push(VarBind {
                            name: instance(o, *index),
                            value,
                        });
                    }
                }
            }
        }
    }
    out
}

fn instance(o: &Object, index: u32) -> Oid {
    let mut oid = mib::oid_of(o);
    oid.push(index);
    oid
}

/// GET of one name.
pub fn get(all: &[VarBind], name: &Oid) -> VarBind {
    let value = match all.binary_search_by(|vb| vb.name.cmp(name)) {
        Ok(i) => all[i].value.clone(),
        // An object that has instances, but not this one.
        Err(_) => match mib::lookup(name) {
            Some((o, _)) if all.iter().any(|vb| vb.name.starts_with(&mib::oid_of(o))) => {
                Value::NoSuchInstance
            }
            _ => Value::NoSuchObject,
        },
    };
    VarBind {
        name: name.clone(),
        value,
    }
}

/// GETNEXT in one search range.
pub fn get_next(all: &[VarBind], r: &SearchRange) -> VarBind {
    let first = all.partition_point(|vb| {
        if r.include {
            vb.name < r.start
        } else {
            vb.name <= r.start
        }
    });
    match all.get(first) {
        Some(vb) if r.end.is_empty() || vb.name < r.end => vb.clone(),
        _ => VarBind {
            name: r.start.clone(),
            value: Value::EndOfMibView,
        },
    }
}

/// GETBULK (RFC 2741 7.2.3.3, RFC 3416 4.2.3): the first `non_repeaters`
/// ranges once, the others `max_repetitions` times, each repetition
/// continuing after the previous one's name.
pub fn get_bulk(
    all: &[VarBind],
    non_repeaters: u16,
    max_repetitions: u16,
    ranges: &[SearchRange],
) -> Vec<VarBind> {
    let n = usize::from(non_repeaters).min(ranges.len());
    let mut out: Vec<VarBind> = ranges[..n].iter().map(|r| get_next(all, r)).collect();
    let mut repeat: Vec<SearchRange> = ranges[n..].to_vec();
    for _ in 0..max_repetitions {
        if repeat.is_empty() {
            break;
        }
        let mut all_ended = true;
        for r in &mut repeat {
            let vb = get_next(all, r);
            all_ended &= vb.value == Value::EndOfMibView;
            r.start.clone_from(&vb.name);
            r.include = false;
            out.push(vb);
        }
        if all_ended {
            break;
        }
    }
    out
}

/// A SET being carried out: what TestSet accepted, and what CommitSet
/// replaced (for UndoSet).
#[derive(Debug, Default)]
pub struct SetTransaction {
    writes: Vec<Write>,
}

#[derive(Debug)]
struct Write {
    sysctl: &'static str,
    text: String,
    old: Option<String>,
}

/// Why a SET fails, and which variable (1-based) made it fail.
pub type SetError = (SnmpError, u16);

impl SetTransaction {
    /// TestSet: every variable must be a present sysctl object's `.0`, of
    /// its type, with a value the module accepts.
    pub fn test(src: &mut dyn Source, vbs: &[VarBind]) -> Result<Self, SetError> {
        let mut writes = Vec::with_capacity(vbs.len());
        for (i, vb) in vbs.iter().enumerate() {
            let index = u16::try_from(i + 1).unwrap_or(u16::MAX);
            let (sysctl, text) = check(src, vb).map_err(|e| (e, index))?;
            writes.push(Write {
                sysctl,
                text,
                old: None,
            });
        }
        Ok(SetTransaction { writes })
    }

    /// CommitSet: writes in order; when the module refuses one, what was
    /// written before it is put back (without waiting for an UndoSet the
    /// master may never send) and the SET fails there: commitFailed, or
    /// undoFailed when something could not be put back.
    pub fn commit(&mut self, src: &mut dyn Source) -> Result<(), SetError> {
        for i in 0..self.writes.len() {
            let w = &mut self.writes[i];
            let old = src.sysctl(w.sysctl);
            if src.write_sysctl(w.sysctl, &w.text).is_err() {
                self.undo(src)?;
                return Err((
                    SnmpError::CommitFailed,
                    u16::try_from(i + 1).unwrap_or(u16::MAX),
                ));
            }
            self.writes[i].old = old;
        }
        Ok(())
    }

    /// UndoSet: puts back what CommitSet replaced, last first.
    pub fn undo(&mut self, src: &mut dyn Source) -> Result<(), SetError> {
        let mut result = Ok(());
        for (i, w) in self.writes.iter_mut().enumerate().rev() {
            if let Some(old) = w.old.take() {
                if src
                    .write_sysctl(w.sysctl, old.trim_end_matches('\n'))
                    .is_err()
                {
                    result = Err((
                        SnmpError::UndoFailed,
                        u16::try_from(i + 1).unwrap_or(u16::MAX),
                    ));
                }
            }
        }
        result
    }
}

/// The sysctl a SET of `vb` writes and its text, or why it is refused.
fn check(src: &mut dyn Source, vb: &VarBind) -> Result<(&'static str, String), SnmpError> {
    let (o, inst) = mib::lookup(&vb.name).ok_or(SnmpError::NotWritable)?;
    let sysctl = o.sysctl().ok_or(SnmpError::NotWritable)?;
    if inst != [0] {
        return Err(SnmpError::NoCreation);
    }
    // A setting this build of the module lacks, or the module not loaded.
    if src.sysctl(sysctl).is_none() {
        return Err(SnmpError::NoCreation);
    }
    match (o.syntax, &vb.value) {
        (Syntax::Integer, Value::Integer(v)) => {
            check_number(sysctl, *v)?;
            Ok((sysctl, v.to_string()))
        }
        (Syntax::Text, Value::OctetString(bytes)) => {
            let text = std::str::from_utf8(bytes).map_err(|_| SnmpError::WrongValue)?;
            check_text(sysctl, text)?;
            Ok((sysctl, text.to_string()))
        }
        _ => Err(SnmpError::WrongType),
    }
}

/// The values the module is known to refuse (`setting_check`, shared with
/// the operator's command), checked before anything is written so that the
/// SET fails with wrongValue. The module remains the judge of the rest
/// (CommitSet then fails with commitFailed).
fn check_number(sysctl: &str, v: i32) -> Result<(), SnmpError> {
    setting_check::check_number(sysctl, i64::from(v)).map_err(|_| SnmpError::WrongValue)
}

/// A text setting, parsed by the module's own parser.
fn check_text(sysctl: &str, text: &str) -> Result<(), SnmpError> {
    setting_check::check_text(sysctl, text).map_err(|_| SnmpError::WrongValue)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::time::{Duration, UNIX_EPOCH};

    /// A module as captured text: sysfs files, sysctls and the snmp file.
    #[derive(Default)]
    struct Captured {
        loaded: bool,
        sysctls: BTreeMap<String, String>,
        stats: Stats,
        writes: Vec<(String, String)>,
        refuse: Option<&'static str>,
        /// Writes accepted before every further one fails.
        writes_left: Option<usize>,
    }

    impl Source for Captured {
        fn module_loaded(&self) -> Option<SystemTime> {
            self.loaded
                .then(|| UNIX_EPOCH + Duration::from_secs(1_796_079_432))
        }
        fn module_file(&self, name: &str) -> Option<String> {
            let text = match name {
                "version" => "2.6-rust\n",
                "srcversion" => "0123456789ABCDEF\n",
                "refcnt" => "2\n",
                _ => return None,
            };
            self.loaded.then(|| text.to_string())
        }
        fn sysctl(&self, name: &str) -> Option<String> {
            self.sysctls.get(name).cloned()
        }
        fn write_sysctl(&mut self, name: &str, text: &str) -> io::Result<()> {
            if self.refuse == Some(name) || self.writes_left == Some(0) {
                return Err(io::Error::from_raw_os_error(22));
            }
            self.writes_left = self.writes_left.map(|n| n - 1);
            self.writes.push((name.to_string(), text.to_string()));
            self.sysctls.insert(name.to_string(), format!("{text}\n"));
            Ok(())
        }
        fn stats(&mut self) -> Option<&Stats> {
            self.loaded.then_some(&self.stats)
        }
    }

    fn loaded() -> Captured {
        let mut c = Captured {
            loaded: true,
            ..Default::default()
        };
        for (k, v) in [
            ("protocol", "10"),
            ("hashsize", "8192"),
            ("maxflows", "2000000"),
            ("active_timeout", "1800"),
            ("inactive_timeout", "15"),
            ("sndbuf", "212992"),
            ("destination", "127.0.0.1:2055"),
            ("sampler", ""),
            ("aggregation", ""),
            ("natevents", "0"),
            ("snmp-rules", ""),
            ("scan-min", "1"),
        ] {
            c.sysctls.insert(k.to_string(), format!("{v}\n"));
        }
        c.stats = Stats::parse(
            "inBitRate 8\ninFlows 4\nhashMetric 1.25\nerrTotal 4294967296\n\
             cpu0 10 3 100 8400 1.00 0 0 0 0 0 0\ncpu1 1 2 3 4 0.5 6 7 8 9 10 11\n\
             sock0 127.0.0.1:2055 1 0 0 0 0 212992 0 304\n",
        );
        c
    }

    fn oid(arcs: &[u32]) -> Oid {
        mib::ROOT.iter().chain(arcs).copied().collect()
    }

    fn value_of(all: &[VarBind], arcs: &[u32]) -> Value {
        get(all, &oid(arcs)).value
    }

    #[test]
    fn scalars_and_tables() {
        let all = instances(&mut loaded());
        assert_eq!(
            value_of(&all, &[1, 1, 1, 0]),
            Value::OctetString(b"ipt_NETFLOW".to_vec())
        );
        assert_eq!(
            value_of(&all, &[1, 1, 2, 0]),
            Value::OctetString(b"2.6-rust".to_vec())
        );
        assert_eq!(
            value_of(&all, &[1, 1, 4, 0]),
            Value::OctetString(vec![0x07, 0xea, 11, 30, 22, 57, 12, 0, b'+', 0, 0])
        );
        assert_eq!(value_of(&all, &[1, 1, 5, 0]), Value::Integer(2));
        assert_eq!(value_of(&all, &[1, 2, 4, 0]), Value::Integer(1800));
        assert_eq!(
            value_of(&all, &[1, 2, 7, 0]),
            Value::OctetString(b"127.0.0.1:2055".to_vec())
        );
        assert_eq!(
            value_of(&all, &[1, 2, 8, 0]),
            Value::OctetString(Vec::new())
        );
        // promisc: not in this build.
        assert_eq!(value_of(&all, &[1, 2, 11, 0]), Value::NoSuchObject);
        assert_eq!(value_of(&all, &[2, 1, 1, 0]), Value::Counter64(8));
        assert_eq!(value_of(&all, &[2, 1, 6, 0]), Value::Gauge32(125));
        assert_eq!(value_of(&all, &[2, 1, 20, 0]), Value::Counter32(0));
        // Not in the file: no object.
        assert_eq!(value_of(&all, &[2, 1, 2, 0]), Value::NoSuchObject);
        assert_eq!(value_of(&all, &[2, 2, 1, 1, 1]), Value::Integer(1));
        assert_eq!(value_of(&all, &[2, 2, 1, 6, 1]), Value::Gauge32(50));
        assert_eq!(value_of(&all, &[2, 2, 1, 12, 1]), Value::Counter32(11));
        assert_eq!(value_of(&all, &[2, 2, 1, 2, 7]), Value::NoSuchInstance);
        assert_eq!(
            value_of(&all, &[2, 3, 1, 2, 0]),
            Value::OctetString(b"127.0.0.1:2055".to_vec())
        );
        assert_eq!(value_of(&all, &[2, 3, 1, 10, 0]), Value::Gauge32(304));
        // sockIndex is not served; a scalar without its .0 is no instance.
        assert_eq!(value_of(&all, &[2, 3, 1, 1, 0]), Value::NoSuchObject);
        assert_eq!(value_of(&all, &[1, 2, 4]), Value::NoSuchInstance);
    }

    #[test]
    fn nothing_while_the_module_is_not_loaded() {
        assert!(instances(&mut Captured::default()).is_empty());
        let all = instances(&mut Captured::default());
        assert_eq!(value_of(&all, &[1, 1, 1, 0]), Value::NoSuchObject);
        let r = SearchRange {
            start: mib::ROOT.to_vec(),
            include: false,
            end: Vec::new(),
        };
        assert_eq!(get_next(&all, &r).value, Value::EndOfMibView);
    }

    #[test]
    fn a_walk_visits_every_instance_once_in_order() {
        let all = instances(&mut loaded());
        let mut r = SearchRange {
            start: mib::ROOT.to_vec(),
            include: false,
            end: oid_after_root(),
        };
        let mut seen = Vec::new();
        loop {
            let vb = get_next(&all, &r);
            if vb.value == Value::EndOfMibView {
                break;
            }
            r.start = vb.name.clone();
            seen.push(vb);
        }
        assert_eq!(seen, all);
        // 5 module + 12 sysctls + 4 totals + 2 CPUs x 12 + 1 socket x 9.
        assert_eq!(seen.len(), 5 + 12 + 4 + 24 + 9);
        // Column-major: cpuIndex of both CPUs, then cpuInPacketRate.
        let cpu = seen
            .iter()
            .position(|vb| vb.name == oid(&[2, 2, 1, 1, 0]))
            .unwrap();
        assert_eq!(seen[cpu + 1].name, oid(&[2, 2, 1, 1, 1]));
        assert_eq!(seen[cpu + 2].name, oid(&[2, 2, 1, 2, 0]));
    }

    fn oid_after_root() -> Oid {
        let mut end = mib::ROOT.to_vec();
        *end.last_mut().unwrap() += 1;
        end
    }

    #[test]
    fn get_next_respects_include_and_end() {
        let all = instances(&mut loaded());
        let name = oid(&[1, 2, 4, 0]);
        let included = get_next(
            &all,
            &SearchRange {
                start: name.clone(),
                include: true,
                end: Vec::new(),
            },
        );
        assert_eq!(included.name, name);
        let next = get_next(
            &all,
            &SearchRange {
                start: name.clone(),
                include: false,
                end: Vec::new(),
            },
        );
        assert_eq!(next.name, oid(&[1, 2, 5, 0]));
        let bounded = get_next(
            &all,
            &SearchRange {
                start: name.clone(),
                include: false,
                end: oid(&[1, 2, 5, 0]),
            },
        );
        assert_eq!(
            bounded,
            VarBind {
                name,
                value: Value::EndOfMibView
            }
        );
    }

    #[test]
    fn get_bulk_repeats_and_stops_at_the_end() {
        let all = instances(&mut loaded());
        let r = |arcs: &[u32]| SearchRange {
            start: oid(arcs),
            include: false,
            end: Vec::new(),
        };
        let got = get_bulk(
            &all,
            1,
            3,
            &[r(&[1, 1]), r(&[2, 3, 1, 9]), r(&[2, 2, 1, 12])],
        );
        let names: Vec<Oid> = got.iter().map(|vb| vb.name.clone()).collect();
        assert_eq!(
            names,
            [
                oid(&[1, 1, 1, 0]),
                oid(&[2, 3, 1, 9, 0]),
                oid(&[2, 2, 1, 12, 0]),
                oid(&[2, 3, 1, 10, 0]),
                oid(&[2, 2, 1, 12, 1]),
                oid(&[2, 3, 1, 10, 0]),
                oid(&[2, 3, 1, 2, 0]),
            ]
        );
        assert_eq!(got[5].value, Value::EndOfMibView);
        // Everything at the end: one repetition, not max_repetitions.
        assert_eq!(get_bulk(&all, 0, 50, &[r(&[3])]).len(), 1);
    }

    fn set(arcs: &[u32], value: Value) -> VarBind {
        VarBind {
            name: oid(arcs),
            value,
        }
    }

    #[test]
    fn set_writes_the_sysctl() {
        let mut c = loaded();
        let vbs = [
            set(&[1, 2, 4, 0], Value::Integer(60)),
            set(&[1, 2, 7, 0], Value::OctetString(b"10.0.0.2:2055".to_vec())),
        ];
        let mut t = SetTransaction::test(&mut c, &vbs).unwrap();
        assert!(c.writes.is_empty(), "TestSet writes nothing");
        t.commit(&mut c).unwrap();
        assert_eq!(
            c.writes,
            [
                ("active_timeout".into(), "60".into()),
                ("destination".into(), "10.0.0.2:2055".into())
            ]
        );
        t.undo(&mut c).unwrap();
        assert_eq!(c.sysctl("active_timeout").unwrap(), "1800\n");
        assert_eq!(c.sysctl("destination").unwrap(), "127.0.0.1:2055\n");
    }

    #[test]
    fn set_refusals_name_the_variable_and_write_nothing() {
        let mut c = loaded();
        let good = set(&[1, 2, 4, 0], Value::Integer(60));
        let cases = [
            (
                set(
                    &[1, 2, 7, 0],
                    Value::OctetString(b"10.0.0.1:99999".to_vec()),
                ),
                SnmpError::WrongValue,
            ),
            (
                set(&[1, 2, 7, 0], Value::OctetString(vec![0xff])),
                SnmpError::WrongValue,
            ),
            (set(&[1, 2, 7, 0], Value::Integer(1)), SnmpError::WrongType),
            (
                set(&[1, 2, 4, 0], Value::OctetString(b"60".to_vec())),
                SnmpError::WrongType,
            ),
            (set(&[1, 2, 1, 0], Value::Integer(7)), SnmpError::WrongValue),
            (
                set(&[1, 2, 10, 0], Value::Integer(2)),
                SnmpError::WrongValue,
            ),
            (
                set(&[1, 2, 5, 0], Value::Integer(-1)),
                SnmpError::WrongValue,
            ),
            // hashsize below the module's minimum.
            (set(&[1, 2, 2, 0], Value::Integer(3)), SnmpError::WrongValue),
            (
                set(&[1, 2, 9, 0], Value::OctetString(b"sometimes:3".to_vec())),
                SnmpError::WrongValue,
            ),
            (
                set(
                    &[1, 2, 8, 0],
                    Value::OctetString(b"10.0.0.0/40=24".to_vec()),
                ),
                SnmpError::WrongValue,
            ),
            (
                set(&[1, 2, 11, 0], Value::Integer(1)),
                SnmpError::NoCreation,
            ),
            (
                set(&[1, 2, 4, 1], Value::Integer(60)),
                SnmpError::NoCreation,
            ),
            (
                set(&[1, 1, 5, 0], Value::Integer(1)),
                SnmpError::NotWritable,
            ),
            (
                set(&[2, 1, 3, 0], Value::Counter64(1)),
                SnmpError::NotWritable,
            ),
            (set(&[9], Value::Integer(1)), SnmpError::NotWritable),
        ];
        for (bad, err) in cases {
            let r = SetTransaction::test(&mut c, &[good.clone(), bad.clone()]);
            assert_eq!(r.err(), Some((err, 2)), "{bad:?}");
        }
        assert!(c.writes.is_empty());
        let mut gone = Captured::default();
        assert_eq!(
            SetTransaction::test(&mut gone, &[good]).err(),
            Some((SnmpError::NoCreation, 1))
        );
    }

    #[test]
    fn a_refused_commit_puts_back_what_it_wrote() {
        let mut c = loaded();
        c.refuse = Some("hashsize");
        let vbs = [
            set(&[1, 2, 4, 0], Value::Integer(60)),
            set(&[1, 2, 2, 0], Value::Integer(1 << 24)),
        ];
        let mut t = SetTransaction::test(&mut c, &vbs).unwrap();
        assert_eq!(t.commit(&mut c), Err((SnmpError::CommitFailed, 2)));
        assert_eq!(c.sysctl("active_timeout").unwrap(), "1800\n");
        assert_eq!(c.sysctl("hashsize").unwrap(), "8192\n");
    }

    #[test]
    fn a_commit_that_cannot_put_back_says_undo_failed() {
        let mut c = loaded();
        c.writes_left = Some(1);
        let vbs = [
            set(&[1, 2, 4, 0], Value::Integer(60)),
            set(&[1, 2, 5, 0], Value::Integer(30)),
        ];
        let mut t = SetTransaction::test(&mut c, &vbs).unwrap();
        assert_eq!(t.commit(&mut c), Err((SnmpError::UndoFailed, 1)));
        assert_eq!(c.sysctl("active_timeout").unwrap(), "60\n");
        assert_eq!(c.sysctl("inactive_timeout").unwrap(), "15\n");
    }
}
