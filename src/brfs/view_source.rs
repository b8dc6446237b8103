//! The mount source over `engine::view::ArchiveView`: real archives (snapshot, optional log)
//! opened with their keys. Only adapts types; every byte comes from the view layer.

use super::cli::{parse_size, BadInput, MountArgs};
use super::source::{
    ArchiveFacts, MountCatalog, MountDatabase, MountSource, MountTable, TableFileKind,
};
use crate::engine::view::file::Result;
use crate::engine::view::{
    ArchiveView, Catalog, ViewFile, ViewOptions, ViewTable, DEFAULT_CACHE_BYTES,
};
use crate::format::crypto::{Cipher, CipherMethod};
use std::sync::Arc;

/// An archive opened through `engine::view`.
pub struct ViewSource {
    view: Arc<ArchiveView>,
    facts: ArchiveFacts,
}

fn method_name(c: &Cipher) -> &'static str {
    match c.method {
        CipherMethod::Plaintext => "plaintext",
        CipherMethod::Aes128Ctr => "aes128-ctr",
        CipherMethod::Aes192Ctr => "aes192-ctr",
        CipherMethod::Aes256Ctr => "aes256-ctr",
    }
}

/// A URL with credentials redacted, as the storage layer prints it.
fn display_url(url: &str) -> String {
    crate::storage::open_url(url)
        .map(|s| s.display_url())
        .unwrap_or_else(|_| url.to_string())
}

impl ViewSource {
    /// Opens the archive metadata (no table is decoded). Any failure is bad input: an
    /// unreadable or undecodable archive, or a wrong key (BRFS-13).
    pub fn open_with(opts: ViewOptions) -> anyhow::Result<Arc<ViewSource>> {
        let storage = display_url(&opts.storage);
        let log_storage = opts.log_storage.as_deref().map(display_url);
        let encryption = method_name(&opts.cipher).to_string();
        let view = ArchiveView::open(opts).map_err(|e| BadInput(e.to_string()))?;
        let snap = view.snapshot();
        let cat = view
            .catalog(view.snapshot_ts())
            .map_err(|e| BadInput(e.to_string()))?;
        let facts = ArchiveFacts {
            storage,
            log_storage,
            cluster_id: snap.meta.cluster_id,
            cluster_version: snap.meta.cluster_version.clone(),
            br_version: snap.meta.br_version.clone(),
            backup_ts: view.snapshot_ts(),
            backup_size: snap.meta.backup_size,
            data_files: snap.files.len() as u64,
            data_bytes: snap.files.iter().map(|f| f.size).sum(),
            databases: cat.databases.len() as u64,
            tables: cat.databases.iter().map(|d| d.tables.len() as u64).sum(),
            encryption,
        };
        Ok(Arc::new(ViewSource { view, facts }))
    }

    pub fn view(&self) -> &Arc<ArchiveView> {
        &self.view
    }
}

/// `brfs mount`'s opener: the flags into `ViewOptions`.
pub fn open(a: &MountArgs, snap: Cipher, log: Cipher) -> anyhow::Result<Arc<ViewSource>> {
    let mut opts = ViewOptions::new(&a.storage);
    opts.log_storage = a.log_storage.clone();
    opts.cipher = snap;
    opts.log_cipher = Some(log);
    if let Some(d) = &a.cache_dir {
        opts.cache_dir = d.clone();
    }
    opts.cache_bytes = parse_size(&a.cache_size).unwrap_or(DEFAULT_CACHE_BYTES);
    ViewSource::open_with(opts)
}

impl MountSource for ViewSource {
    type Table = (Arc<Catalog>, Arc<ViewTable>);

    fn facts(&self) -> ArchiveFacts {
        self.facts.clone()
    }
    fn snapshot_ts(&self) -> u64 {
        self.view.snapshot_ts()
    }
    fn windows(&self) -> Vec<(u64, u64)> {
        self.view.windows()
    }
    fn flush_points(&self) -> Vec<u64> {
        self.view.flush_points()
    }
    fn parse_ts(&self, s: &str) -> Result<u64> {
        self.view.parse_ts(s)
    }
    fn catalog(&self, ts: u64) -> Result<Arc<MountCatalog<Self::Table>>> {
        let cat = self.view.catalog(ts)?;
        let databases = cat
            .databases
            .iter()
            .map(|d| MountDatabase {
                name: d.name.clone(),
                tables: d
                    .tables
                    .iter()
                    .map(|t| MountTable {
                        name: t.name.clone(),
                        handle: (cat.clone(), t.clone()),
                    })
                    .collect(),
            })
            .collect();
        Ok(Arc::new(MountCatalog { ts, databases }))
    }
    fn table_file(&self, t: &Self::Table, kind: TableFileKind) -> Result<Arc<dyn ViewFile>> {
        self.view.table_file(&t.0, &t.1, kind)
    }
    fn table_data_files(&self, t: &Self::Table) -> Result<Vec<(String, u64)>> {
        Ok(self.view.table_data_files(&t.1))
    }
    fn objects(&self) -> Result<Vec<(String, u64)>> {
        self.view.objects()
    }
    fn object_file(&self, name: &str, size: u64) -> Arc<dyn ViewFile> {
        self.view.object_file(name, size)
    }
    fn backupmeta_json(&self) -> Result<Vec<u8>> {
        self.view.backupmeta_json()
    }
}
