//! [`Fetch`]: the latest answer of an async call that runs again whenever the signals it reads change;
//! what the pages hold their API answers in.
//!
//! Why not Leptos's `LocalResource`: every use of it instantiates the async-derived machinery for its
//! answer type (futures, locks, subscriber lists; measured ~11 KB of wasm per type, 67 KB for the
//! app's six), and the app's budget is 200 KB brotli. The pages need less: the value, whether it is
//! still loading, and a retry. This is one local signal and one effect per use.

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;

use leptos::prelude::*;

/// The answer of the latest run of an async call; `None` from each start until that run's answer.
///
/// Contract: the call runs once at creation and again when a signal it read changes or on
/// [`Fetch::refetch`]; the value is reset to `None` at each start (so a page shows what it has for
/// the new input, not the old input's answer), and an answer that arrives after a newer run started,
/// or after the page is gone, is dropped.
#[derive(Debug)]
pub struct Fetch<T: 'static> {
    value: RwSignal<Option<T>, LocalStorage>,
    again: Trigger,
}

impl<T: 'static> Clone for Fetch<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: 'static> Copy for Fetch<T> {}

impl<T: 'static> Fetch<T> {
    /// Starts `call` now (its signal reads are tracked) and again whenever they change.
    pub fn new<F: Future<Output = T> + 'static>(call: impl Fn() -> F + 'static) -> Self {
        Self::starting_with(None, call)
    }

    /// Like [`Fetch::new`], but with `Some(answer)` already in hand (the prerendered page's) the first
    /// run only reads the call's signals: it starts when one of them changes, or on a refetch.
    pub fn starting_with<F: Future<Output = T> + 'static>(
        initial: Option<T>,
        call: impl Fn() -> F + 'static,
    ) -> Self {
        let have = Cell::new(initial.is_some());
        let value = RwSignal::new_local(initial);
        let again = Trigger::new();
        let runs = Rc::new(Cell::new(0_u64));
        Effect::new(move |_| {
            again.track();
            // Futures do nothing until awaited: dropping this one only leaves its reads tracked.
            let answer = call();
            if have.replace(false) {
                return;
            }
            let run = runs.get().wrapping_add(1);
            runs.set(run);
            // Whether the value changes or not, it is "loading" now (untracked: this effect must not
            // depend on its own output).
            if value.with_untracked(Option::is_some) {
                value.set(None);
            }
            let runs = Rc::clone(&runs);
            leptos::task::spawn_local(async move {
                let answer = answer.await;
                if runs.get() == run {
                    // `try_set`: the page may be gone (its signal disposed) by now.
                    let _ = value.try_set(Some(answer));
                }
            });
        });
        Fetch { value, again }
    }

    /// Runs the call again (a retry button).
    pub fn refetch(&self) {
        self.again.notify();
    }

    /// Reads the value by reference, tracked.
    pub fn with<R>(&self, f: impl FnOnce(&Option<T>) -> R) -> R {
        self.value.with(f)
    }
}

impl<T: Clone + 'static> Fetch<T> {
    /// The value, tracked.
    pub fn get(&self) -> Option<T> {
        self.value.get()
    }
}
