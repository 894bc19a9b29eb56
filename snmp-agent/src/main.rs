// SPDX-License-Identifier: GPL-2.0-only
//! `ipt-netflow-snmp-agent`: serves IPT-NETFLOW-MIB through snmpd as an
//! AgentX subagent (RFC 2741).
//!
//! It connects to the master agent's socket, registers the MIB's subtree
//! and answers the master's requests from what the module publishes. A
//! fault here cannot take snmpd down (it is another process), and when
//! snmpd restarts or the module is unloaded the agent carries on by itself:
//! it reconnects, and objects simply vanish while the module is away.

use ipt_netflow_snmp_agent::agentx::{self, Header, Request, SnmpError, HEADER_LEN};
use ipt_netflow_snmp_agent::mib;
use ipt_netflow_snmp_agent::system::System;
use ipt_netflow_snmp_agent::view::{self, SetTransaction};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::process::ExitCode;
use std::time::Duration;

/// net-snmp's default AgentX socket.
const DEFAULT_SOCKET: &str = "/var/agentx/master";
/// Seconds the master waits for our answers before giving up on one.
const TIMEOUT_S: u8 = 5;
/// Pause between attempts to reach the master agent.
const RETRY: Duration = Duration::from_secs(2);

const USAGE: &str = "\
Usage: ipt-netflow-snmp-agent [-x ADDRESS] [-v]
Serves IPT-NETFLOW-MIB (ipt_NETFLOW's statistics and settings) through
snmpd, as an AgentX subagent. snmpd.conf needs `master agentx`.

  -x, --agentx-socket ADDRESS  the master's AgentX socket: a Unix socket
                               path (default /var/agentx/master) or
                               tcp:HOST:PORT
  -r, --root DIR               read the module's files under DIR instead
                               of / (for tests with captured files)
  -v, --verbose                log every request on stderr
  -V, --version                print the version and exit
  -h, --help                   print this help and exit
";

trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

struct Options {
    socket: String,
    root: String,
    verbose: bool,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Options>, String> {
    let mut o = Options {
        socket: DEFAULT_SOCKET.to_string(),
        root: "/".to_string(),
        verbose: false,
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "-x" | "--agentx-socket" => {
                o.socket = args.next().ok_or(format!("{a} needs an address"))?
            }
            s if s.starts_with("--agentx-socket=") => {
                o.socket = s["--agentx-socket=".len()..].to_string()
            }
            "-r" | "--root" => o.root = args.next().ok_or(format!("{a} needs a directory"))?,
            "-v" | "--verbose" => o.verbose = true,
            "-V" | "--version" => {
                println!("ipt-netflow-snmp-agent {}", env!("CARGO_PKG_VERSION"));
                return Ok(None);
            }
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(None);
            }
            _ => return Err(format!("unknown argument '{a}'")),
        }
    }
    Ok(Some(o))
}

fn connect(address: &str) -> io::Result<Box<dyn Stream>> {
    Ok(match address.strip_prefix("tcp:") {
        Some(hostport) => Box::new(TcpStream::connect(hostport)?),
        None => Box::new(UnixStream::connect(address)?),
    })
}

fn main() -> ExitCode {
    let o = match parse_args(std::env::args().skip(1)) {
        Ok(Some(o)) => o,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ipt-netflow-snmp-agent: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut src = System::new(&o.root);
    let mut last_error = String::new();
    loop {
        let result = connect(&o.socket).and_then(|s| Session::new(s, o.verbose).serve(&mut src));
        // Log a failure once, not at every retry.
        let e = match result {
            Ok(()) => "the master agent closed the session".to_string(),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                "the master agent went away".to_string()
            }
            Err(e) => format!("{}: {e}", o.socket),
        };
        if e != last_error {
            eprintln!(
                "ipt-netflow-snmp-agent: {e}; retrying every {} s",
                RETRY.as_secs()
            );
            last_error = e;
        }
        std::thread::sleep(RETRY);
    }
}

/// One AgentX session with the master agent.
struct Session {
    stream: Box<dyn Stream>,
    verbose: bool,
    session_id: u32,
    packet_id: u32,
    set: Option<SetTransaction>,
}

impl Session {
    fn new(stream: Box<dyn Stream>, verbose: bool) -> Self {
        Session {
            stream,
            verbose,
            session_id: 0,
            packet_id: 0,
            set: None,
        }
    }

    fn read_pdu(&mut self) -> io::Result<(Header, Result<Request, agentx::DecodeError>)> {
        let mut head = [0u8; HEADER_LEN];
        self.stream.read_exact(&mut head)?;
        let (h, len) = agentx::decode_header(&head)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        let mut payload = vec![0u8; len];
        self.stream.read_exact(&mut payload)?;
        Ok((h, agentx::decode_payload(&h, &payload)))
    }

    /// Sends `pdu` and waits for the master's response to it.
    fn call(&mut self, pdu: impl FnOnce(u32, u32) -> Vec<u8>) -> io::Result<Header> {
        self.packet_id += 1;
        let id = self.packet_id;
        self.stream.write_all(&pdu(self.session_id, id))?;
        loop {
            let (h, r) = self.read_pdu()?;
            match r {
                Ok(Request::Response { error, .. }) if h.packet_id == id => {
                    if error != 0 {
                        return Err(io::Error::other(format!(
                            "the master agent answered error {error}"
                        )));
                    }
                    return Ok(h);
                }
                _ => continue,
            }
        }
    }

    fn serve(mut self, src: &mut System) -> io::Result<()> {
        let descr = "ipt_NETFLOW: IPT-NETFLOW-MIB";
        let h = self.call(|_, id| agentx::open(id, TIMEOUT_S, &mib::ROOT, descr))?;
        self.session_id = h.session_id;
        self.call(|session, id| agentx::register(session, id, &mib::ROOT))?;
        eprintln!(
            "ipt-netflow-snmp-agent: serving IPT-NETFLOW-MIB (session {})",
            self.session_id
        );
        loop {
            let (h, request) = self.read_pdu()?;
            let request = match request {
                Ok(r) => r,
                Err(e) => {
                    // A PDU we cannot read: say so and start a new session
                    // rather than guess at the stream's framing.
                    eprintln!("ipt-netflow-snmp-agent: malformed PDU from the master agent: {e}");
                    self.stream
                        .write_all(&agentx::close(self.session_id, 0, 2))?;
                    return Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string()));
                }
            };
            if self.verbose {
                eprintln!("ipt-netflow-snmp-agent: {request:?}");
            }
            let answer = match request {
                Request::Get(ranges) => {
                    let all = view::instances(src);
                    let vbs: Vec<_> = ranges.iter().map(|r| view::get(&all, &r.start)).collect();
                    agentx::response(&h, SnmpError::NoError, 0, &vbs)
                }
                Request::GetNext(ranges) => {
                    let all = view::instances(src);
                    let vbs: Vec<_> = ranges.iter().map(|r| view::get_next(&all, r)).collect();
                    agentx::response(&h, SnmpError::NoError, 0, &vbs)
                }
                Request::GetBulk {
                    non_repeaters,
                    max_repetitions,
                    ranges,
                } => {
                    let all = view::instances(src);
                    let vbs = view::get_bulk(&all, non_repeaters, max_repetitions, &ranges);
                    agentx::response(&h, SnmpError::NoError, 0, &vbs)
                }
                Request::TestSet(vbs) => {
                    let (error, index) = match SetTransaction::test(src, &vbs) {
                        Ok(t) => {
                            self.set = Some(t);
                            (SnmpError::NoError, 0)
                        }
                        Err(e) => e,
                    };
                    agentx::response(&h, error, index, &[])
                }
                Request::CommitSet => {
                    let r = self
                        .set
                        .as_mut()
                        .map_or(Err((SnmpError::GenErr, 0)), |t| t.commit(src));
                    let (error, index) = r.err().unwrap_or((SnmpError::NoError, 0));
                    agentx::response(&h, error, index, &[])
                }
                Request::UndoSet => {
                    let r = self.set.as_mut().map_or(Ok(()), |t| t.undo(src));
                    let (error, index) = r.err().unwrap_or((SnmpError::NoError, 0));
                    agentx::response(&h, error, index, &[])
                }
                Request::CleanupSet => {
                    self.set = None;
                    continue;
                }
                Request::Close(_) => return Ok(()),
                Request::Response { .. } => continue,
            };
            self.stream.write_all(&answer)?;
        }
    }
}
