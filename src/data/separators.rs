//! Where the bytes that end a plain field are, found 64 bytes at a time.
//!
//! Reading a field and then looking at the byte after it to find where the
//! next one starts chains every field of a file to the one before it: each
//! step waits for the digits before it to be counted. Marking the separators
//! of a whole window at once breaks that chain. The position of the next
//! field is then one bit operation away, and the numbers of consecutive
//! fields are read independently of each other, which the processor
//! overlaps.

/// The bytes that end a field of a plain line, or make it not plain.
const SEPARATORS: [u8; 4] = [b',', b'\n', b'\r', b'"'];

/// Width of a window, one bit of a mask per byte.
const WINDOW: usize = 64;

/// The positions of `,`, `\n`, `\r` and `"` in a block, in increasing
/// order.
pub(crate) struct Separators<'a> {
    block: &'a [u8],
    /// Start of the window `mask` describes.
    base: usize,
    /// Bit `i` set: `block[base + i]` is a separator not yet returned.
    mask: u64,
}

impl<'a> Separators<'a> {
    pub(crate) fn new(block: &'a [u8]) -> Separators<'a> {
        Separators {
            block,
            base: 0,
            mask: window_mask(block, 0),
        }
    }

    /// The position of the next separator, or `None` past the last one.
    #[inline(always)]
    pub(crate) fn next_at(&mut self) -> Option<usize> {
        while self.mask == 0 {
            if self.base + WINDOW >= self.block.len() {
                return None;
            }
            self.base += WINDOW;
            self.mask = window_mask(self.block, self.base);
        }
        let at = self.base + self.mask.trailing_zeros() as usize;
        self.mask &= self.mask - 1;
        Some(at)
    }
}

/// The separators among the (up to) 64 bytes of `block` from `base` on,
/// bit `i` for byte `base + i`.
#[inline]
fn window_mask(block: &[u8], base: usize) -> u64 {
    match block.get(base..).and_then(<[u8]>::first_chunk::<WINDOW>) {
        Some(window) => full_window_mask(window),
        None => block.get(base..).map_or(0, bytewise_mask),
    }
}

fn bytewise_mask(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .take(WINDOW)
        .enumerate()
        .filter(|(_, byte)| SEPARATORS.contains(byte))
        .fold(0, |mask, (idx, _)| mask | (1 << idx))
}

/// Four 16-byte compares per separator byte, folded into one mask (SSE2,
/// which every x86-64 processor has).
#[cfg(target_arch = "x86_64")]
#[inline]
fn full_window_mask(window: &[u8; WINDOW]) -> u64 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    // SAFETY: SSE2 is part of the x86-64 baseline, and each unaligned load
    // reads 16 bytes at offset 0, 16, 32 or 48 of the 64-byte window.
    unsafe {
        let wanted = SEPARATORS.map(|byte| _mm_set1_epi8(byte as i8));
        let mut mask = 0;
        for quarter in 0..4 {
            let bytes = _mm_loadu_si128(window.as_ptr().add(16 * quarter).cast::<__m128i>());
            let hits = _mm_or_si128(
                _mm_or_si128(
                    _mm_cmpeq_epi8(bytes, wanted[0]),
                    _mm_cmpeq_epi8(bytes, wanted[1]),
                ),
                _mm_or_si128(
                    _mm_cmpeq_epi8(bytes, wanted[2]),
                    _mm_cmpeq_epi8(bytes, wanted[3]),
                ),
            );
            mask |= u64::from(_mm_movemask_epi8(hits) as u16) << (16 * quarter);
        }
        mask
    }
}

// Elsewhere the byte loop serves; it keeps the fields independent, which
// is the point, only with more instructions per window.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn full_window_mask(window: &[u8; WINDOW]) -> u64 {
    bytewise_mask(window)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(block: &[u8]) -> Vec<usize> {
        let mut separators = Separators::new(block);
        std::iter::from_fn(|| separators.next_at()).collect()
    }

    #[test]
    fn finds_every_separator_in_order_across_windows() {
        // Lengths around the window width, separators at both ends of
        // windows and every other byte value in between.
        for len in [0, 1, 2, 63, 64, 65, 127, 128, 129, 300] {
            let block: Vec<u8> = (0..len)
                .map(|idx: usize| match idx % 7 {
                    0 => b',',
                    3 => b'\n',
                    5 if idx % 3 == 0 => b'"',
                    6 if idx % 5 == 0 => b'\r',
                    _ => (idx * 37 % 256) as u8,
                })
                .collect();
            let expected: Vec<usize> = (0..len)
                .filter(|&idx| SEPARATORS.contains(&block[idx]))
                .collect();
            assert_eq!(all(&block), expected, "length {len}");
        }
    }

    #[test]
    fn window_edges() {
        let mut block = vec![b'1'; 130];
        block[63] = b',';
        block[64] = b'\n';
        block[129] = b'"';
        assert_eq!(all(&block), vec![63, 64, 129]);
        assert_eq!(all(&[b'1'; 64]), Vec::<usize>::new());
    }
}
