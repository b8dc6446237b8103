//! MySQL fixed-point `DECIMAL`: exact decimal text and the binary form `decimal2bin` used by
//! TiDB row values and datums (format/rows.md DEC-1 … DEC-5). Owns only the number; the
//! `prec, frac` header bytes around it belong to the callers (row v2, datum).

use std::fmt;

use crate::codec::error::{take, CodecError, Result};

/// Bytes needed for a partial word of 0..=9 digits (DEC-2).
const DIG2BYTES: [usize; 10] = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];
const DIGITS_PER_WORD: usize = 9;
const POW10: [u32; 10] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
];

/// Largest precision MySQL/TiDB accept (DEC-1).
pub const MAX_PRECISION: u8 = 65;
/// Largest scale MySQL/TiDB accept (DEC-1).
pub const MAX_SCALE: u8 = 30;

/// An exact decimal number: sign, integer digits without leading zeros, and exactly
/// `frac` fraction digits (trailing zeros are significant for printing, as in TiDB).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Decimal {
    negative: bool,
    /// Integer digits 0..=9, most significant first, no leading zeros (empty for 0).
    int: Vec<u8>,
    /// Fraction digits 0..=9; the length is the scale.
    frac: Vec<u8>,
}

impl Decimal {
    /// Parses `[+-]digits[.digits]` (DEC-1 limits: at most 65 integer digits, 30 fraction
    /// digits). No exponent, no spaces: this reads values TiDB wrote, not user input.
    pub fn parse(s: &str) -> Result<Decimal> {
        let bad = |d: &str| CodecError::invalid("decimal text", format!("{s:?}: {d}"));
        let (negative, rest) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let (ip, fp) = match rest.split_once('.') {
            Some((i, f)) => (i, f),
            None => (rest, ""),
        };
        if ip.is_empty() && fp.is_empty() {
            return Err(bad("no digits"));
        }
        if !ip.bytes().chain(fp.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(bad("not a decimal number"));
        }
        let int: Vec<u8> = ip
            .bytes()
            .map(|b| b - b'0')
            .skip_while(|d| *d == 0)
            .collect();
        let frac: Vec<u8> = fp.bytes().map(|b| b - b'0').collect();
        if int.len() > MAX_PRECISION as usize {
            return Err(bad("more than 65 integer digits"));
        }
        if frac.len() > MAX_SCALE as usize {
            return Err(bad("more than 30 fraction digits"));
        }
        Ok(Decimal::from_parts(negative, int, frac))
    }

    fn from_parts(negative: bool, int: Vec<u8>, frac: Vec<u8>) -> Decimal {
        let zero = int.is_empty() && frac.iter().all(|d| *d == 0);
        Decimal {
            negative: negative && !zero,
            int,
            frac,
        }
    }

    /// Whether the value is below zero.
    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// Number of fraction digits (the scale).
    pub fn frac(&self) -> u8 {
        self.frac.len() as u8
    }

    /// The value's own precision and scale as TiDB computes them (`PrecisionAndFrac`):
    /// significant integer digits + scale, at least 1 (DEC-4).
    pub fn prec_frac(&self) -> (u8, u8) {
        let frac = self.frac.len();
        let prec = (self.int.len() + frac).max(1);
        (prec as u8, frac as u8)
    }

    /// Rounds (half away from zero, TiDB `ModeHalfUp`) or pads to `frac` fraction digits.
    pub fn round_to(&self, frac: u8) -> Decimal {
        let frac = frac as usize;
        if frac >= self.frac.len() {
            let mut f = self.frac.clone();
            f.resize(frac, 0);
            return Decimal::from_parts(self.negative, self.int.clone(), f);
        }
        let round_up = self.frac[frac] >= 5;
        let mut digits: Vec<u8> = self.int.iter().chain(&self.frac[..frac]).copied().collect();
        if round_up {
            let mut i = digits.len();
            loop {
                if i == 0 {
                    digits.insert(0, 1);
                    break;
                }
                i -= 1;
                if digits[i] == 9 {
                    digits[i] = 0;
                } else {
                    digits[i] += 1;
                    break;
                }
            }
        }
        let split = digits.len() - frac;
        let f = digits.split_off(split);
        let int: Vec<u8> = digits.into_iter().skip_while(|d| *d == 0).collect();
        Decimal::from_parts(self.negative, int, f)
    }

    /// Encoded size of `decimal2bin` for `prec, frac` (DEC-2), or an error for an invalid pair.
    pub fn bin_size(prec: u8, frac: u8) -> Result<usize> {
        check_prec_frac(prec, frac)?;
        let intg = (prec - frac) as usize;
        let frac = frac as usize;
        Ok(intg / DIGITS_PER_WORD * 4
            + DIG2BYTES[intg % DIGITS_PER_WORD]
            + frac / DIGITS_PER_WORD * 4
            + DIG2BYTES[frac % DIGITS_PER_WORD])
    }

    /// MySQL `decimal2bin` (DEC-2, DEC-3). Fails if the integer part needs more than
    /// `prec - frac` digits or if non-zero fraction digits would be cut off.
    pub fn to_bin(&self, prec: u8, frac: u8) -> Result<Vec<u8>> {
        let size = Decimal::bin_size(prec, frac)?;
        let intg = (prec - frac) as usize;
        let fr = frac as usize;
        if self.int.len() > intg {
            return Err(CodecError::invalid(
                "decimal",
                format!("{self} does not fit DECIMAL({prec},{frac})"),
            ));
        }
        if self.frac.len() > fr && self.frac[fr..].iter().any(|d| *d != 0) {
            return Err(CodecError::invalid(
                "decimal",
                format!("{self} has more than {frac} fraction digits"),
            ));
        }
        let mut int = vec![0u8; intg - self.int.len()];
        int.extend_from_slice(&self.int);
        let mut fd: Vec<u8> = self.frac.iter().take(fr).copied().collect();
        fd.resize(fr, 0);
        let mut out = Vec::with_capacity(size);
        let lead = intg % DIGITS_PER_WORD;
        push_word(&mut out, &int[..lead]);
        for w in int[lead..].chunks(DIGITS_PER_WORD) {
            push_word(&mut out, w);
        }
        for w in fd.chunks(DIGITS_PER_WORD) {
            push_word(&mut out, w);
        }
        debug_assert_eq!(out.len(), size);
        if self.negative {
            for b in &mut out {
                *b = !*b;
            }
        }
        if let Some(first) = out.first_mut() {
            *first ^= 0x80;
        }
        Ok(out)
    }

    /// MySQL `bin2decimal` from the front of `input` for `prec, frac` (DEC-2, DEC-3); rejects
    /// words out of range (a damaged value), never panics.
    pub fn from_bin(input: &mut &[u8], prec: u8, frac: u8) -> Result<Decimal> {
        let size = Decimal::bin_size(prec, frac)?;
        let raw = take(input, size, "decimal binary")?;
        let mut b = raw.to_vec();
        let negative = b[0] & 0x80 == 0;
        b[0] ^= 0x80;
        if negative {
            for x in &mut b {
                *x = !*x;
            }
        }
        let intg = (prec - frac) as usize;
        let fr = frac as usize;
        let mut cur = &b[..];
        let mut int = Vec::with_capacity(intg);
        let lead = intg % DIGITS_PER_WORD;
        read_word(&mut cur, lead, &mut int)?;
        for _ in 0..intg / DIGITS_PER_WORD {
            read_word(&mut cur, DIGITS_PER_WORD, &mut int)?;
        }
        let mut fd = Vec::with_capacity(fr);
        for _ in 0..fr / DIGITS_PER_WORD {
            read_word(&mut cur, DIGITS_PER_WORD, &mut fd)?;
        }
        read_word(&mut cur, fr % DIGITS_PER_WORD, &mut fd)?;
        let int: Vec<u8> = int.into_iter().skip_while(|d| *d == 0).collect();
        Ok(Decimal::from_parts(negative, int, fd))
    }
}

fn check_prec_frac(prec: u8, frac: u8) -> Result<()> {
    if prec == 0 || prec > MAX_PRECISION || frac > MAX_SCALE || frac > prec {
        return Err(CodecError::invalid(
            "decimal precision/scale",
            format!("DECIMAL({prec},{frac}) is outside 1 <= prec <= 65, frac <= min(prec, 30)"),
        ));
    }
    Ok(())
}

fn push_word(out: &mut Vec<u8>, digits: &[u8]) {
    let n = DIG2BYTES[digits.len()];
    let v = digits.iter().fold(0u32, |a, d| a * 10 + u32::from(*d));
    out.extend_from_slice(&v.to_be_bytes()[4 - n..]);
}

fn read_word(cur: &mut &[u8], ndigits: usize, out: &mut Vec<u8>) -> Result<()> {
    let n = DIG2BYTES[ndigits];
    let bytes = take(cur, n, "decimal word")?;
    let v = bytes.iter().fold(0u32, |a, b| (a << 8) | u32::from(*b));
    if v >= POW10[ndigits] {
        return Err(CodecError::invalid(
            "decimal word",
            format!("{v} does not fit {ndigits} digits (DEC-3)"),
        ));
    }
    let mut x = v;
    let start = out.len();
    out.resize(start + ndigits, 0);
    for i in (0..ndigits).rev() {
        out[start + i] = (x % 10) as u8;
        x /= 10;
    }
    Ok(())
}

impl fmt::Display for Decimal {
    /// TiDB's `ToString`: `-` for negatives, `0` for an empty integer part, and every stored
    /// fraction digit (DEC-5).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(self.int.len() + self.frac.len() + 3);
        if self.negative {
            s.push('-');
        }
        if self.int.is_empty() {
            s.push('0');
        }
        s.extend(self.int.iter().map(|d| char::from(b'0' + d)));
        if !self.frac.is_empty() {
            s.push('.');
            s.extend(self.frac.iter().map(|d| char::from(b'0' + d)));
        }
        f.write_str(&s)
    }
}

impl std::str::FromStr for Decimal {
    type Err = CodecError;
    fn from_str(s: &str) -> Result<Decimal> {
        Decimal::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bin(s: &str, prec: u8, frac: u8) -> Vec<u8> {
        Decimal::parse(s).unwrap().to_bin(prec, frac).unwrap()
    }

    // TiKV encoder_for_test.rs `test_encode`: Decimal::from(1) is stored as `01 00 81`
    // (prec 1, frac 0, then the binary word).
    #[test]
    fn dec_2_one_is_0x81() {
        let d = Decimal::parse("1").unwrap();
        assert_eq!(d.prec_frac(), (1, 0));
        assert_eq!(d.to_bin(1, 0).unwrap(), [0x81]);
    }

    // MySQL reference manual, "Precision Math / DECIMAL Data Type Characteristics" and the
    // decimal2bin comment in MySQL strings/decimal.c: 1234567890.1234 as DECIMAL(14,4) is
    // 81 0D FB 38 D2 04 D2, and its negation is every byte inverted then 0x80 toggled.
    #[test]
    fn dec_3_mysql_manual_example() {
        assert_eq!(
            bin("1234567890.1234", 14, 4),
            [0x81, 0x0D, 0xFB, 0x38, 0xD2, 0x04, 0xD2]
        );
        assert_eq!(
            bin("-1234567890.1234", 14, 4),
            [0x7E, 0xF2, 0x04, 0xC7, 0x2D, 0xFB, 0x2D]
        );
    }

    // pingcap/tidb pkg/types/mydecimal_test.go `TestToBinFromBin`: value, prec, frac →
    // text after ToBin/FromBin (the rows TiDB accepts without a warning).
    #[test]
    fn dec_2_tidb_to_bin_from_bin_vectors() {
        let cases = [
            ("-10.55", 4, 2, "-10.55"),
            (
                "0.0123456789012345678912345",
                30,
                25,
                "0.0123456789012345678912345",
            ),
            ("12345", 5, 0, "12345"),
            ("12345", 10, 3, "12345.000"),
            ("123.45", 10, 3, "123.450"),
            ("-123.45", 20, 10, "-123.4500000000"),
            (".00012345000098765", 22, 20, "0.00012345000098765000"),
            (".12345000098765", 30, 20, "0.12345000098765000000"),
            ("1234500009876.5", 30, 5, "1234500009876.50000"),
            ("000000000.01", 7, 3, "0.010"),
            ("123.4", 10, 2, "123.40"),
            ("0.1", 1, 1, "0.1"),
        ];
        for (input, prec, frac, out) in cases {
            let b = bin(input, prec, frac);
            let back = Decimal::from_bin(&mut &b[..], prec, frac).unwrap();
            assert_eq!(back.to_string(), out, "{input} as DECIMAL({prec},{frac})");
        }
        // TiDB reports ErrOverflow / ErrTruncated for these; brkit refuses to write them.
        for (input, prec, frac) in [
            ("111111111.11", 10, 2),
            ("1000", 3, 0),
            (".00012345000098765", 15, 14),
        ] {
            assert!(
                Decimal::parse(input).unwrap().to_bin(prec, frac).is_err(),
                "{input}"
            );
        }
        // TiDB's ErrBadNumber headers.
        for (prec, frac) in [(82, 1), (10, 31)] {
            assert!(Decimal::bin_size(prec, frac).is_err());
        }
    }

    #[test]
    fn dec_5_prints_scale_digits() {
        let d = Decimal::parse("-123.4500").unwrap();
        assert_eq!(d.to_string(), "-123.4500");
        let b = d.to_bin(10, 4).unwrap();
        let back = Decimal::from_bin(&mut &b[..], 10, 4).unwrap();
        assert_eq!(back.to_string(), "-123.4500");
        assert_eq!(Decimal::parse(".5").unwrap().to_string(), "0.5");
        assert_eq!(Decimal::parse("-0.00").unwrap().to_string(), "0.00");
        assert_eq!(Decimal::parse("007").unwrap().to_string(), "7");
    }

    #[test]
    fn dec_4_round_half_up() {
        let r = |s: &str, f| Decimal::parse(s).unwrap().round_to(f).to_string();
        assert_eq!(r("1.245", 2), "1.25");
        assert_eq!(r("-1.245", 2), "-1.25");
        assert_eq!(r("9.99", 1), "10.0");
        assert_eq!(r("0.4", 0), "0");
        assert_eq!(r("1.5", 3), "1.500");
    }

    #[test]
    fn dec_1_rejects_overflow_and_bad_headers() {
        assert!(Decimal::parse("100").unwrap().to_bin(2, 0).is_err());
        assert!(Decimal::parse("1.25").unwrap().to_bin(3, 1).is_err());
        assert!(Decimal::bin_size(0, 0).is_err());
        assert!(Decimal::bin_size(66, 0).is_err());
        assert!(Decimal::bin_size(40, 31).is_err());
        assert!(Decimal::bin_size(3, 4).is_err());
        assert!(Decimal::parse("1e5").is_err());
        assert!(Decimal::parse("").is_err());
    }

    #[test]
    fn dec_3_rejects_out_of_range_words_and_truncation() {
        // A positive DECIMAL(1,0) whose only 1-digit word holds 99.
        let b = [0x80 | 99u8];
        assert!(matches!(
            Decimal::from_bin(&mut &b[..], 1, 0),
            Err(CodecError::Invalid {
                what: "decimal word",
                ..
            })
        ));
        let b = bin("1234567890.1234", 14, 4);
        assert!(matches!(
            Decimal::from_bin(&mut &b[..5], 14, 4),
            Err(CodecError::Truncated { .. })
        ));
    }

    proptest! {
        #[test]
        fn dec_2_round_trip_via_strings(neg: bool, int in "[0-9]{0,35}", frac in "[0-9]{0,30}") {
            let s = format!("{}{}.{}", if neg { "-" } else { "" }, if int.is_empty() { "0" } else { &int }, frac);
            let d = Decimal::parse(&s).unwrap();
            let (p, f) = d.prec_frac();
            let b = d.to_bin(p, f).unwrap();
            prop_assert_eq!(b.len(), Decimal::bin_size(p, f).unwrap());
            let back = Decimal::from_bin(&mut &b[..], p, f).unwrap();
            prop_assert_eq!(&back, &d);
            prop_assert_eq!(Decimal::parse(&back.to_string()).unwrap(), d.clone());
            // Wider headers keep the value.
            let wide = d.to_bin(65, 30).unwrap();
            let w = Decimal::from_bin(&mut &wide[..], 65, 30).unwrap();
            prop_assert_eq!(w.round_to(f), back);
        }

        #[test]
        fn dec_3_decode_never_panics(data in proptest::collection::vec(any::<u8>(), 0..40), p in 0u8..70, f in 0u8..35) {
            let _ = Decimal::from_bin(&mut &data[..], p, f);
        }
    }
}
