//! `schema.sql` against `SHOW CREATE TABLE` texts of the workload tables, written by hand in
//! TiDB's format (pingcap/tidb `pkg/executor/show.go` ConstructResultOfShowCreateTable; the
//! sysbench text is what TiDB prints for sysbench's own `CREATE TABLE`) (VIEW-6).

use super::*;
use crate::engine::workload::{schema, WorkloadSpec};

fn table(name: &str) -> TableInfo {
    let spec = WorkloadSpec {
        db: "sbtest".into(),
        tables: 1,
        rows: 1,
        seed: 1,
    };
    let def = schema(&spec).into_iter().find(|d| d.name == name).unwrap();
    TableInfo::from_json(&serde_json::to_vec(&def.info).unwrap()).unwrap()
}

#[test]
fn view_6_sysbench_table_as_tidb_shows_it() {
    assert_eq!(
        show_create_table(&table("sbtest1")),
        "CREATE TABLE `sbtest1` (\n\
         \x20 `id` int(11) NOT NULL AUTO_INCREMENT,\n\
         \x20 `k` int(11) NOT NULL DEFAULT '0',\n\
         \x20 `c` char(120) NOT NULL DEFAULT '',\n\
         \x20 `pad` char(60) NOT NULL DEFAULT '',\n\
         \x20 PRIMARY KEY (`id`) /*T![clustered_index] CLUSTERED */,\n\
         \x20 KEY `k_1` (`k`)\n\
         ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
    );
}

#[test]
fn view_6_clustered_composite_primary_key_enum_decimal() {
    assert_eq!(
        show_create_table(&table("orders_clustered")),
        "CREATE TABLE `orders_clustered` (\n\
         \x20 `order_no` varchar(32) NOT NULL,\n\
         \x20 `line` int(11) NOT NULL,\n\
         \x20 `customer` varchar(32) NOT NULL,\n\
         \x20 `status` enum('new','paid','shipped','cancelled') NOT NULL,\n\
         \x20 `amount` decimal(12,2) NOT NULL,\n\
         \x20 `created_at` datetime NOT NULL,\n\
         \x20 `note` varchar(255) DEFAULT NULL,\n\
         \x20 PRIMARY KEY (`order_no`,`line`) /*T![clustered_index] CLUSTERED */,\n\
         \x20 UNIQUE KEY `uk_customer_order` (`customer`,`order_no`),\n\
         \x20 KEY `idx_created` (`created_at`)\n\
         ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
    );
}

#[test]
fn view_6_rowid_table_without_primary_key() {
    assert_eq!(
        show_create_table(&table("events_rowid")),
        "CREATE TABLE `events_rowid` (\n\
         \x20 `kind` varchar(16) NOT NULL,\n\
         \x20 `user_id` bigint(20) NOT NULL,\n\
         \x20 `amount` double DEFAULT NULL,\n\
         \x20 `note` varchar(64) DEFAULT NULL,\n\
         \x20 `at` datetime(3) NOT NULL,\n\
         \x20 KEY `idx_kind_user` (`kind`,`user_id`)\n\
         ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
    );
}

#[test]
fn view_6_hash_partitions_and_global_index() {
    assert_eq!(
        show_create_table(&table("metrics_part")),
        "CREATE TABLE `metrics_part` (\n\
         \x20 `id` bigint(20) NOT NULL,\n\
         \x20 `host` varchar(64) NOT NULL,\n\
         \x20 `ts` datetime NOT NULL,\n\
         \x20 `value` double DEFAULT NULL,\n\
         \x20 `seq` bigint(20) NOT NULL,\n\
         \x20 PRIMARY KEY (`id`) /*T![clustered_index] CLUSTERED */,\n\
         \x20 KEY `idx_ts` (`ts`),\n\
         \x20 UNIQUE KEY `uk_seq` (`seq`) /*T![global_index] GLOBAL */\n\
         ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin\n\
         PARTITION BY HASH (`id`) PARTITIONS 4"
    );
}

#[test]
fn view_6_every_column_type() {
    assert_eq!(
        show_create_table(&table("all_types")),
        "CREATE TABLE `all_types` (\n\
         \x20 `id` bigint(20) NOT NULL,\n\
         \x20 `c_tinyint` tinyint(4) DEFAULT NULL,\n\
         \x20 `c_utinyint` tinyint(3) unsigned DEFAULT NULL,\n\
         \x20 `c_smallint` smallint(6) DEFAULT NULL,\n\
         \x20 `c_usmallint` smallint(5) unsigned DEFAULT NULL,\n\
         \x20 `c_mediumint` mediumint(9) DEFAULT NULL,\n\
         \x20 `c_umediumint` mediumint(8) unsigned DEFAULT NULL,\n\
         \x20 `c_int` int(11) DEFAULT NULL,\n\
         \x20 `c_uint` int(10) unsigned DEFAULT NULL,\n\
         \x20 `c_bigint` bigint(20) DEFAULT NULL,\n\
         \x20 `c_ubigint` bigint(20) unsigned DEFAULT NULL,\n\
         \x20 `c_float` float DEFAULT NULL,\n\
         \x20 `c_double` double DEFAULT NULL,\n\
         \x20 `c_decimal` decimal(20,6) DEFAULT NULL,\n\
         \x20 `c_char` char(16) DEFAULT NULL,\n\
         \x20 `c_varchar` varchar(64) DEFAULT 'dflt',\n\
         \x20 `c_text` text DEFAULT NULL,\n\
         \x20 `c_blob` blob DEFAULT NULL,\n\
         \x20 `c_binary` binary(8) DEFAULT NULL,\n\
         \x20 `c_varbinary` varbinary(32) DEFAULT NULL,\n\
         \x20 `c_date` date DEFAULT NULL,\n\
         \x20 `c_datetime` datetime(6) DEFAULT NULL,\n\
         \x20 `c_timestamp` timestamp NULL DEFAULT NULL,\n\
         \x20 `c_time` time DEFAULT NULL,\n\
         \x20 `c_year` year(4) DEFAULT NULL,\n\
         \x20 `c_json` json DEFAULT NULL,\n\
         \x20 `c_enum` enum('red','green','blue') DEFAULT NULL,\n\
         \x20 `c_set` set('a','b','c','d') DEFAULT NULL,\n\
         \x20 `c_bit` bit(12) DEFAULT NULL,\n\
         \x20 PRIMARY KEY (`id`) /*T![clustered_index] CLUSTERED */,\n\
         \x20 UNIQUE KEY `uk_int` (`c_int`),\n\
         \x20 KEY `idx_datetime` (`c_datetime`)\n\
         ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
    );
}

/// A range-partitioned table with a prefix index, a column charset/collation other than the
/// table's, a comment with a quote, and a nonclustered primary key, as TiDB prints it.
#[test]
fn view_6_range_partitions_prefix_index_collation_comment_nonclustered() {
    let j = r#"{"id":9,"name":{"O":"t","L":"t"},"charset":"utf8mb4","collate":"utf8mb4_bin",
      "comment":"it's","cols":[
       {"id":1,"name":{"O":"a","L":"a"},"offset":0,"state":5,"default":null,
        "type":{"Tp":3,"Flag":3,"Flen":11,"Decimal":0,"Charset":"binary","Collate":"binary"}},
       {"id":2,"name":{"O":"b","L":"b"},"offset":1,"state":5,"default":"x",
        "type":{"Tp":15,"Flag":0,"Flen":255,"Decimal":0,"Charset":"latin1","Collate":"latin1_bin"}},
       {"id":3,"name":{"O":"c","L":"c"},"offset":2,"state":5,"default":"CURRENT_TIMESTAMP","comment":"when",
        "type":{"Tp":7,"Flag":8329,"Flen":26,"Decimal":6,"Charset":"binary","Collate":"binary"}}],
      "index_info":[
       {"id":1,"idx_name":{"O":"PRIMARY","L":"primary"},"idx_cols":[{"name":{"O":"a","L":"a"},"offset":0,"length":-1}],"state":5,"is_unique":true,"is_primary":true},
       {"id":2,"idx_name":{"O":"ib","L":"ib"},"idx_cols":[{"name":{"O":"b","L":"b"},"offset":1,"length":10}],"state":5,"is_unique":false,"is_primary":false}],
      "pk_is_handle":false,"is_common_handle":false,
      "partition":{"type":1,"expr":"`a`","columns":null,"enable":true,"num":2,
        "definitions":[{"id":10,"name":{"O":"p0","L":"p0"},"less_than":["100"]},
                       {"id":11,"name":{"O":"pmax","L":"pmax"},"less_than":["MAXVALUE"]}]}}"#;
    let t = TableInfo::from_json(j.as_bytes()).unwrap();
    assert_eq!(
        show_create_table(&t),
        "CREATE TABLE `t` (\n\
         \x20 `a` int(11) NOT NULL,\n\
         \x20 `b` varchar(255) CHARACTER SET latin1 COLLATE latin1_bin DEFAULT 'x',\n\
         \x20 `c` timestamp(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6) COMMENT 'when',\n\
         \x20 PRIMARY KEY (`a`) /*T![clustered_index] NONCLUSTERED */,\n\
         \x20 KEY `ib` (`b`(10))\n\
         ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin COMMENT='it''s'\n\
         PARTITION BY RANGE (`a`)\n\
         (PARTITION `p0` VALUES LESS THAN (100),\n\
         \x20PARTITION `pmax` VALUES LESS THAN (MAXVALUE))"
    );
}
