//! The reqwest clients behind every [`super::HttpClient`]: built on the first request, once per
//! process and per set of transport settings, and shared by every broker with those settings.
//!
//! Building them reads the extra CA files and the system's roots and parses every certificate
//! (tens of milliseconds), so a broker's construction does none of it: [`Transport::shared`]
//! only records the settings, and [`Transport::clients`] builds them when a request needs
//! them. A build that fails (a CA file missing or not PEM) is not remembered: the next request
//! tries again, so a file created or fixed later is picked up without a restart.
//!
//! Fork safety: the clients are tagged with the pid that built them; a forked child builds its
//! own (the parent's pooled connections belong to the parent's runtime), and the one lock here
//! is held across `fork()` by `crate::fork`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::locks;
use crate::regular_file;

/// The settings the reqwest clients depend on (the others are applied per call).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TransportKey {
    /// Longest time to wait for a TCP connection.
    pub connect_timeout: Duration,
    /// Extra CA certificates (PEM files) to trust besides the system's, sorted, no duplicates.
    pub ca_files: Vec<PathBuf>,
}

/// The two clients of a transport.
#[derive(Debug)]
pub(crate) struct Clients {
    /// For every host but loopback: honours the proxy environment variables.
    pub proxied: reqwest::Client,
    /// For loopback hosts: never through a proxy, so local traffic stays local.
    pub direct: reqwest::Client,
}

/// A transport's settings and, once built in this process, its clients.
struct Slot {
    key: TransportKey,
    /// A proxy instead of the environment's (tests); such a transport is never shared.
    proxy: Option<reqwest::Proxy>,
    /// The clients and the pid of the process that built them.
    built: Option<(u32, Arc<Clients>)>,
    /// How many times the clients were built (tests observe the sharing with it).
    builds: usize,
}

/// Every transport of the process, found by index. One lock for all: it is held while clients
/// are built (once per process and key) and across `fork()`.
static SLOTS: Mutex<Vec<Slot>> = Mutex::new(Vec::new());

/// A handle to a transport: cheap to copy, never does I/O until [`Transport::clients`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Transport(usize);

impl Transport {
    /// The transport of `key`, shared by every caller with the same settings. No I/O.
    pub(crate) fn shared(key: TransportKey) -> Self {
        let mut slots = locks::lock(&SLOTS);
        if let Some(i) = (slots.iter()).position(|s| s.proxy.is_none() && s.key == key) {
            return Self(i);
        }
        Self::push(&mut slots, key, None)
    }

    /// A transport of its own, whose non-loopback traffic goes through `proxy`.
    pub(crate) fn with_proxy(key: TransportKey, proxy: reqwest::Proxy) -> Self {
        Self::push(&mut locks::lock(&SLOTS), key, Some(proxy))
    }

    fn push(slots: &mut Vec<Slot>, key: TransportKey, proxy: Option<reqwest::Proxy>) -> Self {
        slots.push(Slot {
            key,
            proxy,
            built: None,
            builds: 0,
        });
        Self(slots.len() - 1)
    }

    /// The clients, built now if this process has none yet (reads the CA files and the
    /// system's roots; blocks other first requests of the process meanwhile).
    pub(crate) fn clients(self) -> Result<Arc<Clients>> {
        let pid = std::process::id();
        let mut slots = locks::lock(&SLOTS);
        let slot = &mut slots[self.0];
        if let Some((owner, clients)) = &slot.built {
            if *owner == pid {
                return Ok(clients.clone());
            }
        }
        let clients = Arc::new(build(&slot.key, slot.proxy.clone())?);
        slot.builds += 1;
        if let Some(parent) = slot.built.replace((pid, clients.clone())) {
            // Dropping the parent's clients could take their pool's lock, which a parent
            // thread may have held at the fork: leak them instead.
            std::mem::forget(parent);
        }
        Ok(clients)
    }

    /// How many times this transport's clients were built.
    #[cfg(test)]
    pub(crate) fn builds(self) -> usize {
        locks::lock(&SLOTS)[self.0].builds
    }
}

/// Holds the transports' lock until the guard drops (taken across a fork, see `crate::fork`).
pub(crate) fn lock_for_fork() -> impl Sized + 'static {
    locks::lock(&SLOTS)
}

fn build(key: &TransportKey, proxy: Option<reqwest::Proxy>) -> Result<Clients> {
    let mut certs = Vec::new();
    for path in &key.ca_files {
        let pem = regular_file::read_bytes(path).map_err(|e| {
            Error::config("ca_file", format!("cannot read {}: {e}", path.display()))
        })?;
        let not_pem = |e: &dyn std::fmt::Display| {
            let reason = format!("{} is not a PEM certificate: {e}", path.display());
            Error::config("ca_file", reason)
        };
        let found = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| not_pem(&e))?;
        if found.is_empty() {
            return Err(not_pem(&"it holds no '-----BEGIN CERTIFICATE-----' block"));
        }
        certs.extend(found);
    }
    let client = |proxy: Option<Option<reqwest::Proxy>>| {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(key.connect_timeout)
            .user_agent(concat!("tokenbroker/", env!("CARGO_PKG_VERSION")));
        builder = match proxy {
            // Loopback: no proxy at all.
            None => builder.no_proxy(),
            // Everything else: the system's proxies, or the injected one.
            Some(None) => builder,
            Some(Some(p)) => builder.proxy(p),
        };
        for cert in &certs {
            builder = builder.add_root_certificate(cert.clone());
        }
        builder.build().map_err(|e| {
            // With extra CA files, a certificate that does not parse is the likely cause.
            let key = if certs.is_empty() { "http" } else { "ca_file" };
            Error::config(key, format!("cannot build HTTP client: {e}"))
        })
    };
    Ok(Clients {
        proxied: client(Some(proxy))?,
        direct: client(None)?,
    })
}
