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
/// thread does the crypto library's one-time set-up while Node goes on loading the package's
/// JavaScript. The core's runtime is not started here: the first call that needs it starts it
/// (a process whose tokens come from memory or the file store never does), and every
/// `worker_threads` worker shares it.
#[napi_derive::module_init]
fn init() {
    // If no thread can be started, the first read of the file store does the set-up.
    let _ = std::thread::Builder::new()
        .name("tokenbroker-init".into())
        .spawn(tokenbroker::advanced::cache::warm_up);
}
