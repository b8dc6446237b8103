//! `stats.json` of a table (VIEW-8): the checksum (the backupmeta's at the snapshot ts, CSUM-3;
//! recomputed from the view's KVs over every range of the table at a later ts, as ADMIN
//! CHECKSUM TABLE would give on the source then), the row count and `rows.csv` length (one
//! size pass of `rows.csv`), and the snapshot data files. Computed on the first `size` or
//! `read_at`, then served from memory.

use super::catalog::TableData;
use super::file::{BytesFile, Result, ViewError, ViewFile};
use super::kvs::{segments, walk_segment, Flow};
use super::lazy::LazyFile;
use super::Shared;
use crate::codec::tso::display_utc;
use crate::engine::ranges::table_ranges;
use crate::format::checksum::Checksum;
use serde_json::json;
use std::sync::{Arc, Mutex};

pub(crate) struct StatsFile {
    data: Arc<TableData>,
    csv: Arc<LazyFile>,
    doc: Mutex<Option<Arc<BytesFile>>>,
    /// Last: dropped after the overlay that lives in its scratch directory.
    shared: Arc<Shared>,
}

impl StatsFile {
    pub fn new(shared: Arc<Shared>, data: Arc<TableData>, csv: Arc<LazyFile>) -> StatsFile {
        StatsFile {
            shared,
            data,
            csv,
            doc: Mutex::new(None),
        }
    }

    fn doc(&self) -> Result<Arc<BytesFile>> {
        let mut slot = self.doc.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(d) = slot.as_ref() {
            return Ok(d.clone());
        }
        let d = Arc::new(BytesFile::new(self.render()?));
        *slot = Some(d.clone());
        Ok(d)
    }

    fn render(&self) -> Result<Vec<u8>> {
        let d = &self.data;
        let rows_csv_bytes = self.csv.size()?;
        let rows = self.csv.row_count()?;
        let (sum, source) = match d.snapshot_checksum {
            Some(c) => (c, "backupmeta"),
            None => (recompute(&self.shared, d)?, "recomputed"),
        };
        let files: Vec<_> = d
            .files
            .iter()
            .map(|&i| {
                let f = &self.shared.files[i];
                json!({"name": f.name, "cf": f.cf.as_str(), "size": f.size,
                       "crc64xor": f.checksum.crc64xor, "total_kvs": f.checksum.total_kvs,
                       "total_bytes": f.checksum.total_bytes})
            })
            .collect();
        let doc = json!({
            "db": d.db,
            "table": d.name,
            "table_id": d.info.id,
            "physical_ids": d.info.physical_ids(),
            "ts": {"tso": d.ts, "time": display_utc(d.ts)},
            "view": if d.pitr { "pitr" } else { "snapshot" },
            "rows": rows,
            "rows_csv_bytes": rows_csv_bytes,
            "checksum": {
                "source": source,
                "crc64xor": sum.crc64xor,
                "total_kvs": sum.total_kvs,
                "total_bytes": sum.total_bytes,
            },
            "data_files": files,
            "data_file_count": d.files.len(),
            "data_bytes": d.files.iter().map(|&i| self.shared.files[i].size).sum::<u64>(),
        });
        let mut out = serde_json::to_vec_pretty(&doc).map_err(|e| ViewError::Invalid {
            context: "stats.json".into(),
            detail: e.to_string(),
        })?;
        out.push(b'\n');
        Ok(out)
    }
}

/// CSUM-3 recomputed at the view's ts: every KV of every range of the table (record and
/// index ranges of each physical id, global indexes under the logical id), snapshot merged
/// with the log overlay (VIEW-8).
pub(crate) fn recompute(shared: &Shared, d: &TableData) -> Result<Checksum> {
    let ranges = table_ranges(&d.info)?;
    let segs = segments(&shared.files, &d.files, &ranges)?;
    let overlay = d.overlay(shared)?;
    let mut sum = Checksum::default();
    for seg in &segs {
        let _ = walk_segment(shared, seg, None, overlay.as_ref().as_ref(), &mut |k, v| {
            sum.update(k, v);
            Ok(Flow::Continue(()))
        })?;
    }
    Ok(sum)
}

impl ViewFile for StatsFile {
    fn size(&self) -> Result<u64> {
        self.doc()?.size()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        self.doc()?.read_at(offset, buf)
    }
}
