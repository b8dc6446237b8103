//! The text of `/README.txt` (BRFS-3): what the archive is and how to read the mount.

use super::source::ArchiveFacts;
use crate::codec::tso::display_utc;
use std::fmt::Write;

fn ts_line(ts: u64) -> String {
    format!("{ts} ({})", display_utc(ts))
}

/// Renders the README of a mount whose root shows `root_ts`.
pub fn render_readme(
    f: &ArchiveFacts,
    root_ts: u64,
    windows: &[(u64, u64)],
    time_points: &[u64],
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "brfs: a read-only view of a TiDB BR snapshot archive\n");
    let _ = writeln!(s, "Archive          {}", f.storage);
    let _ = writeln!(
        s,
        "Cluster          id {}  version {}",
        f.cluster_id, f.cluster_version
    );
    let _ = writeln!(s, "BR version       {}", f.br_version);
    let _ = writeln!(s, "Backup ts        {}", ts_line(f.backup_ts));
    let _ = writeln!(s, "This view (/)    {}", ts_line(root_ts));
    let _ = writeln!(
        s,
        "Size             backup size {} bytes, {} data files of {} bytes",
        f.backup_size, f.data_files, f.data_bytes
    );
    let _ = writeln!(
        s,
        "Tables           {} in {} databases",
        f.tables, f.databases
    );
    let _ = writeln!(s, "Encryption       {}", f.encryption);
    match &f.log_storage {
        Some(url) => {
            let _ = writeln!(s, "Log archive      {url}");
            for (a, b) in windows {
                let _ = writeln!(s, "  window         {} .. {}", ts_line(*a), ts_line(*b));
            }
            let _ = writeln!(
                s,
                "  time points    {} (listed in at/; any ts inside a window works)",
                time_points.len()
            );
        }
        None => {
            let _ = writeln!(
                s,
                "Log archive      none (mount with --log-storage URL for at/<ts>/)"
            );
        }
    }
    s.push_str(
        "
Layout
  README.txt                   this file
  backupmeta.json              the decoded metadata (as `brtool inspect --json`)
  <db>/<table>/schema.sql      CREATE TABLE reconstructed from the table's schema
  <db>/<table>/table.json      the TableInfo JSON
  <db>/<table>/rows.csv        the rows at the view's ts: RFC 4180, header line, NULL as \\N
  <db>/<table>/rows.jsonl      the same rows as JSON Lines
  <db>/<table>/stats.json      checksums, row count, data files and sizes
  <db>/<table>/files/          the table's SST files (`/` in names as %2F), byte-identical
  raw/                         every archive object, byte-identical
  at/<ts>/<db>/<table>/...     the same tree at another ts (with a log archive); <ts> is a
                               TSO or a time such as 2024-05-01T10:00:00Z
Names: '%', '/' and NUL in database and table names are written %25, %2F, %00.

How to read it
  head -3 <db>/<table>/rows.csv
  python3 -c \"import duckdb; print(duckdb.sql(\\\"select count(*) from read_csv('<db>/<table>/rows.csv', nullstr='\\\\N', header=true)\\\"))\"
  brtool export -s <archive> --db <db> --table <table> --format csv -o FILE   (the same bytes, no FUSE)
Sizes are exact: the first stat of rows.csv or rows.jsonl decodes the table once.
Unmount with `brfs umount <mountpoint>`.
",
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brfs_3_readme_names_cluster_ts_tables_and_window() {
        let f = ArchiveFacts {
            storage: "local:///bk".into(),
            log_storage: Some("local:///log".into()),
            cluster_id: 7,
            cluster_version: "v8.5.0".into(),
            backup_ts: 449460987494400001,
            tables: 12,
            databases: 2,
            encryption: "plaintext".into(),
            ..Default::default()
        };
        let r = render_readme(
            &f,
            449460987494400001,
            &[(449460987494400001, 449460987494400009)],
            &[1, 2],
        );
        for needle in [
            "local:///bk",
            "id 7  version v8.5.0",
            "449460987494400001 (2024-05-01 10:00:00.000 UTC)",
            "12 in 2 databases",
            "local:///log",
            "time points    2",
            "rows.csv",
        ] {
            assert!(r.contains(needle), "{needle} missing from\n{r}");
        }
    }
}
