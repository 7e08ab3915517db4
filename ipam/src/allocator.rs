//! Serial allocation of numbers, with memory that follows what is allocated.
//!
//! Docker keeps a bitmap per pool, which cannot work for an IPv6 /64. This
//! allocator keeps the allocated numbers as disjoint, non-adjacent intervals
//! in a B-tree, so every operation is O(log n) in the number of intervals and
//! memory grows with fragmentation, never with the size of the pool: a /64
//! with ten thousand addresses handed out in order is one interval.
//!
//! Dynamic allocation is serial like Docker's: the search starts after the
//! last number handed out dynamically and wraps to the start of the range
//! only when it reaches the end, so a released number is not reused before
//! the rest of the range has been.

use std::collections::BTreeMap;

/// A set of allocated numbers plus the serial cursor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Allocator {
    /// Allocated numbers: interval start -> interval end (inclusive). Two
    /// intervals never touch: `end + 1 < next start`.
    used: BTreeMap<u128, u128>,
    /// The last number handed out by [`Allocator::allocate_serial`].
    last_serial: Option<u128>,
    /// How many numbers are allocated.
    count: u128,
}

impl Allocator {
    /// An allocator with the given intervals and cursor; intervals may come
    /// in any order but must not overlap (checked: `None` if they do).
    pub(crate) fn from_parts(
        intervals: impl IntoIterator<Item = (u128, u128)>,
        last_serial: Option<u128>,
    ) -> Option<Self> {
        let mut a = Self {
            last_serial,
            ..Self::default()
        };
        for (start, end) in intervals {
            if start > end || a.overlaps(start, end) {
                return None;
            }
            a.count += end - start + 1;
            a.used.insert(start, end);
            a.coalesce_around(start);
        }
        Some(a)
    }

    /// The allocated intervals, in order.
    pub(crate) fn intervals(&self) -> impl Iterator<Item = (u128, u128)> + '_ {
        self.used.iter().map(|(s, e)| (*s, *e))
    }

    /// The last number handed out serially.
    pub(crate) fn last_serial(&self) -> Option<u128> {
        self.last_serial
    }

    /// How many numbers are allocated.
    pub(crate) fn count(&self) -> u128 {
        self.count
    }

    /// How many intervals the allocated numbers form (memory is per interval).
    pub(crate) fn interval_count(&self) -> usize {
        self.used.len()
    }

    /// The interval that contains `n`, if `n` is allocated.
    fn interval_of(&self, n: u128) -> Option<(u128, u128)> {
        self.used
            .range(..=n)
            .next_back()
            .filter(|(_, end)| **end >= n)
            .map(|(s, e)| (*s, *e))
    }

    /// Whether `n` is allocated.
    pub(crate) fn contains(&self, n: u128) -> bool {
        self.interval_of(n).is_some()
    }

    /// Whether any number of `[start, end]` is allocated.
    fn overlaps(&self, start: u128, end: u128) -> bool {
        self.used
            .range(..=end)
            .next_back()
            .is_some_and(|(_, e)| *e >= start)
    }

    /// Marks `n` allocated; `false` if it already was.
    pub(crate) fn insert(&mut self, n: u128) -> bool {
        if self.contains(n) {
            return false;
        }
        self.used.insert(n, n);
        self.count += 1;
        self.coalesce_around(n);
        true
    }

    /// Merges the interval starting at `start` with its neighbours when they
    /// touch it.
    fn coalesce_around(&mut self, start: u128) {
        let mut start = start;
        let mut end = self.used[&start];
        // Merge with the interval before, if it ends right before `start`.
        if let Some((&ps, &pe)) = self.used.range(..start).next_back()
            && pe.checked_add(1) == Some(start)
        {
            self.used.remove(&start);
            start = ps;
            self.used.insert(start, end);
        }
        // Merge with the interval after, if it starts right after `end`.
        if let Some(next) = end.checked_add(1)
            && let Some(next_end) = self.used.remove(&next)
        {
            end = next_end;
            self.used.insert(start, end);
        }
    }

    /// Marks `n` free; `false` if it was not allocated.
    pub(crate) fn remove(&mut self, n: u128) -> bool {
        let Some((start, end)) = self.interval_of(n) else {
            return false;
        };
        self.used.remove(&start);
        if start < n {
            self.used.insert(start, n - 1);
        }
        if n < end {
            self.used.insert(n + 1, end);
        }
        self.count -= 1;
        true
    }

    /// The first free number in `[from, hi]`, if any.
    fn first_free_from(&self, from: u128, hi: u128) -> Option<u128> {
        if from > hi {
            return None;
        }
        // Intervals never touch, so the number after an interval is free.
        let candidate = match self.interval_of(from) {
            Some((_, end)) => end.checked_add(1)?,
            None => from,
        };
        (candidate <= hi).then_some(candidate)
    }

    /// Hands out the next free number of `[lo, hi]` in serial order and
    /// records it as the cursor; `None` when the range is full.
    pub(crate) fn allocate_serial(&mut self, lo: u128, hi: u128) -> Option<u128> {
        let start = match self.last_serial.and_then(|l| l.checked_add(1)) {
            Some(next) if (lo..=hi).contains(&next) => next,
            _ => lo,
        };
        let n = self
            .first_free_from(start, hi)
            .or_else(|| self.first_free_from(lo, hi))?;
        let inserted = self.insert(n);
        debug_assert!(inserted, "first_free_from returns free numbers");
        self.last_serial = Some(n);
        Some(n)
    }

    /// Hands out the lowest free number of `[lo, hi]` without moving the
    /// serial cursor; `None` when the range is full.
    pub(crate) fn allocate_lowest(&mut self, lo: u128, hi: u128) -> Option<u128> {
        let n = self.first_free_from(lo, hi)?;
        let inserted = self.insert(n);
        debug_assert!(inserted, "first_free_from returns free numbers");
        Some(n)
    }

    /// Whether every number of `[lo, hi]` is allocated.
    pub(crate) fn is_full(&self, lo: u128, hi: u128) -> bool {
        self.first_free_from(lo, hi).is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_allocation_hands_out_in_order() {
        let mut a = Allocator::default();
        let got: Vec<_> = (0..5).map(|_| a.allocate_serial(10, 20).unwrap()).collect();
        assert_eq!(got, vec![10, 11, 12, 13, 14]);
        assert_eq!(a.interval_count(), 1);
        assert_eq!(a.count(), 5);
    }

    #[test]
    fn released_number_is_not_reused_before_wrapping() {
        let mut a = Allocator::default();
        for _ in 0..3 {
            a.allocate_serial(1, 5).unwrap();
        }
        assert!(a.remove(2));
        assert_eq!(a.allocate_serial(1, 5), Some(4));
        assert_eq!(a.allocate_serial(1, 5), Some(5));
        // The end of the range is reached: wrap and find the hole.
        assert_eq!(a.allocate_serial(1, 5), Some(2));
        assert_eq!(a.allocate_serial(1, 5), None);
        assert!(a.is_full(1, 5));
    }

    #[test]
    fn explicit_numbers_are_skipped_by_serial_allocation() {
        let mut a = Allocator::default();
        assert!(a.insert(2));
        assert!(a.insert(3));
        assert!(!a.insert(3));
        assert_eq!(a.allocate_serial(1, 10), Some(1));
        assert_eq!(a.allocate_serial(1, 10), Some(4));
        assert_eq!(a.interval_count(), 1);
    }

    #[test]
    fn remove_splits_and_insert_merges_intervals() {
        let mut a = Allocator::from_parts([(0, 9)], None).unwrap();
        assert!(a.remove(5));
        assert_eq!(a.intervals().collect::<Vec<_>>(), vec![(0, 4), (6, 9)]);
        assert!(!a.remove(5));
        assert!(a.insert(5));
        assert_eq!(a.intervals().collect::<Vec<_>>(), vec![(0, 9)]);
        assert_eq!(a.count(), 10);
    }

    #[test]
    fn from_parts_rejects_overlapping_intervals_and_merges_touching_ones() {
        assert!(Allocator::from_parts([(0, 5), (5, 6)], None).is_none());
        assert!(Allocator::from_parts([(3, 2)], None).is_none());
        let a = Allocator::from_parts([(7, 9), (0, 6)], Some(9)).unwrap();
        assert_eq!(a.intervals().collect::<Vec<_>>(), vec![(0, 9)]);
    }

    #[test]
    fn works_at_the_top_of_the_number_space() {
        let mut a = Allocator::default();
        let hi = u128::MAX;
        assert_eq!(a.allocate_serial(hi - 1, hi), Some(hi - 1));
        assert_eq!(a.allocate_serial(hi - 1, hi), Some(hi));
        assert_eq!(a.allocate_serial(hi - 1, hi), None);
        assert!(a.remove(hi));
        assert_eq!(a.allocate_serial(hi - 1, hi), Some(hi));
    }

    #[test]
    fn cursor_outside_range_restarts_at_range_start() {
        let mut a = Allocator::from_parts([], Some(1000)).unwrap();
        assert_eq!(a.allocate_serial(10, 20), Some(10));
    }
}
