//! napi-rs binding of tokenbroker: converts types and errors, nothing else.
//!
//! The JavaScript layer in `node/lib` wraps this native class: it turns the encoded errors
//! back into `TokenBrokerError`s (an async rejection cannot carry a custom `code`), wraps
//! tokens so that they never print themselves, and adds `fetch` and the axios interceptor.
//!
//! One module per concept: [`bearer`] (the core's rules for adapters), [`broker`] (the native class and its cache operations),
//! [`login`], [`registration`], [`token`] (the token array and token options), [`config`],
//! [`errors`], [`logging`] (core events to a JS logger), [`promise`] (async calls on the
//! core's runtime) and [`warm`] (the warm path).

mod bearer;
mod broker;
mod config;
mod errors;
mod logging;
mod login;
mod promise;
mod registration;
mod token;
mod warm;

/// Runs once when the `.node` file is loaded (a constructor of the shared library): a helper
/// thread builds the core's runtime ([`tokenbroker::advanced::runtime::handle`]) and warms up
/// what a first lookup needs, while Node goes on loading the package's JavaScript. A call
/// that comes first builds the runtime itself; the helper then finds it built. Every
/// `worker_threads` worker shares that one runtime.
#[napi_derive::module_init]
fn init() {
    // If no thread can be started, the first call builds the runtime (nothing is warmed up).
    let _ = std::thread::Builder::new()
        .name("tokenbroker-init".into())
        .spawn(|| tokenbroker::advanced::cache::warm_up(&tokenbroker::advanced::runtime::handle()));
}
