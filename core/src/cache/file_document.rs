//! The file store's public documents ([`CachedDocument`]): `documents/<sha256(name)>.bin`,
//! sealed with the cache key; one that does not open or is past use reads as absent.

use std::path::PathBuf;
use std::time::SystemTime;

use super::document::CachedDocument;
use super::file::Inner;
use super::file_io::read_file;
use super::record;
use crate::error::Result;
use crate::secret::Secret;

/// The subdirectory holding documents.
pub(super) const DOCUMENTS: &str = "documents";

impl Inner {
    fn document_path(&self, name: &str) -> PathBuf {
        let digest = record::name_digest(&CachedDocument::sealed_name(name));
        self.root.join(DOCUMENTS).join(format!("{digest}.bin"))
    }

    /// The document stored under `name` while it is usable.
    pub(super) fn document(&self, name: &str) -> Result<Option<CachedDocument>> {
        let Some((bytes, _)) = read_file(&self.document_path(name))? else {
            return Ok(None);
        };
        let doc = record::open_secret(&self.cipher, &CachedDocument::sealed_name(name), &bytes)
            .ok()
            .and_then(|json| CachedDocument::from_json(json.expose()));
        Ok(doc.filter(|d| d.is_usable(SystemTime::now())))
    }

    /// Stores `doc` under `name`, replacing the previous copy.
    pub(super) fn put_document(&self, name: &str, doc: &CachedDocument) -> Result<()> {
        let json = Secret::new(doc.to_json());
        let sealed = record::seal_secret(&self.cipher, &CachedDocument::sealed_name(name), &json)?;
        self.write(&self.document_path(name), &sealed)
    }
}
