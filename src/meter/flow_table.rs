// SPDX-License-Identifier: GPL-2.0-only
//! One CPU's flow table: hash buckets for lookup plus a recency (LRU) list
//! for expiry, both threaded through the flow records themselves.
//!
//! The table does not allocate: bucket arrays and flow records come from the
//! caller (the kernel glue uses vmalloc and the `ipt_netflow` slab cache;
//! tests use Vec and Box), which also frees what the table gives back. It is
//! not synchronised either: the glue holds the owning CPU's lock around every
//! call.
//!
//! Records move between the table, the lists and their owner as
//! [`OwnedFlow`]s, so the callers never touch a raw link; the `unsafe`
//! stays in this file.
//!
//! Invariants, relied on by every `unsafe` block below:
//! - every flow reachable from a bucket is on the LRU list and vice versa,
//!   `len` counts them, and each is a live allocation the caller handed to
//!   [`FlowTable::insert`];
//! - a flow is on the chain of the bucket its `hash` selects (chains are
//!   singly linked: a flow record spends no memory on a back link, and
//!   unlinking walks the chain, which holds about one flow);
//! - the LRU list runs from `lru_head` (most recent) to `lru_tail` (least).

use super::flow::Flow;
use super::flow_hash::bucket_index;
use super::flow_key::FlowKey;
use core::ops::{Deref, DerefMut};
use core::ptr::{null_mut, NonNull};

/// The smallest `hashsize` (buckets over all CPUs) the module takes, as
/// the original: a smaller value at load is raised to it, a sysctl write
/// below it refused.
pub const MIN_HASHSIZE: u32 = 256;

/// A flow record in no table or list: whoever holds it owns it, and must
/// give it back to the allocator it came from (dropping it leaks it).
///
/// # Invariants
///
/// `ptr` is a live record that nothing else refers to.
#[must_use]
pub struct OwnedFlow(NonNull<Flow>);

// SAFETY: the record is owned exclusively, so it may move with its owner;
// the links it holds are cleared or unused while it is owned.
unsafe impl Send for OwnedFlow {}

impl OwnedFlow {
    /// Takes ownership of a record.
    ///
    /// # Safety
    ///
    /// `ptr` must be a live record in no table or list, that nothing else
    /// refers to (a fresh allocation, typically).
    #[inline(always)]
    pub unsafe fn from_raw(ptr: NonNull<Flow>) -> Self {
        // INVARIANT: the caller's guarantee.
        OwnedFlow(ptr)
    }

    /// Gives up ownership, to free the record.
    #[inline(always)]
    pub fn into_raw(self) -> NonNull<Flow> {
        self.0
    }
}

impl Deref for OwnedFlow {
    type Target = Flow;

    #[inline(always)]
    fn deref(&self) -> &Flow {
        // SAFETY: live and ours alone (type invariants).
        unsafe { self.0.as_ref() }
    }
}

impl DerefMut for OwnedFlow {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut Flow {
        // SAFETY: live and ours alone (type invariants); `&mut self` makes
        // this the only borrow.
        unsafe { self.0.as_mut() }
    }
}

/// A flow found in a table, with the table borrowed: it can be updated,
/// marked as just used or taken out.
///
/// # Invariants
///
/// `flow` is in `table`.
pub struct Entry<'a> {
    table: &'a mut FlowTable,
    flow: NonNull<Flow>,
}

impl Entry<'_> {
    /// The flow's record.
    #[inline(always)]
    pub fn flow(&mut self) -> &mut Flow {
        // SAFETY: a live flow of the table (type invariants), which is
        // borrowed mutably, so no other reference reaches it.
        unsafe { self.flow.as_mut() }
    }

    /// Marks the flow as just used: it moves to the head of the LRU list.
    #[inline(always)]
    pub fn touch(self) {
        // SAFETY: in the table (type invariants).
        unsafe { self.table.touch_raw(self.flow) }
    }

    /// Takes the flow out of the table.
    #[inline]
    pub fn remove(self) -> OwnedFlow {
        // SAFETY: in the table (type invariants).
        unsafe { self.table.remove_raw(self.flow) };
        // SAFETY: out of the table now, so referred to by nothing else.
        unsafe { OwnedFlow::from_raw(self.flow) }
    }
}

/// A CPU's flows, reachable by key and in recency order.
///
/// # Invariants
///
/// Those of the module documentation above; `buckets` points to
/// `nbuckets` slots that the owner keeps alive (see [`FlowTable::new`]).
pub struct FlowTable {
    buckets: *mut *mut Flow,
    nbuckets: u32,
    lru_head: *mut Flow,
    lru_tail: *mut Flow,
    len: usize,
}

// SAFETY: the table is a set of raw links into memory the owner manages;
// the owner serialises all access (one lock per table).
unsafe impl Send for FlowTable {}

impl FlowTable {
    /// A table with `nbuckets` buckets at `buckets`.
    ///
    /// # Safety
    ///
    /// `buckets` must point to `nbuckets` (at least one) null pointers and
    /// stay valid and unaliased until replaced by [`FlowTable::rehash`] or
    /// until the table is no longer used.
    pub unsafe fn new(buckets: *mut *mut Flow, nbuckets: u32) -> Self {
        debug_assert!(nbuckets > 0 && !buckets.is_null());
        FlowTable {
            buckets,
            nbuckets,
            lru_head: null_mut(),
            lru_tail: null_mut(),
            len: 0,
        }
    }

    /// Number of flows in the table.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the table holds no flow.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of buckets.
    pub fn nbuckets(&self) -> u32 {
        self.nbuckets
    }

    fn slot(&self, hash: u32) -> *mut *mut Flow {
        // SAFETY: bucket_index is below nbuckets, the array's length.
        unsafe { self.buckets.add(bucket_index(hash, self.nbuckets)) }
    }

    /// The flow with `key`. `searched` counts the other flows looked at on
    /// the way (the hash metric's numerator).
    #[inline]
    pub fn find(&self, key: &FlowKey, hash: u32, searched: &mut u32) -> Option<&Flow> {
        self.find_raw(key, hash, searched).map(|f| {
            // SAFETY: a live flow of this table, borrowed with the table.
            unsafe { &*f.as_ptr() }
        })
    }

    /// [`FlowTable::find`] for changing the record.
    #[inline]
    pub fn find_mut(&mut self, key: &FlowKey, hash: u32, searched: &mut u32) -> Option<&mut Flow> {
        self.find_raw(key, hash, searched).map(|f| {
            // SAFETY: a live flow of this table, borrowed mutably with it.
            unsafe { &mut *f.as_ptr() }
        })
    }

    /// The flow with `key`, as an [`Entry`] that can also move or remove it.
    #[inline(always)]
    pub fn entry(&mut self, key: &FlowKey, hash: u32, searched: &mut u32) -> Option<Entry<'_>> {
        let flow = self.find_raw(key, hash, searched)?;
        // INVARIANT: found in this table.
        Some(Entry { table: self, flow })
    }

    #[inline(always)]
    fn find_raw(&self, key: &FlowKey, hash: u32, searched: &mut u32) -> Option<NonNull<Flow>> {
        // SAFETY: the slot and every chained flow are live (invariants).
        let mut cur = unsafe { *self.slot(hash) };
        while let Some(f) = NonNull::new(cur) {
            // SAFETY: `f` is a live flow of this table.
            let flow = unsafe { f.as_ref() };
            if flow.hash == hash && flow.key == *key {
                return Some(f);
            }
            *searched += 1;
            cur = flow.hash_next;
        }
        None
    }

    /// Adds a flow (with its `hash` set) as the most recent one.
    pub fn insert(&mut self, flow: OwnedFlow) {
        let f = flow.into_raw().as_ptr();
        // SAFETY: `f` is live, in no chain or list, and the table's from
        // now on (it was owned).
        unsafe {
            self.chain_push(f);
            self.lru_push_head(f);
        }
        self.len += 1;
    }

    /// Moves a flow to the head of the LRU list.
    ///
    /// # Safety
    ///
    /// `flow` must be in this table.
    #[inline]
    unsafe fn touch_raw(&mut self, flow: NonNull<Flow>) {
        let f = flow.as_ptr();
        let head = self.lru_head;
        if head == f {
            return;
        }
        // SAFETY: `f` is in this table (caller's guarantee), so on its LRU
        // list, and not its head: it has a previous flow, and the head is
        // a live flow other than `f`. Every flow on the list is live. Only
        // the links that change are written (the packet path moves a flow
        // on every packet that finds it).
        unsafe {
            let (prev, next) = ((*f).lru_prev, (*f).lru_next);
            (*prev).lru_next = next;
            match NonNull::new(next) {
                Some(n) => (*n.as_ptr()).lru_prev = prev,
                None => self.lru_tail = prev,
            }
            (*f).lru_prev = null_mut();
            (*f).lru_next = head;
            (*head).lru_prev = f;
        }
        self.lru_head = f;
    }

    /// Takes a flow out of the table.
    ///
    /// # Safety
    ///
    /// `flow` must be in this table.
    unsafe fn remove_raw(&mut self, flow: NonNull<Flow>) {
        let f = flow.as_ptr();
        // SAFETY: `f` is in the table, so it is on the chain of the slot its
        // hash selects; every flow on that chain is live.
        unsafe {
            let mut link = self.slot((*f).hash);
            while !(*link).is_null() && *link != f {
                link = &raw mut (**link).hash_next;
            }
            if *link == f {
                *link = (*f).hash_next;
            }
            (*f).hash_next = null_mut();
            self.lru_unlink(f);
        }
        self.len -= 1;
    }

    /// Removes and returns the least recently used flow if `due` says it
    /// must go; `None` when the table is empty or the oldest flow stays
    /// (and, the list being in recency order, so do all others).
    pub fn pop_oldest_if(&mut self, due: impl FnOnce(&mut Flow) -> bool) -> Option<OwnedFlow> {
        let f = NonNull::new(self.lru_tail)?;
        // SAFETY: `f` is a live flow of this table and we hold `&mut self`.
        if due(unsafe { &mut *f.as_ptr() }) {
            // INVARIANT: `f` is in this table.
            Some(
                Entry {
                    table: self,
                    flow: f,
                }
                .remove(),
            )
        } else {
            None
        }
    }

    /// Moves every flow into a new bucket array and returns the old one.
    /// Lookups find every flow afterwards; recency order is kept.
    ///
    /// # Safety
    ///
    /// As for [`FlowTable::new`]; the old array is the caller's to free.
    pub unsafe fn rehash(
        &mut self,
        buckets: *mut *mut Flow,
        nbuckets: u32,
    ) -> (*mut *mut Flow, u32) {
        let old = (self.buckets, self.nbuckets);
        self.buckets = buckets;
        self.nbuckets = nbuckets;
        // Walk the LRU list from the oldest, inserting at chain heads: each
        // chain then lists its flows most recent first, as before.
        let mut cur = self.lru_tail;
        while let Some(f) = NonNull::new(cur) {
            let f = f.as_ptr();
            // SAFETY: `f` is live; the new slots are valid per the contract.
            unsafe {
                self.chain_push(f);
                cur = (*f).lru_prev;
            }
        }
        old
    }

    /// Calls `f` with each flow in buckets `from..` until `f` returns false
    /// or the buckets end; returns the bucket to continue from next time.
    pub fn visit_buckets(&self, from: u32, mut f: impl FnMut(u32, &Flow) -> bool) -> u32 {
        let mut b = from;
        while b < self.nbuckets {
            // SAFETY: b < nbuckets; chained flows are live.
            let mut cur = unsafe { *self.buckets.add(b as usize) };
            let mut more = true;
            while let Some(flow) = NonNull::new(cur) {
                // SAFETY: a flow on a chain of this table, live (invariants).
                let flow = unsafe { flow.as_ref() };
                more &= f(b, flow);
                cur = flow.hash_next;
            }
            b += 1;
            if !more {
                break;
            }
        }
        b
    }

    /// Puts `f` at the head of its bucket's chain.
    ///
    /// # Safety
    ///
    /// `f` must be live, with `hash` set, and in no chain.
    unsafe fn chain_push(&mut self, f: *mut Flow) {
        // SAFETY: `f` is live per the contract; the slot is valid.
        unsafe {
            let slot = self.slot((*f).hash);
            (*f).hash_next = *slot;
            *slot = f;
        }
    }

    /// Puts `f` at the head of the LRU list.
    ///
    /// # Safety
    ///
    /// `f` must be live and not on the LRU list.
    unsafe fn lru_push_head(&mut self, f: *mut Flow) {
        // SAFETY: `f` and the current head are live.
        unsafe {
            (*f).lru_prev = null_mut();
            (*f).lru_next = self.lru_head;
            match NonNull::new(self.lru_head) {
                Some(h) => (*h.as_ptr()).lru_prev = f,
                None => self.lru_tail = f,
            }
        }
        self.lru_head = f;
    }

    /// Takes `f` off the LRU list.
    ///
    /// # Safety
    ///
    /// `f` must be on the LRU list.
    unsafe fn lru_unlink(&mut self, f: *mut Flow) {
        // SAFETY: `f` and its neighbours are live.
        unsafe {
            let (prev, next) = ((*f).lru_prev, (*f).lru_next);
            match NonNull::new(prev) {
                Some(p) => (*p.as_ptr()).lru_next = next,
                None => self.lru_head = next,
            }
            match NonNull::new(next) {
                Some(n) => (*n.as_ptr()).lru_prev = prev,
                None => self.lru_tail = prev,
            }
            (*f).lru_prev = null_mut();
            (*f).lru_next = null_mut();
        }
    }
}

/// A FIFO of flows that left their table (expired, waiting for export),
/// linked through their `hash_next` field.
///
/// # Invariants
///
/// `head` to `tail` through `hash_next` are `len` live records that the
/// list owns alone (each was an [`OwnedFlow`]); both are null when empty.
pub struct FlowList {
    head: *mut Flow,
    tail: *mut Flow,
    len: usize,
}

// SAFETY: the list owns its flows exclusively; moving it moves them.
unsafe impl Send for FlowList {}

impl Default for FlowList {
    fn default() -> Self {
        Self::new()
    }
}

impl FlowList {
    /// An empty list.
    pub const fn new() -> Self {
        FlowList {
            head: null_mut(),
            tail: null_mut(),
            len: 0,
        }
    }

    /// Number of flows.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends a flow.
    #[inline]
    pub fn push(&mut self, flow: OwnedFlow) {
        let f = flow.into_raw().as_ptr();
        // SAFETY: `f` was owned, so it is live and in no table or list; the
        // tail is a live flow of this list.
        unsafe {
            (*f).hash_next = null_mut();
            match NonNull::new(self.tail) {
                Some(t) => (*t.as_ptr()).hash_next = f,
                None => self.head = f,
            }
        }
        self.tail = f;
        self.len += 1;
    }

    /// Takes the first flow.
    #[inline]
    pub fn pop(&mut self) -> Option<OwnedFlow> {
        let f = NonNull::new(self.head)?;
        // SAFETY: `f` is the head of this list, live (list invariants).
        self.head = unsafe { (*f.as_ptr()).hash_next };
        if self.head.is_null() {
            self.tail = null_mut();
        }
        self.len -= 1;
        // SAFETY: `f` is live (list invariants); it leaves the list.
        unsafe { (*f.as_ptr()).hash_next = null_mut() };
        // SAFETY: out of the list, which was the only thing referring to it.
        Some(unsafe { OwnedFlow::from_raw(f) })
    }

    /// The CPUs that metered the flows, in list order.
    pub fn cpus(&self) -> impl Iterator<Item = u16> + '_ {
        let mut at = self.head;
        core::iter::from_fn(move || {
            let f = NonNull::new(at)?;
            // SAFETY: `f` is a flow of this list, live while the list is
            // borrowed (list invariants).
            let f = unsafe { f.as_ref() };
            at = f.hash_next;
            Some(f.cpu)
        })
    }

    /// Calls `f` on every flow, in list order.
    pub fn for_each_mut(&mut self, mut f: impl FnMut(&mut Flow)) {
        let mut at = self.head;
        while let Some(p) = NonNull::new(at) {
            // SAFETY: `p` is a flow of this list, live, and reached only
            // through the list, which `&mut self` borrows (list invariants).
            // The link is read before `f` runs; `f` cannot change it, as
            // only this module writes `hash_next` (as for the table's
            // `find_mut`).
            let flow = unsafe { &mut *p.as_ptr() };
            at = flow.hash_next;
            f(flow);
        }
    }

    /// Keeps the flows for which `keep` is true, in their order, and hands
    /// the others to `gone`.
    pub fn retain(&mut self, mut keep: impl FnMut(&Flow) -> bool, mut gone: impl FnMut(OwnedFlow)) {
        let mut rest = core::mem::take(self);
        while let Some(f) = rest.pop() {
            if keep(&f) {
                self.push(f);
            } else {
                gone(f);
            }
        }
    }

    /// Moves every flow of `other` to the end of this list.
    pub fn append(&mut self, other: &mut FlowList) {
        let Some(h) = NonNull::new(other.head) else {
            return;
        };
        match NonNull::new(self.tail) {
            // SAFETY: the tail of this list is live (list invariants).
            Some(t) => unsafe { (*t.as_ptr()).hash_next = h.as_ptr() },
            None => self.head = h.as_ptr(),
        }
        self.tail = other.tail;
        self.len += other.len;
        *other = FlowList::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meter::flow::FirstPacket;
    use crate::meter::flow_hash::{flow_hash, HashSeed};
    use crate::meter::flow_key::PacketInfo;
    use proptest::prelude::*;
    use std::boxed::Box;
    use std::vec::Vec;

    const SEED: HashSeed = HashSeed([7, 11, 13, 17]);

    /// A table with its storage, freeing everything on drop.
    struct Harness {
        table: FlowTable,
        buckets: Vec<*mut Flow>,
        out: Vec<OwnedFlow>,
    }

    impl Harness {
        fn new(n: u32) -> Self {
            let mut buckets = std::vec![null_mut(); n as usize];
            // SAFETY: n zeroed slots, kept alive in `buckets`.
            let table = unsafe { FlowTable::new(buckets.as_mut_ptr(), n) };
            Harness {
                table,
                buckets,
                out: Vec::new(),
            }
        }

        fn key(port: u16) -> FlowKey {
            FlowKey {
                ip_version: 4,
                d_port: port,
                ..Default::default()
            }
        }

        fn insert(&mut self, port: u16, now: u64) {
            let info = PacketInfo {
                key: Self::key(port),
                ..Default::default()
            };
            let hash = flow_hash(&info.key, &SEED);
            let flow = Box::new(Flow::new(&info, hash, now, FirstPacket::default()));
            // SAFETY: a fresh live record, referred to by nothing else.
            self.table
                .insert(unsafe { OwnedFlow::from_raw(NonNull::from(Box::leak(flow))) });
        }

        fn find(&self, port: u16) -> Option<&Flow> {
            let key = Self::key(port);
            self.table.find(&key, flow_hash(&key, &SEED), &mut 0)
        }

        fn entry(&mut self, port: u16) -> Option<Entry<'_>> {
            let key = Self::key(port);
            self.table.entry(&key, flow_hash(&key, &SEED), &mut 0)
        }

        fn rehash(&mut self, n: u32) {
            let mut new = std::vec![null_mut(); n as usize];
            // SAFETY: fresh zeroed array kept alive in self.buckets.
            unsafe { self.table.rehash(new.as_mut_ptr(), n) };
            self.buckets = new;
        }

        fn lru_ports(&self) -> Vec<u16> {
            let mut v = Vec::new();
            let mut cur = self.table.lru_head;
            while let Some(f) = NonNull::new(cur) {
                // SAFETY: flows on the table's LRU list are live.
                let f = unsafe { f.as_ref() };
                v.push(f.key.d_port);
                cur = f.lru_next;
            }
            v
        }

        fn bucket_count(&self) -> usize {
            let mut n = 0;
            self.table.visit_buckets(0, |_, _| {
                n += 1;
                true
            });
            n
        }
    }

    impl Drop for Harness {
        fn drop(&mut self) {
            while let Some(f) = self.table.pop_oldest_if(|_| true) {
                self.out.push(f);
            }
            for f in self.out.drain(..) {
                // SAFETY: leaked from a Box in `insert`, out of the table.
                drop(unsafe { Box::from_raw(f.into_raw().as_ptr()) });
            }
        }
    }

    /// A list of records on ports `ports`, metered on CPU `cpu + port % 2`.
    fn list_of(ports: &[u16], cpu: u16) -> FlowList {
        let mut list = FlowList::new();
        for &p in ports {
            let info = PacketInfo {
                key: Harness::key(p),
                ..Default::default()
            };
            let mut flow = Box::new(Flow::new(&info, 0, 0, FirstPacket::default()));
            flow.cpu = cpu + p % 2;
            // SAFETY: a fresh live record, referred to by nothing else.
            list.push(unsafe { OwnedFlow::from_raw(NonNull::from(Box::leak(flow))) });
        }
        list
    }

    fn free_list(mut list: FlowList) -> Vec<u16> {
        let mut ports = Vec::new();
        while let Some(f) = list.pop() {
            ports.push(f.key.d_port);
            // SAFETY: leaked from a Box in `list_of`, out of the list.
            drop(unsafe { Box::from_raw(f.into_raw().as_ptr()) });
        }
        ports
    }

    #[test]
    fn list_walk_edit_and_retain_keep_order() {
        let mut list = list_of(&[1, 2, 3, 4, 5], 4);
        assert_eq!(list.cpus().collect::<Vec<_>>(), [5, 4, 5, 4, 5]);
        list.for_each_mut(|f| f.packets = u32::from(f.key.d_port) * 10);
        let mut gone = Vec::new();
        list.retain(|f| f.packets != 20 && f.packets != 50, |f| gone.push(f));
        assert_eq!(list.len(), 3);
        let mut gone_list = FlowList::new();
        for f in gone {
            gone_list.push(f);
        }
        assert_eq!(free_list(gone_list), [2, 5]);
        // The list still links and ends right: a push after retain lands last.
        let mut more = list_of(&[9], 0);
        list.append(&mut more);
        assert_eq!(free_list(list), [1, 3, 4, 9]);
        assert!(FlowList::new().cpus().next().is_none());
    }

    #[test]
    fn lookup_insert_touch_and_expire_in_lru_order() {
        let mut h = Harness::new(4);
        for p in 1..=5 {
            h.insert(p, u64::from(p));
        }
        assert_eq!(h.table.len(), 5);
        assert_eq!(h.lru_ports(), [5, 4, 3, 2, 1]);
        h.entry(2).unwrap().touch();
        assert_eq!(h.lru_ports(), [2, 5, 4, 3, 1]);
        let oldest = h.table.pop_oldest_if(|f| f.key.d_port == 1).unwrap();
        h.out.push(oldest);
        assert!(h.table.pop_oldest_if(|f| f.key.d_port == 1).is_none());
        assert!(h.find(1).is_none());
        assert!(h.find(3).is_some());
    }

    #[test]
    fn rehash_keeps_every_flow_and_the_order() {
        let mut h = Harness::new(3);
        for p in 0..200 {
            h.insert(p, 0);
        }
        let before = h.lru_ports();
        h.rehash(1024);
        assert_eq!(h.lru_ports(), before);
        assert_eq!(h.bucket_count(), 200);
        assert!((0..200).all(|p| h.find(p).is_some()));
        h.rehash(1);
        assert!((0..200).all(|p| h.find(p).is_some()));
    }

    #[test]
    fn flow_list_is_fifo() {
        let mut h = Harness::new(8);
        for p in 0..4 {
            h.insert(p, 0);
        }
        let mut a = FlowList::new();
        let mut b = FlowList::new();
        for (i, p) in [3u16, 1, 0, 2].iter().enumerate() {
            let f = h.entry(*p).unwrap().remove();
            if i < 2 {
                a.push(f)
            } else {
                b.push(f)
            }
        }
        a.append(&mut b);
        assert!(b.is_empty());
        assert_eq!(a.len(), 4);
        let mut order = Vec::new();
        while let Some(f) = a.pop() {
            order.push(f.key.d_port);
            h.out.push(f);
        }
        assert_eq!(order, [3, 1, 0, 2]);
        assert!(h.table.is_empty());
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u16),
        Touch(u16),
        Remove(u16),
        PopOldest,
        Rehash(u32),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u16..64).prop_map(Op::Insert),
            2 => (0u16..64).prop_map(Op::Touch),
            2 => (0u16..64).prop_map(Op::Remove),
            1 => Just(Op::PopOldest),
            1 => (1u32..70).prop_map(Op::Rehash),
        ]
    }

    proptest! {
        /// The table behaves like a map plus a recency queue, whatever the
        /// sequence of operations.
        #[test]
        fn behaves_like_a_map_with_recency(ops in proptest::collection::vec(op(), 1..200), n in 1u32..16) {
            let mut h = Harness::new(n);
            let mut model: Vec<u16> = Vec::new(); // most recent first
            for op in ops {
                match op {
                    Op::Insert(p) => {
                        if !model.contains(&p) {
                            h.insert(p, 0);
                            model.insert(0, p);
                        }
                    }
                    Op::Touch(p) => {
                        if let Some(e) = h.entry(p) {
                            e.touch();
                            model.retain(|&x| x != p);
                            model.insert(0, p);
                        }
                    }
                    Op::Remove(p) => {
                        if let Some(e) = h.entry(p) {
                            let f = e.remove();
                            h.out.push(f);
                            model.retain(|&x| x != p);
                        }
                    }
                    Op::PopOldest => {
                        let got = h.table.pop_oldest_if(|_| true);
                        prop_assert_eq!(got.is_some(), model.pop().is_some());
                        if let Some(f) = got { h.out.push(f); }
                    }
                    Op::Rehash(m) => h.rehash(m),
                }
                prop_assert_eq!(h.lru_ports(), model.clone());
                prop_assert_eq!(h.table.len(), model.len());
                prop_assert_eq!(h.bucket_count(), model.len());
                for p in 0..64u16 {
                    prop_assert_eq!(h.find(p).is_some(), model.contains(&p));
                }
            }
        }
    }
}
