// SPDX-License-Identifier: GPL-2.0-only
//! Feeds bytes to the conntrack event decoder as one received skb: it must
//! never panic or read past the buffer, must count every message it walks
//! exactly once and hand the sink exactly the events it counts.
//!
//! Input: a mode byte, then the bytes. With the mode's top bit clear, the
//! bytes are the whole skb. With it set, they are the attributes of one
//! AF_INET ctnetlink message whose header is written here with the right
//! length, so the fuzzer spends its time inside the message rather than
//! breaking the framing: the mode's low two bits pick a create (0), a
//! delete (1), an update (2) or a raw type taken from the next two bytes (3).
#![no_main]

use ipt_netflow::meter::ctnetlink::{
    decode, event_kind, DecodeCounts, Messages, AF_INET, IPCTNL_MSG_CT_DELETE, IPCTNL_MSG_CT_NEW,
    NFNL_SUBSYS_CTNETLINK, NLMSG_HDRLEN, NLM_F_CREATE,
};
use ipt_netflow::meter::nat_event::NatEvent;
use libfuzzer_sys::fuzz_target;

const FALLBACK_MS: u64 = u64::MAX;

/// One ctnetlink message around `attrs`, with its header in host order.
fn wrap(kind: u16, flags: u16, attrs: &[u8]) -> Vec<u8> {
    let Ok(len) = u32::try_from(NLMSG_HDRLEN + 4 + attrs.len()) else {
        return Vec::new();
    };
    let mut m = Vec::with_capacity(len as usize);
    m.extend_from_slice(&len.to_ne_bytes());
    m.extend_from_slice(&kind.to_ne_bytes());
    m.extend_from_slice(&flags.to_ne_bytes());
    m.extend_from_slice(&[0; 8]);
    m.extend_from_slice(&[AF_INET, 0, 0, 0]);
    m.extend_from_slice(attrs);
    m
}

fn check(bytes: &[u8]) -> (DecodeCounts, Vec<NatEvent>) {
    let mut events = Vec::new();
    let counts = decode(bytes, FALLBACK_MS, |e| events.push(e));
    assert_eq!(counts.events as usize, events.len());
    let walked = Messages::new(bytes).count();
    assert_eq!(
        (counts.events + counts.skipped + counts.malformed) as usize,
        walked
    );
    for e in &events {
        // A timestamp in ns becomes at most u64::MAX / 10^6 ms.
        assert!(e.epoch_ms == FALLBACK_MS || e.epoch_ms <= u64::MAX / 1_000_000);
    }
    // Same bytes, same result.
    let mut again = Vec::new();
    assert_eq!(decode(bytes, FALLBACK_MS, |e| again.push(e)), counts);
    assert_eq!(again, events);
    (counts, events)
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 0x80 == 0 {
        check(rest);
        return;
    }
    let ct = |op| u16::from_be_bytes([NFNL_SUBSYS_CTNETLINK, op]);
    let (kind, flags, attrs) = match mode & 3 {
        0 => (ct(IPCTNL_MSG_CT_NEW), NLM_F_CREATE, rest),
        1 => (ct(IPCTNL_MSG_CT_DELETE), 0, rest),
        2 => (ct(IPCTNL_MSG_CT_NEW), 0, rest),
        _ => match rest {
            [a, b, attrs @ ..] => (u16::from_be_bytes([*a, *b]), NLM_F_CREATE, attrs),
            _ => return,
        },
    };
    let bytes = wrap(kind, flags, attrs);
    if bytes.is_empty() {
        return;
    }
    let (counts, events) = check(&bytes);
    assert_eq!(counts.events + counts.skipped + counts.malformed, 1);
    match event_kind(kind, flags) {
        None => assert_eq!(counts.skipped, 1),
        Some(want) => assert!(events.iter().all(|e| e.kind == want)),
    }
});
