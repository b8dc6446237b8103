//! A catalog at one ts as the VFS navigates it: database and table directory entries
//! (encoded names, BRFS-5), sorted (BRFS-8), with lookups by entry name.

use super::names::encode_name;
use super::source::{MountCatalog, MountTable};
use std::collections::HashMap;
use std::sync::Arc;

/// One database directory: its entry name, the index of the database in the catalog, and its
/// tables as (entry name, index in the database), sorted by entry name.
#[derive(Debug)]
pub struct DbDir {
    pub entry: String,
    pub db: usize,
    pub tables: Vec<(String, usize)>,
    by_entry: HashMap<String, usize>,
}

/// The directory view of a catalog.
#[derive(Debug)]
pub struct CatalogIndex<T> {
    pub catalog: Arc<MountCatalog<T>>,
    pub dbs: Vec<DbDir>,
    by_entry: HashMap<String, usize>,
    /// Names left out because another database or table had the same entry name.
    pub duplicates: Vec<String>,
}

impl<T> CatalogIndex<T> {
    pub fn new(catalog: Arc<MountCatalog<T>>) -> CatalogIndex<T> {
        let mut duplicates = Vec::new();
        let mut dbs: Vec<DbDir> = Vec::with_capacity(catalog.databases.len());
        let mut by_entry = HashMap::with_capacity(catalog.databases.len());
        for (di, db) in catalog.databases.iter().enumerate() {
            let entry = encode_name(&db.name, true);
            if by_entry.contains_key(&entry) {
                duplicates.push(db.name.clone());
                continue;
            }
            let mut tables: Vec<(String, usize)> = Vec::with_capacity(db.tables.len());
            let mut t_by_entry = HashMap::with_capacity(db.tables.len());
            for (ti, t) in db.tables.iter().enumerate() {
                let e = encode_name(&t.name, false);
                if t_by_entry.contains_key(&e) {
                    duplicates.push(format!("{}.{}", db.name, t.name));
                    continue;
                }
                t_by_entry.insert(e.clone(), ti);
                tables.push((e, ti));
            }
            tables.sort();
            let by_entry_t = tables
                .iter()
                .enumerate()
                .map(|(pos, (e, _))| (e.clone(), pos))
                .collect();
            by_entry.insert(entry.clone(), di);
            dbs.push(DbDir {
                entry,
                db: di,
                tables,
                by_entry: by_entry_t,
            });
        }
        dbs.sort_by(|a, b| a.entry.cmp(&b.entry));
        let by_entry = dbs
            .iter()
            .enumerate()
            .map(|(pos, d)| (d.entry.clone(), pos))
            .collect();
        CatalogIndex {
            catalog,
            dbs,
            by_entry,
            duplicates,
        }
    }

    pub fn ts(&self) -> u64 {
        self.catalog.ts
    }

    /// The position in [`CatalogIndex::dbs`] of the database directory `entry`.
    pub fn db(&self, entry: &str) -> Option<usize> {
        self.by_entry.get(entry).copied()
    }

    /// The position in `dbs[db].tables` of the table directory `entry`.
    pub fn table(&self, db: usize, entry: &str) -> Option<usize> {
        self.dbs.get(db)?.by_entry.get(entry).copied()
    }

    /// The table at positions (`db`, `table`) of the directory lists.
    pub fn mount_table(&self, db: usize, table: usize) -> Option<&MountTable<T>> {
        let d = self.dbs.get(db)?;
        let &(_, ti) = d.tables.get(table)?;
        self.catalog.databases.get(d.db)?.tables.get(ti)
    }

    pub fn table_count(&self) -> usize {
        self.dbs.iter().map(|d| d.tables.len()).sum()
    }
}
