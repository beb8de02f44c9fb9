//! How a core future becomes a Kotlin `suspend fun` / Swift `async func`, or a blocking call.

use std::future::Future;

use tokenbroker::advanced::runtime;

use crate::errors::{Result, TokenBrokerError};

/// Runs `future` on the core's runtime and waits for it without blocking a thread.
///
/// Cancelling the coroutine or Task drops this wait only: the core's work goes on (and serves
/// the other callers waiting on the same token).
pub(crate) async fn on_runtime<T, F>(future: F) -> Result<T>
where
    T: Send + 'static,
    F: Future<Output = tokenbroker::Result<T>> + Send + 'static,
{
    match runtime::handle().spawn(future).await {
        Ok(result) => result.map_err(Into::into),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(TokenBrokerError::Interaction {
            reason: format!("tokenbroker runtime stopped: {e}"),
        }),
    }
}

/// Runs `future` to completion on the calling thread (the `...Blocking` twins). Never call it
/// from a UI thread.
pub(crate) fn blocking<T, F>(future: F) -> Result<T>
where
    F: Future<Output = tokenbroker::Result<T>>,
{
    runtime::block_on(future).map_err(Into::into)
}
