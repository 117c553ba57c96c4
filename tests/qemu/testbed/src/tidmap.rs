//! A map from task id to value in O(1): open addressing with linear
//! probing over a power-of-two array at least twice the most tasks, so
//! it is never more than half full and a lookup probes about one slot.
//!
//! The scheduler looks its tasks up by tid several times per system call
//! and switch; a `BTreeMap` of 10 000 tasks cost a few hundred
//! instructions more per round trip than one of 10 (docs/performance.md).

use alloc::vec::Vec;

pub struct TidMap<V> {
    /// Empty until the first insert (`SCHED` is built in a const).
    slots: Vec<Option<(u64, V)>>,
    len: usize,
}

impl<V> TidMap<V> {
    pub const fn new() -> Self {
        TidMap {
            slots: Vec::new(),
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    /// Fibonacci hashing: consecutive tids land far apart, so live tids
    /// that wrapped around the array do not grow one long run.
    fn home(&self, key: u64) -> usize {
        let bits = self.slots.len().trailing_zeros();
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize
    }

    fn find(&self, key: u64) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mut i = self.home(key);
        loop {
            match &self.slots[i] {
                None => return None,
                Some((k, _)) if *k == key => return Some(i),
                Some(_) => i = (i + 1) & self.mask(),
            }
        }
    }

    pub fn get(&self, key: &u64) -> Option<&V> {
        let i = self.find(*key)?;
        self.slots[i].as_ref().map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, key: &u64) -> Option<&mut V> {
        let i = self.find(*key)?;
        self.slots[i].as_mut().map(|(_, v)| v)
    }

    /// Sizes the array for `room` entries, if it has none yet (the size
    /// never changes after); false if it cannot be allocated.
    pub fn reserve(&mut self, room: usize) -> bool {
        if self.slots.is_empty() {
            let n = room.saturating_mul(2).max(2).next_power_of_two();
            if self.slots.try_reserve_exact(n).is_err() {
                return false;
            }
            self.slots.resize_with(n, || None);
        }
        true
    }

    /// Inserts `value` under a key not in the map, for at most `room`
    /// entries in all; gives `value` back if the map holds `room` already
    /// or its array cannot be allocated.
    pub fn insert(&mut self, key: u64, value: V, room: usize) -> Result<(), V> {
        if !self.reserve(room) {
            return Err(value);
        }
        // Half full at most, so a probe always meets an empty slot.
        if self.len >= room || self.len >= self.slots.len() / 2 {
            return Err(value);
        }
        let mut i = self.home(key);
        while self.slots[i].is_some() {
            i = (i + 1) & self.mask();
        }
        self.slots[i] = Some((key, value));
        self.len += 1;
        Ok(())
    }

    pub fn remove(&mut self, key: &u64) -> Option<V> {
        let mut hole = self.find(*key)?;
        let (_, value) = self.slots[hole].take()?;
        self.len -= 1;
        // Backward shift: move later entries of the run into the hole
        // when their home is not between the hole and them, so every
        // entry stays reachable from its home without tombstones.
        let mut j = hole;
        loop {
            j = (j + 1) & self.mask();
            let Some((k, _)) = &self.slots[j] else {
                break;
            };
            let home = self.home(*k);
            let dist_home = j.wrapping_sub(home) & self.mask();
            let dist_hole = j.wrapping_sub(hole) & self.mask();
            if dist_home >= dist_hole {
                self.slots[hole] = self.slots[j].take();
                hole = j;
            }
        }
        Some(value)
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.slots.iter().filter_map(|s| s.as_ref().map(|(_, v)| v))
    }
}
