//! The provider's public documents: its metadata (a profile's endpoints come from it when
//! the configuration names an issuer) and its JWKS (ID tokens of refreshes are checked with
//! it). The shared tier keeps both for every process and machine (see `cache::document`), so
//! that a new process with a cached token needs no network at all, and a refresh needs the
//! token request only.

use std::sync::Arc;
use std::time::SystemTime;

use super::{Inner, ProfileState};
use crate::cache::{CachedDocument, SharedStore};
use crate::discovery::{self, Metadata};
use crate::error::Result;
use crate::http::Response;
use crate::id_token;
use crate::profile::Profile;
use crate::token::TokenSet;

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
        self.keep(store, name, &resp).await;
        Ok(metadata)
    }

    /// Keeps the document `resp` answered in `store` under `name`, as its `Cache-Control`
    /// allows.
    async fn keep(&self, store: Option<&dyn SharedStore>, name: &str, resp: &Response) {
        let Some(store) = store else { return };
        let body = String::from_utf8_lossy(&resp.body).into_owned();
        let kept = CachedDocument::new(body, resp.cache_control.as_deref(), SystemTime::now());
        if let Some(doc) = kept {
            if let Err(e) = store.put_document(name, &doc).await {
                self.store_error(&e);
            }
        }
    }

    /// Checks the ID token of a refresh response as [`id_token::check_response`] does, with
    /// the JWKS the shared tier keeps while it is fresh; when that fails (the provider may
    /// have rotated its keys) or there is none, with a JWKS fetched now, which is kept.
    pub(super) async fn check_id_token(
        &self,
        profile: &Profile,
        set: &mut TokenSet,
        signed_in: Option<&str>,
    ) -> Result<Option<String>> {
        let Some(url) = id_token::jwks_url_for(profile, set) else {
            return id_token::check_response_with(None, profile, set, signed_in);
        };
        let store = self.shared().await;
        let name = format!("jwks:{url}");
        if let Some(store) = &store {
            let kept = match store.document(&name).await {
                Ok(doc) => doc.filter(|d| d.is_fresh(SystemTime::now())),
                Err(e) => {
                    self.store_error(&e);
                    None
                }
            };
            if let Some(jwks) = kept.and_then(|d| id_token::jwks_from_kept(url, d.body()).ok()) {
                // With a JWKS at hand the check only reads `set`: a failure leaves it as it was.
                if let Ok(sub) = id_token::check_response_with(Some(&jwks), profile, set, signed_in)
                {
                    return Ok(sub);
                }
                tracing::debug!("the kept JWKS does not check the ID token; fetching it again");
            }
        }
        let (jwks, resp) = id_token::fetch_jwks_document(&self.http(), url).await?;
        self.keep(store.as_deref(), &name, &resp).await;
        id_token::check_response_with(Some(&jwks), profile, set, signed_in)
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
