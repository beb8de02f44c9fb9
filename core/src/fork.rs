//! Keeps the core's locks consistent across `fork()` (Python's `os.fork`, `multiprocessing`).
//!
//! A lock held by another thread at the instant of `fork()` stays locked forever in the
//! child, where that thread does not exist. A `pthread_atfork` handler therefore takes every
//! core lock just before a fork, in the order the code nests them (each broker's flights,
//! memory tier and store slot; then the HTTP transports; the runtime slot last), and releases
//! them right after it, in the parent and in the child. The child then starts its own runtime
//! and HTTP pools, and never joins a fetch the parent had in flight (flights are tagged with
//! their pid).

use std::cell::RefCell;
use std::sync::{Arc, Mutex, Once, Weak};

use crate::locks;

/// A held guard of any kind.
pub(crate) trait Held {}
impl<T> Held for T {}

/// Something that owns core locks (a broker).
pub(crate) trait ForkLocks: Send + Sync {
    /// Takes every lock, in the order the code nests them; dropping the guards releases them.
    fn lock_all(&self) -> Vec<Box<dyn Held + '_>>;
}

static OWNERS: Mutex<Vec<Weak<dyn ForkLocks>>> = Mutex::new(Vec::new());
static INSTALL: Once = Once::new();

/// The locks taken by `prepare`, kept until the fork returns. Fields drop in order: the
/// guards before the owners they borrow from.
struct HeldLocks {
    _guards: Vec<Box<dyn Held>>,
    _owners: Vec<Arc<dyn ForkLocks>>,
}

thread_local! {
    static HELD: RefCell<Option<HeldLocks>> = const { RefCell::new(None) };
}

/// Registers a lock owner so that forks keep its locks consistent.
pub(crate) fn register(owner: Weak<dyn ForkLocks>) {
    INSTALL.call_once(|| {
        // SAFETY: the handlers are plain `extern "C"` functions that live for the whole
        // program; registering them has no other precondition.
        unsafe { libc::pthread_atfork(Some(prepare), Some(release), Some(release)) };
    });
    let mut owners = locks::lock(&OWNERS);
    owners.retain(|o| o.strong_count() > 0);
    owners.push(owner);
}

extern "C" fn prepare() {
    let registry = locks::lock(&OWNERS);
    let owners: Vec<Arc<dyn ForkLocks>> = registry.iter().filter_map(Weak::upgrade).collect();
    let mut guards: Vec<Box<dyn Held>> = Vec::new();
    for owner in &owners {
        let held = owner.lock_all();
        // SAFETY: the guards borrow from `owner`, which `HeldLocks` keeps alive and drops
        // only after the guards (field order).
        let held: Vec<Box<dyn Held>> = unsafe { std::mem::transmute(held) };
        guards.extend(held);
    }
    guards.push(Box::new(crate::http::lock_for_fork()));
    guards.push(Box::new(crate::runtime::lock_for_fork()));
    guards.push(Box::new(registry));
    HELD.with(|h| {
        *h.borrow_mut() = Some(HeldLocks {
            _guards: guards,
            _owners: owners,
        })
    });
}

extern "C" fn release() {
    HELD.with(|h| drop(h.borrow_mut().take()));
}
