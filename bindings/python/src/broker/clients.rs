//! Client registration (RFC 7591/7592, or the provider's management API), blocking and async.

use pyo3::prelude::*;
use tokenbroker::ClientMetadata;
use tokenbroker::Secret;

use super::{Nothing, PyBroker, run, run_async};
use crate::convert;
use crate::errors::to_pyerr;
use crate::login::PyRegisteredClient;

fn client_metadata(metadata: &Bound<'_, PyAny>) -> PyResult<ClientMetadata> {
    ClientMetadata::from_json(convert::json_value(metadata, "metadata")?)
        .map_err(|e| to_pyerr(metadata.py(), &e))
}

/// The arguments of a registration, converted once for either twin.
struct Register {
    broker: tokenbroker::Broker,
    profile: String,
    metadata: ClientMetadata,
    initial_access_token: Option<Secret>,
}

impl Register {
    async fn call(self) -> tokenbroker::Result<PyRegisteredClient> {
        self.broker
            .register_client(
                &self.profile,
                &self.metadata,
                self.initial_access_token.as_ref(),
            )
            .await
            .map(PyRegisteredClient)
    }
}

impl PyBroker {
    fn register(
        &self,
        profile: String,
        metadata: &Bound<'_, PyAny>,
        initial_access_token: Option<String>,
    ) -> PyResult<Register> {
        Ok(Register {
            broker: self.broker()?,
            profile,
            metadata: client_metadata(metadata)?,
            initial_access_token: initial_access_token.map(Secret::new),
        })
    }
}

#[pymethods]
impl PyBroker {
    /// Registers a client at `profile`'s provider (RFC 7591, or Alvaria's API) with
    /// `metadata` (a dict of RFC 7591 fields). The returned client holds the new secret.
    #[pyo3(signature = (profile, metadata, *, initial_access_token = None))]
    fn register_client(
        &self,
        py: Python<'_>,
        profile: String,
        metadata: &Bound<'_, PyAny>,
        initial_access_token: Option<String>,
    ) -> PyResult<PyRegisteredClient> {
        let call = self.register(profile, metadata, initial_access_token)?;
        run(py, call.call())
    }

    /// Like `register_client()`, for asyncio. Never blocks the loop.
    #[pyo3(signature = (profile, metadata, *, initial_access_token = None))]
    fn register_client_async<'py>(
        &self,
        py: Python<'py>,
        profile: String,
        metadata: &Bound<'py, PyAny>,
        initial_access_token: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let call = self.register(profile, metadata, initial_access_token)?;
        run_async(py, call.call())
    }

    /// Reads a client's registration.
    fn read_client(
        &self,
        py: Python<'_>,
        profile: String,
        client_id: String,
    ) -> PyResult<PyRegisteredClient> {
        let broker = self.broker()?;
        run(py, async move {
            broker
                .read_client(&profile, &client_id)
                .await
                .map(PyRegisteredClient)
        })
    }

    /// Like `read_client()`, for asyncio. Never blocks the loop.
    fn read_client_async<'py>(
        &self,
        py: Python<'py>,
        profile: String,
        client_id: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let broker = self.broker()?;
        run_async(py, async move {
            broker
                .read_client(&profile, &client_id)
                .await
                .map(PyRegisteredClient)
        })
    }

    /// Replaces a client's metadata (full replacement: start from `read_client().metadata`).
    fn update_client(
        &self,
        py: Python<'_>,
        profile: String,
        client_id: String,
        metadata: &Bound<'_, PyAny>,
    ) -> PyResult<PyRegisteredClient> {
        let broker = self.broker()?;
        let metadata = client_metadata(metadata)?;
        run(py, async move {
            let updated = broker.update_client(&profile, &client_id, &metadata).await;
            updated.map(PyRegisteredClient)
        })
    }

    /// Like `update_client()`, for asyncio. Never blocks the loop.
    fn update_client_async<'py>(
        &self,
        py: Python<'py>,
        profile: String,
        client_id: String,
        metadata: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let broker = self.broker()?;
        let metadata = client_metadata(metadata)?;
        run_async(py, async move {
            let updated = broker.update_client(&profile, &client_id, &metadata).await;
            updated.map(PyRegisteredClient)
        })
    }

    /// Deletes a client (and forgets its stored registration token).
    fn delete_client(&self, py: Python<'_>, profile: String, client_id: String) -> PyResult<()> {
        let broker = self.broker()?;
        run(py, async move {
            broker.delete_client(&profile, &client_id).await
        })
    }

    /// Like `delete_client()`, for asyncio. Never blocks the loop.
    fn delete_client_async<'py>(
        &self,
        py: Python<'py>,
        profile: String,
        client_id: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let broker = self.broker()?;
        run_async(py, async move {
            let deleted = broker.delete_client(&profile, &client_id).await;
            deleted.map(|()| Nothing)
        })
    }

    /// Lists the clients of the profile's organisation (Alvaria).
    fn list_clients(&self, py: Python<'_>, profile: String) -> PyResult<Vec<PyRegisteredClient>> {
        let broker = self.broker()?;
        run(py, async move { list(broker, profile).await })
    }

    /// Like `list_clients()`, for asyncio. Never blocks the loop.
    fn list_clients_async<'py>(
        &self,
        py: Python<'py>,
        profile: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let broker = self.broker()?;
        run_async(py, async move { list(broker, profile).await })
    }
}

async fn list(
    broker: tokenbroker::Broker,
    profile: String,
) -> tokenbroker::Result<Vec<PyRegisteredClient>> {
    let clients = broker.list_clients(&profile).await?;
    Ok(clients.into_iter().map(PyRegisteredClient).collect())
}
