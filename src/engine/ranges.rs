//! The raw key ranges BR backs up for a table and TiDB's ADMIN CHECKSUM covers (RANGE-1..3,
//! facts §4.2): per physical table (the table, or each partition) the record range (int or
//! common handle form) plus one range per public index; a global index once, under the
//! logical table id.

use crate::codec::model::TableInfo;
use crate::codec::table::KeyRange;
use crate::codec::Result;

/// Every range of `info`, sorted by start key (the workload's checksum ranges, RANGE-4).
pub fn table_ranges(info: &TableInfo) -> Result<Vec<KeyRange>> {
    let mut out = crate::engine::workload::checksum_ranges(info)
        .map_err(|e| crate::codec::CodecError::invalid("TableInfo", e.to_string()))?;
    out.sort_by(|a, b| a.start.cmp(&b.start));
    Ok(out)
}

/// The same as (start, end) pairs.
pub fn table_range_pairs(info: &TableInfo) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    Ok(table_ranges(info)?
        .into_iter()
        .map(|r| (r.start, r.end))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::table::{index_prefix, record_prefix};

    const USERS: &str = r#"{"id":110,"name":{"O":"users","L":"users"},"pk_is_handle":true,
      "cols":[{"id":1,"name":{"O":"id","L":"id"},"offset":0,"state":5,"type":{"Tp":8,"Flag":3}},
              {"id":2,"name":{"O":"name","L":"name"},"offset":1,"state":5,"type":{"Tp":15}}],
      "index_info":[{"id":1,"idx_name":{"O":"idx_name","L":"idx_name"},"idx_cols":[{"name":{"O":"name","L":"name"},"offset":1,"length":-1}],"state":5},
                    {"id":2,"idx_name":{"O":"hidden","L":"hidden"},"idx_cols":[],"state":3}],
      "state":5}"#;

    #[test]
    fn range_3_record_and_public_indexes_only() {
        let info = TableInfo::from_json(USERS.as_bytes()).unwrap();
        let r = table_ranges(&info).unwrap();
        assert_eq!(r.len(), 2, "record + the one public index: {r:?}");
        assert!(r[0].start.starts_with(&index_prefix(110, 1)));
        assert!(r[1].start.starts_with(&record_prefix(110)));
    }
}
