//! `brtool diff`: what changed between two views (two archives, or one archive at two ts),
//! per table, by row handle (VIEW-12). Tables are matched by database and table name, the
//! partitions of a partitioned table by partition name; within a pair both sides stream
//! their rows in key order (one thread each, a bounded channel between) and are merge-joined
//! on the handle bytes of the record key (int handle or common handle): a handle only in B
//! is inserted, only in A deleted, in both with a different decoded row (its `rows.csv`
//! line) changed. Memory stays bounded whatever the table sizes.

use super::catalog::TableData;
use super::file::{Result, ViewError};
use super::kvs::{segments, walk_segment, Flow};
use super::lazy::record_ranges;
use super::render::{Renderer, RowFormat};
use super::{ArchiveView, Shared};
use crate::engine::filter::TableFilter;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;

/// Rows per message between a producer and the join.
const BATCH: usize = 512;
/// Batches in flight per side.
const IN_FLIGHT: usize = 4;

/// One side of a diff.
#[derive(Clone, Copy)]
pub struct DiffSide<'a> {
    pub view: &'a ArchiveView,
    pub ts: u64,
}

/// How a table compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffStatus {
    Same,
    Changed,
    OnlyInA,
    OnlyInB,
}

impl DiffStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DiffStatus::Same => "same",
            DiffStatus::Changed => "changed",
            DiffStatus::OnlyInA => "only-in-a",
            DiffStatus::OnlyInB => "only-in-b",
        }
    }
}

/// One table's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDiff {
    pub db: String,
    pub table: String,
    pub status: DiffStatus,
    pub rows_a: u64,
    pub rows_b: u64,
    pub inserted: u64,
    pub deleted: u64,
    pub changed: u64,
}

impl TableDiff {
    /// The JSON Lines record (VIEW-12).
    pub fn to_json(&self) -> Value {
        json!({"type": "table", "db": self.db, "table": self.table, "status": self.status.as_str(),
               "rows_a": self.rows_a, "rows_b": self.rows_b, "inserted": self.inserted,
               "deleted": self.deleted, "changed": self.changed})
    }
}

/// Totals over every table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiffSummary {
    pub tables: u64,
    pub same: u64,
    pub changed: u64,
    pub only_in_a: u64,
    pub only_in_b: u64,
    pub rows_inserted: u64,
    pub rows_deleted: u64,
    pub rows_changed: u64,
}

impl DiffSummary {
    pub fn to_json(&self) -> Value {
        json!({"type": "summary", "tables": self.tables, "same": self.same, "changed": self.changed,
               "only_in_a": self.only_in_a, "only_in_b": self.only_in_b,
               "rows_inserted": self.rows_inserted, "rows_deleted": self.rows_deleted,
               "rows_changed": self.rows_changed})
    }

    /// True when nothing differs.
    pub fn is_empty(&self) -> bool {
        self.changed + self.only_in_a + self.only_in_b == 0
    }

    fn add(&mut self, t: &TableDiff) {
        self.tables += 1;
        match t.status {
            DiffStatus::Same => self.same += 1,
            DiffStatus::Changed => self.changed += 1,
            DiffStatus::OnlyInA => self.only_in_a += 1,
            DiffStatus::OnlyInB => self.only_in_b += 1,
        }
        self.rows_inserted += t.inserted;
        self.rows_deleted += t.deleted;
        self.rows_changed += t.changed;
    }
}

/// (handle bytes, rendered row)
type Row = (Vec<u8>, Vec<u8>);

/// The rows of one physical table of a side, streamed by a producer thread.
fn stream(shared: Arc<Shared>, data: Arc<TableData>, pid_index: usize) -> Rows {
    let (tx, rx) = sync_channel(IN_FLIGHT);
    let thread = std::thread::spawn(move || {
        let run = || -> Result<()> {
            let renderer = Renderer::new(&data.info, RowFormat::Csv)?;
            let ranges = record_ranges(&data)?;
            let range = ranges
                .get(pid_index)
                .cloned()
                .into_iter()
                .collect::<Vec<_>>();
            let segs = segments(&shared.files, &data.files, &range)?;
            let overlay = data.overlay(&shared)?;
            let mut batch: Vec<Row> = Vec::with_capacity(BATCH);
            for seg in &segs {
                let flow = walk_segment(
                    &shared,
                    seg,
                    None,
                    overlay.as_ref().as_ref(),
                    &mut |k, v| {
                        let mut line = Vec::new();
                        if renderer.render(k, v, &mut line)? {
                            // t{id:8}_r{handle}: the handle is everything after the 11-byte prefix.
                            batch.push((k.get(11..).unwrap_or_default().to_vec(), line));
                        }
                        if batch.len() >= BATCH && tx.send(Ok(std::mem::take(&mut batch))).is_err()
                        {
                            return Ok(Flow::Break(()));
                        }
                        Ok(Flow::Continue(()))
                    },
                )?;
                if flow.is_break() {
                    return Ok(());
                }
            }
            let _ = tx.send(Ok(batch));
            Ok(())
        };
        if let Err(e) = run() {
            let _ = tx.send(Err(e));
        }
    });
    Rows {
        rx: Some(rx),
        buf: Vec::new().into_iter(),
        thread: Some(thread),
    }
}

/// Pulls rows one by one from a producer (none for a side without the partition).
struct Rows {
    rx: Option<Receiver<Result<Vec<Row>>>>,
    buf: std::vec::IntoIter<Row>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Rows {
    /// Stops the producer and waits for it: no producer outlives the diff.
    fn drop(&mut self) {
        self.rx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Rows {
    fn none() -> Rows {
        Rows {
            rx: None,
            buf: Vec::new().into_iter(),
            thread: None,
        }
    }

    fn next(&mut self) -> Result<Option<Row>> {
        loop {
            if let Some(r) = self.buf.next() {
                return Ok(Some(r));
            }
            let Some(rx) = &self.rx else { return Ok(None) };
            match rx.recv() {
                Ok(batch) => self.buf = batch?.into_iter(),
                Err(_) => {
                    self.rx = None;
                    return Ok(None);
                }
            }
        }
    }
}

/// Partition name → index into `physical_ids()` ("" for an unpartitioned table).
fn partitions(data: &TableData) -> Vec<String> {
    match &data.info.partition {
        Some(p) if !p.definitions.is_empty() => {
            p.definitions.iter().map(|d| d.name.l.clone()).collect()
        }
        _ => vec![String::new()],
    }
}

/// Compares one table present on either side.
fn diff_table(
    a: Option<(&Arc<Shared>, &Arc<TableData>)>,
    b: Option<(&Arc<Shared>, &Arc<TableData>)>,
    db: &str,
    table: &str,
) -> Result<TableDiff> {
    let mut out = TableDiff {
        db: db.to_string(),
        table: table.to_string(),
        status: DiffStatus::Same,
        rows_a: 0,
        rows_b: 0,
        inserted: 0,
        deleted: 0,
        changed: 0,
    };
    let pa = a.map(|(_, d)| partitions(d)).unwrap_or_default();
    let pb = b.map(|(_, d)| partitions(d)).unwrap_or_default();
    let mut names: Vec<&String> = pa.iter().collect();
    names.extend(pb.iter().filter(|n| !pa.contains(n)));
    for name in names {
        let side = |s: Option<(&Arc<Shared>, &Arc<TableData>)>, list: &[String]| {
            let (sh, d) = s?;
            let i = list.iter().position(|n| n == name)?;
            Some(stream(sh.clone(), d.clone(), i))
        };
        let mut ra = side(a, &pa).unwrap_or_else(Rows::none);
        let mut rb = side(b, &pb).unwrap_or_else(Rows::none);
        let (mut x, mut y) = (ra.next()?, rb.next()?);
        loop {
            match (&x, &y) {
                (None, None) => break,
                (Some(_), None) => {
                    out.rows_a += 1;
                    out.deleted += 1;
                    x = ra.next()?;
                }
                (None, Some(_)) => {
                    out.rows_b += 1;
                    out.inserted += 1;
                    y = rb.next()?;
                }
                (Some((ha, la)), Some((hb, lb))) => match ha.cmp(hb) {
                    std::cmp::Ordering::Less => {
                        out.rows_a += 1;
                        out.deleted += 1;
                        x = ra.next()?;
                    }
                    std::cmp::Ordering::Greater => {
                        out.rows_b += 1;
                        out.inserted += 1;
                        y = rb.next()?;
                    }
                    std::cmp::Ordering::Equal => {
                        out.rows_a += 1;
                        out.rows_b += 1;
                        if la != lb {
                            out.changed += 1;
                        }
                        x = ra.next()?;
                        y = rb.next()?;
                    }
                },
            }
        }
    }
    out.status = match (a.is_some(), b.is_some()) {
        (true, false) => DiffStatus::OnlyInA,
        (false, true) => DiffStatus::OnlyInB,
        _ if out.inserted + out.deleted + out.changed > 0 => DiffStatus::Changed,
        _ => DiffStatus::Same,
    };
    Ok(out)
}

/// Compares every table selected by `filter` on either side; `visit` gets each table's
/// result as it is done (tables in database, table name order).
pub fn diff(
    a: DiffSide<'_>,
    b: DiffSide<'_>,
    filter: &TableFilter,
    visit: &mut dyn FnMut(&TableDiff) -> Result<()>,
) -> Result<DiffSummary> {
    let ca = a.view.catalog(a.ts)?;
    let cb = b.view.catalog(b.ts)?;
    type Pair = (Option<Arc<TableData>>, Option<Arc<TableData>>);
    let mut tables: BTreeMap<(String, String), Pair> = BTreeMap::new();
    for t in ca.tables().filter(|t| filter.matches_table(&t.db, &t.name)) {
        tables
            .entry((t.db.to_lowercase(), t.name.to_lowercase()))
            .or_default()
            .0 = Some(t.data.clone());
    }
    for t in cb.tables().filter(|t| filter.matches_table(&t.db, &t.name)) {
        tables
            .entry((t.db.to_lowercase(), t.name.to_lowercase()))
            .or_default()
            .1 = Some(t.data.clone());
    }
    let mut summary = DiffSummary::default();
    for (_, (da, db)) in tables {
        let named = da
            .as_ref()
            .or(db.as_ref())
            .ok_or_else(|| ViewError::Invalid {
                context: "diff".into(),
                detail: "a table on neither side".into(),
            })?;
        let (dbn, tn) = (named.db.clone(), named.name.clone());
        let t = diff_table(
            da.as_ref().map(|d| (&a.view.shared, d)),
            db.as_ref().map(|d| (&b.view.shared, d)),
            &dbn,
            &tn,
        )?;
        summary.add(&t);
        visit(&t)?;
    }
    Ok(summary)
}
