//! A list of weak references to live objects of one kind, for events that
//! must reach all of them (a queued signal, a set clock).

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;

use crate::sync::Mutex;

/// Weak references to every live `T` registered.
pub struct WeakRegistry<T> {
    items: Mutex<Vec<Weak<T>>>,
}

impl<T> Default for WeakRegistry<T> {
    fn default() -> Self {
        WeakRegistry {
            items: Mutex::new(Vec::new()),
        }
    }
}

impl<T> WeakRegistry<T> {
    /// Adds `item`; dead entries are pruned here, so the list stays as long
    /// as the live set.
    pub fn register(&self, item: &Arc<T>) {
        let mut items = self.items.lock();
        items.retain(|w| w.strong_count() > 0);
        items.push(Arc::downgrade(item));
    }

    /// Calls `f` on every live item, with the registry lock held (lock
    /// order: registry, then the item's own locks).
    pub fn for_each(&self, mut f: impl FnMut(&T)) {
        let items = self.items.lock();
        for item in items.iter().filter_map(Weak::upgrade) {
            f(&item);
        }
    }

    /// Number of live items.
    pub fn len(&self) -> usize {
        self.items
            .lock()
            .iter()
            .filter(|w| w.strong_count() > 0)
            .count()
    }

    /// Whether no item is alive.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
