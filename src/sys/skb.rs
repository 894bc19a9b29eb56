//! A bounds-checked view of an `sk_buff` from its network header on.

use super::bindings;
use crate::meter::packet::PacketBytes;

/// The bytes of a socket buffer from the network header to its end, read
/// like `skb_header_pointer`: straight from the linear area when the range is
/// there, through `skb_copy_bits` when it reaches into page fragments, and
/// never past the end.
pub struct SkbView {
    skb: *const bindings::sk_buff,
    raw: bindings::nf_skb_view,
}

impl SkbView {
    /// Takes the view of `skb`.
    ///
    /// # Safety
    ///
    /// `skb` must be a valid socket buffer that nobody modifies while the
    /// view lives (true for the skb handed to an xtables target).
    #[inline]
    pub unsafe fn new(skb: *const bindings::sk_buff) -> Self {
        let mut raw = bindings::nf_skb_view::default();
        // SAFETY: `skb` is valid per the caller; `raw` is a valid out-pointer.
        unsafe { bindings::nf_skb_view(skb, &mut raw) };
        Self { skb, raw }
    }

    /// `skb->len`: the whole buffer's length, counted for dropped packets.
    pub fn skb_len(&self) -> u32 {
        self.raw.skb_len
    }
}

impl PacketBytes for SkbView {
    fn len(&self) -> usize {
        self.raw.total as usize
    }

    #[inline]
    fn read(&self, offset: usize, out: &mut [u8]) -> bool {
        let Some(end) = offset.checked_add(out.len()) else {
            return false;
        };
        if end <= self.raw.linear as usize {
            // SAFETY: `network + offset .. network + end` lies inside the
            // linear area, which holds `linear` readable bytes from `network`.
            let src = unsafe { core::slice::from_raw_parts(self.raw.network.add(offset), out.len()) };
            out.copy_from_slice(src);
            return true;
        }
        if end > self.raw.total as usize {
            return false;
        }
        let Ok(from) = i32::try_from(offset).map(|o| o + self.raw.offset) else {
            return false;
        };
        // SAFETY: the range is inside skb->len (checked above) and `out` is a
        // writable buffer of exactly the requested length.
        let err = unsafe {
            bindings::skb_copy_bits(self.skb, from, out.as_mut_ptr().cast(), out.len() as i32)
        };
        err == 0
    }
}
