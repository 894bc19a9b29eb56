//! An in-place heap sort for the scanner's cross-CPU merge.
//!
//! `core`'s `sort_unstable_by` ends its quicksort in a call to
//! `panic_on_ord_violation`, which the objtool of Debian's 7.3 kernel does
//! not know to be `noreturn`: built with Debian's rustc 1.85.1, the module
//! then draws a "falls through to next function" warning. A heap sort needs
//! no such check (an inconsistent order only gives an unsorted result), no
//! allocation and no recursion, and is O(n log n) in the worst case.

use core::cmp::Ordering;

/// Sorts `v` in place by `cmp` (not stable).
pub fn heap_sort_by<T, F: FnMut(&T, &T) -> Ordering>(v: &mut [T], mut cmp: F) {
    let n = v.len();
    // Build a max-heap: sift down every inner node, last first.
    for start in (0..n / 2).rev() {
        sift_down(v, start, n, &mut cmp);
    }
    // Move the maximum behind the shrinking heap.
    for end in (1..n).rev() {
        v.swap(0, end);
        sift_down(v, 0, end, &mut cmp);
    }
}

/// Restores the heap order of `v[..end]` below `root`.
fn sift_down<T, F: FnMut(&T, &T) -> Ordering>(
    v: &mut [T],
    mut root: usize,
    end: usize,
    cmp: &mut F,
) {
    loop {
        let left = 2 * root + 1;
        if left >= end {
            return;
        }
        let right = left + 1;
        let child = match (v.get(left), v.get(right)) {
            (Some(l), Some(r)) if right < end && cmp(l, r) == Ordering::Less => right,
            _ => left,
        };
        match (v.get(root), v.get(child)) {
            (Some(r), Some(c)) if cmp(r, c) == Ordering::Less => {}
            _ => return,
        }
        v.swap(root, child);
        root = child;
    }
}

#[cfg(test)]
mod tests {
    use super::heap_sort_by;
    use std::vec::Vec;

    fn sorted(mut v: Vec<u32>) -> Vec<u32> {
        heap_sort_by(&mut v, |a, b| a.cmp(b));
        v
    }

    #[test]
    fn small_inputs() {
        assert_eq!(sorted(Vec::new()), Vec::<u32>::new());
        assert_eq!(sorted(std::vec![7]), std::vec![7]);
        assert_eq!(sorted(std::vec![2, 1]), std::vec![1, 2]);
        assert_eq!(sorted(std::vec![3, 1, 2, 3, 1]), std::vec![1, 1, 2, 3, 3]);
    }

    #[test]
    fn agrees_with_std_sort() {
        // A simple LCG: varied lengths, many duplicates.
        let mut x: u64 = 12345;
        for len in 0..300 {
            let v: Vec<u32> = (0..len)
                .map(|_| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (x >> 33) as u32 % 50
                })
                .collect();
            let mut want = v.clone();
            want.sort();
            assert_eq!(sorted(v), want, "length {len}");
        }
    }

    #[test]
    fn descending_by_a_key() {
        let mut v: Vec<(u32, u32)> = (0..100).map(|i| (i % 7, i)).collect();
        heap_sort_by(&mut v, |a, b| b.0.cmp(&a.0));
        assert!(v.windows(2).all(|w| w[0].0 >= w[1].0));
        assert_eq!(v.len(), 100);
    }

    #[test]
    fn an_inconsistent_order_does_not_panic() {
        let mut v: Vec<u32> = (0..64).collect();
        let mut flip = false;
        heap_sort_by(&mut v, |_, _| {
            flip = !flip;
            if flip {
                core::cmp::Ordering::Less
            } else {
                core::cmp::Ordering::Greater
            }
        });
        let mut all = v.clone();
        all.sort();
        assert_eq!(all, (0..64).collect::<Vec<u32>>());
    }
}
