//! BR's table filter (`-f/--filter`, TiDB's table-filter syntax, reduced to what BR users
//! type): `db.table` patterns with `*`, `?` and `[...]` wildcards, case-insensitive, `!`
//! negates, and the LAST matching rule decides. System schemas are excluded unless a rule names
//! them explicitly.

/// Schemas BR never backs up by default.
pub const SYSTEM_SCHEMAS: &[&str] = &[
    "mysql",
    "sys",
    "information_schema",
    "performance_schema",
    "metrics_schema",
    "inspection_schema",
];

#[derive(Debug, Clone)]
struct Rule {
    negate: bool,
    db: String,
    table: String,
}

/// A parsed filter.
#[derive(Debug, Clone)]
pub struct TableFilter {
    rules: Vec<Rule>,
}

fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match (pattern.first(), text.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            glob(&pattern[1..], text) || (!text.is_empty() && glob(pattern, &text[1..]))
        }
        (Some(b'?'), Some(_)) => glob(&pattern[1..], &text[1..]),
        (Some(b'['), Some(c)) => {
            let Some(close) = pattern.iter().position(|&b| b == b']') else {
                return false;
            };
            let set = &pattern[1..close];
            let (neg, set) = match set.first() {
                Some(b'!') | Some(b'^') => (true, &set[1..]),
                _ => (false, set),
            };
            let mut hit = false;
            let mut i = 0;
            while i < set.len() {
                if i + 2 < set.len() && set[i + 1] == b'-' {
                    hit |= (set[i]..=set[i + 2]).contains(c);
                    i += 3;
                } else {
                    hit |= set[i] == *c;
                    i += 1;
                }
            }
            hit != neg && glob(&pattern[close + 1..], &text[1..])
        }
        (Some(p), Some(c)) => p == c && glob(&pattern[1..], &text[1..]),
        _ => false,
    }
}

impl TableFilter {
    /// Parses `-f` values; an empty list means `*.*`.
    pub fn parse(patterns: &[String]) -> Result<TableFilter, String> {
        let mut rules = Vec::new();
        let all = ["*.*".to_string()];
        let list = if patterns.is_empty() {
            &all[..]
        } else {
            patterns
        };
        for p in list {
            let (negate, body) = match p.strip_prefix('!') {
                Some(b) => (true, b),
                None => (false, p.as_str()),
            };
            let Some((db, table)) = body.split_once('.') else {
                return Err(format!(
                    "filter {p:?}: expected `db.table` (wildcards allowed)"
                ));
            };
            if db.is_empty() || table.is_empty() {
                return Err(format!("filter {p:?}: empty database or table pattern"));
            }
            let unquote = |s: &str| s.trim_matches('`').to_ascii_lowercase();
            rules.push(Rule {
                negate,
                db: unquote(db),
                table: unquote(table),
            });
        }
        Ok(TableFilter { rules })
    }

    /// Only `db` (BR's `backup db --db`).
    pub fn database(db: &str) -> TableFilter {
        TableFilter {
            rules: vec![Rule {
                negate: false,
                db: db.to_ascii_lowercase(),
                table: "*".into(),
            }],
        }
    }

    /// Only `db.table` (BR's `backup table --db --table`).
    pub fn table(db: &str, table: &str) -> TableFilter {
        TableFilter {
            rules: vec![Rule {
                negate: false,
                db: db.to_ascii_lowercase(),
                table: table.to_ascii_lowercase(),
            }],
        }
    }

    fn decide(&self, db: &str, table: Option<&str>) -> bool {
        let db = db.to_ascii_lowercase();
        let table = table.map(|t| t.to_ascii_lowercase());
        let mut verdict = None;
        for r in &self.rules {
            let db_hit = glob(r.db.as_bytes(), db.as_bytes());
            let hit = match &table {
                Some(t) => db_hit && glob(r.table.as_bytes(), t.as_bytes()),
                None => db_hit && (r.table == "*" || !r.negate),
            };
            if hit {
                verdict = Some(!r.negate);
            }
        }
        let Some(v) = verdict else { return false };
        if v && SYSTEM_SCHEMAS.contains(&db.as_str()) {
            return self.rules.iter().any(|r| !r.negate && r.db == db);
        }
        v
    }

    /// Whether a table is selected.
    pub fn matches_table(&self, db: &str, table: &str) -> bool {
        self.decide(db, Some(table))
    }

    /// Whether a database (as a whole, e.g. an empty one) is selected.
    pub fn matches_db(&self, db: &str) -> bool {
        self.decide(db, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(p: &[&str]) -> TableFilter {
        TableFilter::parse(&p.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn last_matching_rule_decides_and_wildcards_work() {
        let x = f(&["sbtest.*", "!sbtest.sbtest1?"]);
        assert!(x.matches_table("sbtest", "sbtest1"));
        assert!(!x.matches_table("sbtest", "sbtest12"));
        assert!(!x.matches_table("other", "t"));
        assert!(f(&["db.t[0-2]"]).matches_table("DB", "T1"));
        assert!(!f(&["db.t[0-2]"]).matches_table("db", "t3"));
    }

    #[test]
    fn system_schemas_need_an_explicit_rule() {
        assert!(!f(&["*.*"]).matches_table("mysql", "user"));
        assert!(f(&["*.*", "mysql.*"]).matches_table("mysql", "user"));
        assert!(f(&[]).matches_table("app", "t"));
    }

    #[test]
    fn malformed_filters_are_refused() {
        assert!(TableFilter::parse(&["nodot".into()]).is_err());
        assert!(TableFilter::parse(&[".t".into()]).is_err());
    }
}
