//! `--read-data-subset n/t | x%`: which data files one run reads (VERIFY-5). The choice is a
//! pure function of the file name (CRC-64 of the name), so runs `1/t` … `t/t` cover every
//! file exactly once whatever order storage lists them in, and `x%` always picks the same
//! files for the same archive.

use crate::format::checksum::crc64;

/// A deterministic subset of data files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subset {
    All,
    /// Part `n` (1-based) of `t`.
    Part {
        n: u64,
        t: u64,
    },
    /// About `basis_points / 100` percent of the files.
    Percent {
        basis_points: u64,
    },
}

impl Subset {
    /// Parses `n/t` (1 ≤ n ≤ t) or `x%` (0 < x ≤ 100, up to two decimals).
    pub fn parse(s: &str) -> Result<Subset, String> {
        let s = s.trim();
        if let Some(p) = s.strip_suffix('%') {
            let x: f64 = p
                .trim()
                .parse()
                .map_err(|_| format!("{s:?}: expected n/t or x% (e.g. 1/4, 25%)"))?;
            if !(x > 0.0 && x <= 100.0) {
                return Err(format!("{s:?}: the percentage must be in (0, 100]"));
            }
            return Ok(Subset::Percent {
                basis_points: (x * 100.0).round() as u64,
            });
        }
        let (n, t) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?}: expected n/t or x% (e.g. 1/4, 25%)"))?;
        let n: u64 = n
            .trim()
            .parse()
            .map_err(|_| format!("{s:?}: n is not a number"))?;
        let t: u64 = t
            .trim()
            .parse()
            .map_err(|_| format!("{s:?}: t is not a number"))?;
        if t == 0 || n == 0 || n > t {
            return Err(format!("{s:?}: expected 1 <= n <= t"));
        }
        Ok(Subset::Part { n, t })
    }

    /// True when the file named `name` is read by this run.
    pub fn contains(&self, name: &str) -> bool {
        let h = crc64(&[name.as_bytes()]);
        match *self {
            Subset::All => true,
            Subset::Part { n, t } => h % t == n - 1,
            Subset::Percent { basis_points } => h % 10_000 < basis_points,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_5_parts_cover_every_file_exactly_once() {
        let names: Vec<String> = (0..1000)
            .map(|i| format!("1/{i}_2_abc_write.sst"))
            .collect();
        let t = 7;
        for name in &names {
            let hits = (1..=t)
                .filter(|&n| Subset::Part { n, t }.contains(name))
                .count();
            assert_eq!(hits, 1, "{name}");
        }
        // and the parts are not degenerate
        let first = names
            .iter()
            .filter(|n| Subset::Part { n: 1, t }.contains(n))
            .count();
        assert!((80..220).contains(&first), "part 1/7 holds {first} of 1000");
    }

    #[test]
    fn verify_5_percent_is_deterministic_and_close() {
        let s = Subset::parse("10%").unwrap();
        let names: Vec<String> = (0..5000).map(|i| format!("f{i}.sst")).collect();
        let a: Vec<bool> = names.iter().map(|n| s.contains(n)).collect();
        let b: Vec<bool> = names.iter().map(|n| s.contains(n)).collect();
        assert_eq!(a, b);
        let k = a.iter().filter(|x| **x).count();
        assert!((350..650).contains(&k), "10% picked {k} of 5000");
        assert!(names
            .iter()
            .all(|n| Subset::parse("100%").unwrap().contains(n)));
    }

    #[test]
    fn verify_5_bad_subsets_are_refused() {
        for bad in ["0/3", "4/3", "1/0", "x/2", "0%", "101%", "abc", ""] {
            assert!(Subset::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Subset::parse(" 2/5 ").unwrap(), Subset::Part { n: 2, t: 5 });
        assert_eq!(
            Subset::parse("12.5%").unwrap(),
            Subset::Percent { basis_points: 1250 }
        );
    }
}
