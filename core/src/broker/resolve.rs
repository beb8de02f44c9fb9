//! A profile's endpoints: from its configuration, else from its issuer's metadata, which the
//! shared tier keeps for every process and machine (see `cache::document`), so that a new
//! process with a cached token needs no network at all.

use std::sync::Arc;
use std::time::SystemTime;

use super::{Inner, ProfileState};
use crate::cache::{CachedDocument, SharedStore};
use crate::discovery::{self, Metadata};
use crate::error::Result;
use crate::profile::Profile;

impl Inner {
    /// The profile of `state` with its endpoints resolved, discovering them once per process
    /// (from the shared tier's copy of the metadata when there is one).
    pub(super) async fn resolved(self: &Arc<Self>, state: &ProfileState) -> Result<Arc<Profile>> {
        if let Some(profile) = state.known_resolved() {
            return Ok(profile);
        }
        let metadata = match state.discovers() {
            Some(issuer) => Some(self.metadata(issuer).await?),
            None => None,
        };
        Ok(state.resolve_with(metadata.as_ref()))
    }

    /// The metadata of `issuer`: the shared tier's copy while usable (a stale one is renewed
    /// in the background), else fetched and kept there.
    async fn metadata(self: &Arc<Self>, issuer: &str) -> Result<Metadata> {
        let store = self.shared().await;
        let name = format!("metadata:{issuer}");
        if let Some(store) = &store {
            match store.document(&name).await {
                Ok(Some(doc)) => match discovery::from_kept(issuer, doc.body()) {
                    Ok(metadata) => {
                        if !doc.is_fresh(SystemTime::now()) {
                            self.renew_in_background(store.clone(), issuer, name);
                        }
                        return Ok(metadata);
                    }
                    Err(e) => tracing::warn!("kept metadata no longer checks, fetching it: {e}"),
                },
                Ok(None) => {}
                Err(e) => self.store_error(&e),
            }
        }
        self.fetch_metadata(store.as_deref(), issuer, &name).await
    }

    /// Fetches the metadata of `issuer` and keeps it in `store` as its `Cache-Control` allows.
    async fn fetch_metadata(
        &self,
        store: Option<&dyn SharedStore>,
        issuer: &str,
        name: &str,
    ) -> Result<Metadata> {
        let (metadata, resp) = discovery::discover_document(&self.http(), issuer).await?;
        let Some(store) = store else {
            return Ok(metadata);
        };
        let body = String::from_utf8_lossy(&resp.body).into_owned();
        let kept = CachedDocument::new(body, resp.cache_control.as_deref(), SystemTime::now());
        if let Some(doc) = kept {
            if let Err(e) = store.put_document(name, &doc).await {
                self.store_error(&e);
            }
        }
        Ok(metadata)
    }

    /// Fetches a stale document's new copy without holding up the caller, who uses the stale
    /// one; a failure leaves the stale copy in place until it is past use.
    fn renew_in_background(
        self: &Arc<Self>,
        store: Arc<dyn SharedStore>,
        issuer: &str,
        name: String,
    ) {
        let (inner, issuer) = (self.clone(), issuer.to_owned());
        crate::runtime::handle().spawn(async move {
            if let Err(e) = inner.fetch_metadata(Some(&*store), &issuer, &name).await {
                tracing::warn!("renewing kept metadata failed, using the kept copy: {e}");
            }
        });
    }
}
