//! A fake `MountSource` for the brfs tests: a small archive held in memory (two databases,
//! names that need escaping, a database named like a reserved root entry, nested object
//! names, a log window with flush points), with counters that prove what was decoded.

use brkit::brfs::{
    ArchiveFacts, MountCatalog, MountDatabase, MountSource, MountTable, TableFileKind,
};
use brkit::engine::view::file::Result;
use brkit::engine::view::{BytesFile, ViewError, ViewFile};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub const SNAP_TS: u64 = 449460987494400001; // 2024-05-01 10:00:00 UTC, logical 1
pub const FLUSH_TS: u64 = 449460987494400001 + (1000 << 18); // one second later
pub const CHECKPOINT_TS: u64 = 449460987494400001 + (5000 << 18);

/// A file whose `size` and `read_at` are counted (and optionally slow).
pub struct CountedFile {
    pub bytes: Vec<u8>,
    pub sizes: Arc<AtomicUsize>,
    pub delay: Duration,
    /// Every read fails like a damaged data file.
    pub fail: bool,
}

impl ViewFile for CountedFile {
    fn size(&self) -> Result<u64> {
        self.sizes.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(self.delay);
        Ok(self.bytes.len() as u64)
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        std::thread::sleep(self.delay);
        if self.fail {
            return Err(ViewError::Invalid {
                context: "data file 1/5_2_orders_write.sst".into(),
                detail: "checksum mismatch".into(),
            });
        }
        // At most 1000 bytes per call: the VFS must loop for a full read.
        let start = (offset as usize).min(self.bytes.len());
        let n = buf.len().min(self.bytes.len() - start).min(1000);
        buf[..n].copy_from_slice(&self.bytes[start..start + n]);
        Ok(n)
    }
}

/// `db -> table -> rows` at a ts.
type Tables = BTreeMap<String, BTreeMap<String, Vec<String>>>;

pub struct FakeSource {
    pub with_log: bool,
    /// Every `size()` of a table file (rows decoded) counts here.
    pub sizes: Arc<AtomicUsize>,
    pub catalogs: AtomicUsize,
    pub objects_listed: AtomicUsize,
    /// Delay of every read of `slow.big`'s files.
    pub slow: Duration,
    /// Tables of an extra database `many` (for the memory bound).
    pub many: usize,
    /// Reads of table files fail (a damaged archive).
    pub fail_reads: bool,
}

/// A table handle: (db, table, ts).
pub type FakeTable = (String, String, u64);

impl FakeSource {
    pub fn new(with_log: bool) -> FakeSource {
        FakeSource {
            with_log,
            sizes: Arc::new(AtomicUsize::new(0)),
            catalogs: AtomicUsize::new(0),
            objects_listed: AtomicUsize::new(0),
            slow: Duration::ZERO,
            many: 0,
            fail_reads: false,
        }
    }

    /// The tables and their rows at `ts`: `shop.orders` gains a row at the flush point and
    /// `shop.gone` is dropped at the checkpoint.
    pub fn tables(ts: u64) -> Tables {
        let mut t: Tables = BTreeMap::new();
        let shop = t.entry("shop".into()).or_default();
        let mut orders = vec!["1,apple".to_string(), "2,pear".to_string()];
        if ts >= FLUSH_TS {
            orders.push("3,plum".into());
        }
        shop.insert("orders".into(), orders);
        shop.insert("a/b".into(), vec!["1,slash".into()]);
        shop.insert("50%".into(), vec!["1,percent".into()]);
        if ts < CHECKPOINT_TS {
            shop.insert("gone".into(), vec!["1,x".into()]);
        }
        t.entry("raw".into())
            .or_default()
            .insert("t".into(), vec!["1,reserved".into()]);
        t.entry("empty_db".into()).or_default();
        let big: Vec<String> = (0..5000)
            .map(|i| format!("{i},{}", "x".repeat(40)))
            .collect();
        t.entry("slow".into())
            .or_default()
            .insert("big".into(), big);
        t
    }

    pub fn rows_csv(ts: u64, db: &str, table: &str) -> Vec<u8> {
        let mut s = String::from("id,name\n");
        for r in &Self::tables(ts)[db][table] {
            s.push_str(r);
            s.push('\n');
        }
        s.into_bytes()
    }

    pub fn file_bytes(ts: u64, db: &str, table: &str, kind: TableFileKind) -> Vec<u8> {
        match kind {
            TableFileKind::RowsCsv => Self::rows_csv(ts, db, table),
            TableFileKind::RowsJsonl => Self::rows_csv(ts, db, table)
                .iter()
                .map(|b| if *b == b',' { b'\t' } else { *b })
                .collect(),
            TableFileKind::SchemaSql => {
                format!("CREATE TABLE `{table}` (id BIGINT PRIMARY KEY, name TEXT);\n").into_bytes()
            }
            TableFileKind::TableJson => format!("{{\"name\":\"{table}\"}}\n").into_bytes(),
            TableFileKind::StatsJson => format!("{{\"db\":\"{db}\",\"ts\":{ts}}}\n").into_bytes(),
        }
    }

    /// The archive's objects: nested names, data files of `shop.orders`.
    pub fn object_list() -> Vec<(String, u64)> {
        vec![
            ("backupmeta".into(), 100),
            ("backup.lock".into(), 20),
            ("1/5_2_orders_write.sst".into(), 300),
            ("1/5_2_orders_default.sst".into(), 400),
            ("2/9_3_big_write.sst".into(), 50),
            ("log/v1/backupmeta/1.meta".into(), 60),
        ]
    }

    /// Deterministic object bytes: the name repeated up to the size.
    pub fn object_bytes(name: &str, size: u64) -> Vec<u8> {
        name.bytes().cycle().take(size as usize).collect()
    }
}

impl MountSource for FakeSource {
    type Table = FakeTable;

    fn facts(&self) -> ArchiveFacts {
        ArchiveFacts {
            storage: "local:///fake".into(),
            log_storage: self.with_log.then(|| "local:///fake-log".into()),
            cluster_id: 7,
            cluster_version: "v8.5.0".into(),
            br_version: "brkit test".into(),
            backup_ts: SNAP_TS,
            backup_size: 1234,
            data_files: 3,
            data_bytes: 750,
            databases: 4,
            tables: 6,
            encryption: "plaintext".into(),
        }
    }
    fn snapshot_ts(&self) -> u64 {
        SNAP_TS
    }
    fn windows(&self) -> Vec<(u64, u64)> {
        if self.with_log {
            vec![(SNAP_TS, CHECKPOINT_TS)]
        } else {
            Vec::new()
        }
    }
    fn flush_points(&self) -> Vec<u64> {
        if self.with_log {
            vec![FLUSH_TS, CHECKPOINT_TS]
        } else {
            Vec::new()
        }
    }
    fn parse_ts(&self, s: &str) -> Result<u64> {
        brkit::codec::tso::parse_ts_string(s, false).map_err(|e| ViewError::Invalid {
            context: format!("ts {s:?}"),
            detail: e.to_string(),
        })
    }
    fn catalog(&self, ts: u64) -> Result<Arc<MountCatalog<FakeTable>>> {
        if ts != SNAP_TS && !(self.with_log && (SNAP_TS..=CHECKPOINT_TS).contains(&ts)) {
            return Err(ViewError::TsOutsideWindow {
                ts,
                detail: "fake".into(),
            });
        }
        self.catalogs.fetch_add(1, Ordering::SeqCst);
        let mut tables = Self::tables(ts);
        if self.many > 0 {
            let m = tables.entry("many".into()).or_default();
            for i in 0..self.many {
                m.insert(format!("t{i}"), Vec::new());
            }
        }
        let databases = tables
            .into_iter()
            .map(|(db, tables)| MountDatabase {
                name: db.clone(),
                tables: tables
                    .into_keys()
                    .map(|t| MountTable {
                        name: t.clone(),
                        handle: (db.clone(), t, ts),
                    })
                    .collect(),
            })
            .collect();
        Ok(Arc::new(MountCatalog { ts, databases }))
    }
    fn table_file(&self, t: &FakeTable, kind: TableFileKind) -> Result<Arc<dyn ViewFile>> {
        if t.0 == "many" {
            return Ok(Arc::new(BytesFile::new(b"id,name\n".to_vec())));
        }
        let delay = if t.0 == "slow" {
            self.slow
        } else {
            Duration::ZERO
        };
        Ok(Arc::new(CountedFile {
            bytes: Self::file_bytes(t.2, &t.0, &t.1, kind),
            sizes: self.sizes.clone(),
            delay,
            fail: self.fail_reads,
        }))
    }
    fn table_data_files(&self, t: &FakeTable) -> Result<Vec<(String, u64)>> {
        Ok(Self::object_list()
            .into_iter()
            .filter(|(n, _)| n.contains(&format!("_{}_", t.1)))
            .collect())
    }
    fn objects(&self) -> Result<Vec<(String, u64)>> {
        self.objects_listed.fetch_add(1, Ordering::SeqCst);
        Ok(Self::object_list())
    }
    fn object_file(&self, name: &str, size: u64) -> Arc<dyn ViewFile> {
        Arc::new(BytesFile::new(Self::object_bytes(name, size)))
    }
    fn backupmeta_json(&self) -> Result<Vec<u8>> {
        Ok(b"{\"kind\":\"snapshot\"}\n".to_vec())
    }
}
