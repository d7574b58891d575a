//! A global allocator that starts every block of 64 KiB or more on a
//! cache line.
//!
//! The evaluator reads data columns with 64-byte (AVX-512) loads. The C
//! library's allocator starts large blocks 16 bytes past a page boundary,
//! so every such load of a column it returned spanned two cache lines.
//! Measured with `nll bench` at one thread (Intel Xeon with AVX-512,
//! alternating runs), one evaluation with the columns and chunk buffers on
//! cache lines took, of its time with both 16 bytes off: w1 0.74, w2 0.79,
//! w3 0.88, w4 0.85, w5 0.85, w6 0.86, w7 0.83, w7t 0.87 (the evaluator
//! puts its chunk buffers on a line itself). Aligning every block of 1 KiB
//! or more instead raised the peak memory of the 100 000-row workloads by
//! 1-1.7 MiB (the C library's aligned allocations from its heap leave
//! gaps); from 64 KiB, loading and peak memory do not change.
//!
//! The binary installs it (`src/main.rs`); the library does not need it
//! to be correct, only to be fast.

use std::alloc::{GlobalAlloc, Layout, System};

/// Blocks at least this large are aligned to [`LINE`]: the columns of any
/// data set worth timing, and none of the many small allocations.
const MIN_ALIGNED_SIZE: usize = 64 * 1024;

/// The cache line, and the width of the widest vector the evaluator uses.
const LINE: usize = 64;

/// The system allocator with blocks of `MIN_ALIGNED_SIZE` or more on a
/// cache line.
pub struct CacheLineAligned;

/// The layout a block of `layout` is allocated with.
fn aligned(layout: Layout) -> Layout {
    if layout.size() >= MIN_ALIGNED_SIZE && layout.align() < LINE {
        // Cannot fail: LINE is a power of two and the size was already
        // valid for a smaller alignment, far below isize::MAX - LINE.
        Layout::from_size_align(layout.size(), LINE).unwrap_or(layout)
    } else {
        layout
    }
}

// SAFETY: every block is allocated and freed by `System` with the same
// layout, `aligned(layout)` of the layout the caller gives, which has the
// caller's size and at least the caller's alignment.
unsafe impl GlobalAlloc for CacheLineAligned {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: `aligned` keeps the non-zero size the caller promises.
        unsafe { System.alloc(aligned(layout)) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(aligned(layout)) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated with `aligned(layout)`.
        unsafe { System.dealloc(ptr, aligned(layout)) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = aligned(layout);
        let Ok(new) = Layout::from_size_align(new_size, layout.align()).map(aligned) else {
            return std::ptr::null_mut();
        };
        if old.align() == new.align() {
            // SAFETY: `ptr` was allocated with `old`, and `new_size` is
            // valid for its alignment (checked just above).
            return unsafe { System.realloc(ptr, old, new_size) };
        }
        // Crossing the size threshold changes the alignment, which the
        // system's realloc cannot do: a new block, a copy, and the old
        // block freed.
        // SAFETY: `new` has a non-zero size (the caller's promise).
        let moved = unsafe { System.alloc(new) };
        if !moved.is_null() {
            // SAFETY: both blocks are valid for the smaller size and do not
            // overlap; `ptr` was allocated with `old`.
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, moved, layout.size().min(new_size));
                System.dealloc(ptr, old);
            }
        }
        moved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(ptr: *mut u8, n: usize) {
        for i in 0..n {
            // SAFETY: the test allocated at least `n` bytes at `ptr`.
            unsafe { *ptr.add(i) = (i % 251) as u8 };
        }
    }

    fn check(ptr: *mut u8, n: usize) {
        for i in 0..n {
            // SAFETY: as for `fill`.
            assert_eq!(unsafe { *ptr.add(i) }, (i % 251) as u8, "byte {i}");
        }
    }

    #[test]
    fn large_blocks_start_on_a_cache_line_and_small_ones_keep_their_alignment() {
        let a = CacheLineAligned;
        for size in [MIN_ALIGNED_SIZE, 1 << 20, 3 << 20] {
            let layout = Layout::from_size_align(size, 8).unwrap();
            // SAFETY: non-zero size; freed with the same layout.
            let p = unsafe { a.alloc(layout) };
            assert!(!p.is_null());
            assert_eq!(p as usize % LINE, 0, "{size} bytes");
            unsafe { a.dealloc(p, layout) };
        }
        let small = Layout::from_size_align(24, 8).unwrap();
        let p = unsafe { a.alloc(small) };
        assert_eq!(p as usize % 8, 0);
        unsafe { a.dealloc(p, small) };
        // A caller's larger alignment is kept.
        let wide = Layout::from_size_align(4096, 4096).unwrap();
        let p = unsafe { a.alloc_zeroed(wide) };
        assert_eq!(p as usize % 4096, 0);
        assert!((0..4096).all(|i| unsafe { *p.add(i) } == 0));
        unsafe { a.dealloc(p, wide) };
    }

    #[test]
    fn growing_and_shrinking_across_the_threshold_keeps_the_contents() {
        let a = CacheLineAligned;
        // small -> large -> larger -> small, as a vector that grows and is
        // then shrunk to fit.
        let steps = [
            16,
            MIN_ALIGNED_SIZE - 8,
            MIN_ALIGNED_SIZE,
            1 << 16,
            1 << 21,
            40,
        ];
        let mut layout = Layout::from_size_align(steps[0], 8).unwrap();
        let mut p = unsafe { a.alloc(layout) };
        fill(p, layout.size());
        for &size in &steps[1..] {
            // SAFETY: `p` was allocated with `layout` by `a`.
            p = unsafe { a.realloc(p, layout, size) };
            assert!(!p.is_null());
            let kept = layout.size().min(size);
            check(p, kept);
            if size >= MIN_ALIGNED_SIZE {
                assert_eq!(p as usize % LINE, 0, "{size} bytes");
            }
            layout = Layout::from_size_align(size, 8).unwrap();
            fill(p, size);
        }
        unsafe { a.dealloc(p, layout) };
    }
}
