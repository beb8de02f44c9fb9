//! Promises settled by futures on the core's runtime.
//!
//! The binding does not use napi-rs's tokio integration: that builds its runtime on the
//! loading thread while Node loads the package (two worker threads started, an epoll set up),
//! even in a process whose tokens all come from memory or the file store, and spawns a second
//! task per call to watch the first for panics. Here every call spawns one task on
//! [`tokenbroker::advanced::runtime::handle`], which the first such call starts, and a panic
//! rejects the promise instead of leaving it pending.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use napi::bindgen_prelude::{Object, ToNapiValue};
use napi::{Env, Status};

/// Settles the returned promise with `work`'s outcome, run on the core runtime: resolved with
/// its value, or rejected with its error (a panic becomes an error naming no secret).
pub(crate) fn spawn<'env, T, F>(env: &'env Env, work: F) -> napi::Result<Object<'env>>
where
    T: ToNapiValue + Send + 'static,
    F: Future<Output = napi::Result<T>> + Send + 'static,
{
    type Resolve<T> = Box<dyn FnOnce(Env) -> napi::Result<T> + Send>;
    let (deferred, promise) = env.create_deferred::<T, Resolve<T>>()?;
    tokenbroker::advanced::runtime::handle().spawn(async move {
        match AssertUnwindSafe(work).catch_unwind().await {
            Ok(Ok(value)) => deferred.resolve(Box::new(move |_| Ok(value))),
            Ok(Err(e)) => deferred.reject(e),
            Err(_) => deferred.reject(napi::Error::new(
                Status::GenericFailure,
                "tokenbroker: internal error (a panic in the native code)",
            )),
        }
    });
    Ok(promise)
}
