//! What `verify` reports: one [`Finding`] per defect (kind, spec rule, file, table, expected,
//! actual), the report that collects them with per-table results and the log restorable
//! window, and its JSON Lines rendering (`brtool verify --json`, documented in
//! format/verify.md). The exit code follows from the report: 0 clean, 1 findings of error
//! severity; "could not verify" (exit 2) is an `Err`, never a report.

use crate::format::checksum::Checksum;
use serde_json::{json, Value};

/// How bad a finding is. Warnings are reported but do not make the archive fail (exit 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One defect. `kind` is a stable kebab-case identifier (the list is in format/verify.md);
/// `rule` the spec rule the archive breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    pub kind: &'static str,
    pub rule: &'static str,
    pub file: Option<String>,
    /// `db.table` when the defect belongs to one table.
    pub table: Option<String>,
    pub expected: Option<String>,
    pub actual: Option<String>,
    pub detail: String,
}

impl Finding {
    /// An error-severity finding.
    pub fn error(kind: &'static str, rule: &'static str, detail: impl Into<String>) -> Finding {
        Finding {
            severity: Severity::Error,
            kind,
            rule,
            file: None,
            table: None,
            expected: None,
            actual: None,
            detail: detail.into(),
        }
    }

    /// A warning-severity finding.
    pub fn warning(kind: &'static str, rule: &'static str, detail: impl Into<String>) -> Finding {
        Finding {
            severity: Severity::Warning,
            ..Finding::error(kind, rule, detail)
        }
    }

    pub fn file(mut self, file: impl Into<String>) -> Finding {
        self.file = Some(file.into());
        self
    }

    pub fn table(mut self, table: impl Into<String>) -> Finding {
        self.table = Some(table.into());
        self
    }

    pub fn expected_actual(mut self, expected: impl ToString, actual: impl ToString) -> Finding {
        self.expected = Some(expected.to_string());
        self.actual = Some(actual.to_string());
        self
    }

    /// The JSON Lines object (`"type": "finding"`).
    pub fn to_json(&self) -> Value {
        json!({
            "type": "finding",
            "severity": self.severity.as_str(),
            "kind": self.kind,
            "rule": self.rule,
            "file": self.file,
            "table": self.table,
            "expected": self.expected,
            "actual": self.actual,
            "detail": self.detail,
        })
    }
}

/// Renders a checksum as `crc64xor=0x… kvs=N bytes=N` (the form findings carry).
pub fn checksum_text(c: &Checksum) -> String {
    format!(
        "crc64xor={:#018x} kvs={} bytes={}",
        c.crc64xor, c.total_kvs, c.total_bytes
    )
}

/// One table of a snapshot archive: what the Schema entry says and, at `--level kv`, what the
/// data gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableResult {
    pub db: String,
    pub table: String,
    pub files: usize,
    pub bytes: u64,
    /// CSUM-3: the Schema entry's checksum.
    pub expected: Checksum,
    /// CSUM-4: XOR/sum of the table's File entries.
    pub from_files: Checksum,
    /// Recomputed from the SST data (`--level kv` only).
    pub recomputed: Option<Checksum>,
    /// Record KVs decoded (`--level kv` only).
    pub rows: u64,
    pub undecodable_rows: u64,
    /// How many error findings name this table.
    pub errors: usize,
}

impl TableResult {
    pub fn to_json(&self) -> Value {
        let sum = |c: &Checksum| {
            json!({"crc64xor": format!("{:#018x}", c.crc64xor), "total_kvs": c.total_kvs,
                   "total_bytes": c.total_bytes})
        };
        json!({
            "type": "table",
            "db": self.db,
            "table": self.table,
            "status": if self.errors == 0 { "ok" } else { "failed" },
            "files": self.files,
            "bytes": self.bytes,
            "expected": sum(&self.expected),
            "from_files": sum(&self.from_files),
            "recomputed": self.recomputed.as_ref().map(sum),
            "rows": self.rows,
            "undecodable_rows": self.undecodable_rows,
            "errors": self.errors,
        })
    }
}

/// A restorable interval (or a gap) of a log archive, `[from, to]` in TSO, both ends
/// inclusive (VERIFY-LOG-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TsWindow {
    pub from: u64,
    pub to: u64,
}

/// What a log archive's verification found about time coverage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogResult {
    /// The task start ts (root `start_version`), or the snapshot's backup ts with
    /// `--full-backup-storage`.
    pub start_ts: u64,
    /// The global checkpoint (max over `v1/global_checkpoint/*.ts`).
    pub checkpoint_ts: u64,
    pub truncate_safepoint: Option<u64>,
    /// The restorable windows, in order; more than one means there are gaps.
    pub windows: Vec<TsWindow>,
    /// The gaps between windows.
    pub gaps: Vec<TsWindow>,
    pub metas: usize,
    pub groups: usize,
    pub sub_files: usize,
    pub bytes: u64,
}

impl LogResult {
    pub fn to_json(&self) -> Value {
        let w = |v: &[TsWindow]| -> Vec<Value> {
            v.iter()
                .map(|w| json!({"from": w.from, "to": w.to}))
                .collect()
        };
        json!({
            "type": "log",
            "start_ts": self.start_ts,
            "checkpoint_ts": self.checkpoint_ts,
            "truncate_safepoint": self.truncate_safepoint,
            "windows": w(&self.windows),
            "gaps": w(&self.gaps),
            "metas": self.metas,
            "groups": self.groups,
            "sub_files": self.sub_files,
            "bytes": self.bytes,
        })
    }
}

/// Everything one verification run found.
#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    /// `snapshot` or `log`.
    pub archive_kind: &'static str,
    pub level: &'static str,
    pub findings: Vec<Finding>,
    pub tables: Vec<TableResult>,
    pub log: Option<LogResult>,
    /// Data files (or log objects) whose bytes were read.
    pub files_read: u64,
    pub bytes_read: u64,
}

impl VerifyReport {
    pub fn push(&mut self, f: Finding) {
        self.findings.push(f);
    }

    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count()
    }

    pub fn warnings(&self) -> usize {
        self.findings.len() - self.errors()
    }

    /// 0 clean (warnings allowed), 1 when any error finding exists.
    pub fn exit_code(&self) -> u8 {
        u8::from(self.errors() > 0)
    }

    /// Findings of one kind (tests and the summary use it).
    pub fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Finding> + 'a {
        self.findings.iter().filter(move |f| f.kind == kind)
    }

    /// The closing JSON Lines object (`"type": "summary"`).
    pub fn summary_json(&self) -> Value {
        json!({
            "type": "summary",
            "archive": self.archive_kind,
            "level": self.level,
            "errors": self.errors(),
            "warnings": self.warnings(),
            "tables": self.tables.len(),
            "files_read": self.files_read,
            "bytes_read": self.bytes_read,
            "exit_code": self.exit_code(),
        })
    }

    /// Every JSON Lines object, in output order: findings, tables, log, summary.
    pub fn json_lines(&self) -> Vec<Value> {
        let mut out: Vec<Value> = self.findings.iter().map(Finding::to_json).collect();
        out.extend(self.tables.iter().map(TableResult::to_json));
        out.extend(self.log.iter().map(LogResult::to_json));
        out.push(self.summary_json());
        out
    }
}
