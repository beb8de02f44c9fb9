//! napi-rs binding of tokenbroker: converts types and errors, nothing else.
//!
//! The JavaScript layer in `node/lib` wraps this native class: it turns the encoded errors
//! back into `TokenBrokerError`s (an async rejection cannot carry a custom `code`), wraps
//! tokens so that they never print themselves, and adds `fetch` and the axios interceptor.
//!
//! One module per concept: [`bearer`] (the core's rules for adapters), [`broker`] (the native class and its cache operations),
//! [`login`], [`registration`], [`token`] (the token array and token options), [`config`],
//! [`errors`], [`logging`] (core events to a JS logger) and [`warm`] (the warm path).

mod bearer;
mod broker;
mod config;
mod errors;
mod logging;
mod login;
mod registration;
mod token;
mod warm;

/// One tokio runtime per process, shared by napi's async functions and the core.
///
/// Runs once when the `.node` file is loaded (a constructor of the shared library), so
/// every `worker_threads` worker uses the same runtime.
#[napi_derive::module_init]
fn init() {
    // The core's runtime settings: its worker count spares a new process tokio's default (the
    // CPU count, read from cgroup files), about 0.1 ms of every `require`.
    let rt = tokenbroker::advanced::runtime::build().expect("cannot start the tokenbroker runtime");
    // False when a runtime is already in use in this process: then both keep working, each
    // on its own runtime, which is still correct (only less frugal).
    let _ = tokenbroker::advanced::runtime::adopt(rt.handle().clone());
    tokenbroker::advanced::cache::warm_up(rt.handle());
    napi::bindgen_prelude::create_custom_tokio_runtime(rt);
}
