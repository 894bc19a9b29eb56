// SPDX-License-Identifier: GPL-2.0-only
//! Feeds bytes to the SNMP agent's two decoders: what the master agent
//! sends (AgentX PDUs) and what the module writes (ipt_netflow_snmp).
//! Neither may panic or read past its input; a TestSet that decodes must
//! encode back to the same variables.
//!
//! Input: a mode byte, then the bytes. Mode bit 0 clear: an AgentX header
//! (the first 20 bytes) and its payload (the rest, cut to the header's
//! length). Set: the text of ipt_netflow_snmp, every value of which is then
//! read as each SNMP type.
#![no_main]

use ipt_netflow_snmp_agent::agentx::{self, Header, Request, SnmpError, HEADER_LEN};
use ipt_netflow_snmp_agent::mib::Syntax;
use ipt_netflow_snmp_agent::stats::Stats;
use ipt_netflow_snmp_agent::values;
use libfuzzer_sys::fuzz_target;

const SYNTAXES: [Syntax; 7] = [
    Syntax::Integer,
    Syntax::Text,
    Syntax::DateAndTime,
    Syntax::Counter32,
    Syntax::Gauge32,
    Syntax::FixedDiv100,
    Syntax::Counter64,
];

fn pdu(bytes: &[u8]) {
    let mut head = [0u8; HEADER_LEN];
    let n = bytes.len().min(HEADER_LEN);
    head[..n].copy_from_slice(&bytes[..n]);
    let Ok((h, len)) = agentx::decode_header(&head) else {
        return;
    };
    let payload = &bytes[n..];
    let payload = &payload[..payload.len().min(len)];
    let Ok(Request::TestSet(vbs)) = agentx::decode_payload(&h, payload) else {
        return;
    };
    // A response carries the variables after sysUpTime, error and index.
    let again = agentx::response(&h, SnmpError::NoError, 0, &vbs);
    let big = Header { flags: 1 << 4, ..h };
    let back = agentx::decode_payload(&big, &again[HEADER_LEN + 8..]);
    assert_eq!(back, Ok(Request::TestSet(vbs)));
}

fn text(bytes: &[u8]) {
    let s = Stats::parse(&String::from_utf8_lossy(bytes));
    let fields = s.totals.iter().map(|(_, v)| v);
    let rows = s.cpus.iter().chain(&s.socks).flat_map(|(_, f)| f);
    for f in fields.chain(rows) {
        for syntax in SYNTAXES {
            let _ = values::from_text(syntax, f);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        pdu(rest);
    } else {
        text(rest);
    }
});
