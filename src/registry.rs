//! The per-process map of mapped segments, keyed by the object's identity
//! (device, inode) rather than its name, because a name can be unlinked and
//! made again while old handles still map the first object. Every handle
//! to one object shares one `Mapping`, and so one open file description,
//! one attach lock and one writer registration.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use crate::mapping::Mapping;
use crate::name::Name;
use crate::shm;

pub struct Registry {
    /// The fork epoch these mappings were made in. A forked child must not
    /// use its parent's descriptors (see `forks`), so it starts afresh.
    epoch: u32,
    by_id: HashMap<shm::ObjectId, Weak<Mapping>>,
}

static REGISTRY: Mutex<Option<Registry>> = Mutex::new(None);

/// Holds the registry for a whole create or attach, so that two threads
/// never map one object twice.
pub struct Locked(MutexGuard<'static, Option<Registry>>);

pub fn lock() -> Locked {
    let mut guard = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    let epoch = crate::forks::epoch();
    if guard.as_ref().is_none_or(|r| r.epoch != epoch) {
        *guard = Some(Registry {
            epoch,
            by_id: HashMap::new(),
        });
    }
    Locked(guard)
}

impl Locked {
    fn registry(&mut self) -> &mut Registry {
        self.0.as_mut().expect("initialised by lock()")
    }

    pub fn find(&mut self, id: shm::ObjectId) -> Option<Arc<Mapping>> {
        let registry = self.registry();
        registry.by_id.retain(|_, weak| weak.strong_count() > 0);
        registry.by_id.get(&id).and_then(Weak::upgrade)
    }

    /// The mapping of the object the name refers to now, if we have it.
    pub fn find_name(&mut self, name: &Name) -> Option<Arc<Mapping>> {
        shm::identity_of(name).and_then(|id| self.find(id))
    }

    pub fn insert(&mut self, mapping: Mapping) -> Arc<Mapping> {
        let mapping = Arc::new(mapping);
        self.registry()
            .by_id
            .insert(mapping.id(), Arc::downgrade(&mapping));
        mapping
    }
}
