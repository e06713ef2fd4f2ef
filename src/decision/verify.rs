//! Checking an audit log: JSON syntax, the hash rule, `seq` continuity and
//! `prev` linkage, stopping at the first bad record. A `LOG.torn` file is
//! not part of the chain and is not read.

use std::fmt;
use std::io::{self, BufRead, Read};
use std::path::Path;

use super::record::{GENESIS, MAX_RECORD_BYTES, check_line};

/// A good log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub records: u64,
    /// The last record's hash (64 zeros for an empty log): keep it
    /// elsewhere to detect records cut off the end later.
    pub last_hash: String,
}

/// The first bad record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRecord {
    /// 1-based line number, which is also the `seq` that line should have
    /// (the chain counts from 1 without gaps).
    pub line: u64,
    pub message: String,
}

impl fmt::Display for BadRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {} (seq {}): {}",
            self.line, self.line, self.message
        )
    }
}

/// Checks a log file; `Err` only when it cannot be read.
pub fn verify_file(path: &Path) -> io::Result<Result<Verified, BadRecord>> {
    let file = std::fs::File::open(path)?;
    verify(io::BufReader::with_capacity(1 << 16, file))
}

/// Checks a log read from `input`.
pub fn verify(mut input: impl BufRead) -> io::Result<Result<Verified, BadRecord>> {
    let mut prev = GENESIS.to_owned();
    let mut records = 0u64;
    let mut line = Vec::new();
    loop {
        line.clear();
        // One byte more than a record may have, to see an overlong one.
        let limit = MAX_RECORD_BYTES as u64 + 1;
        let n = (&mut input).take(limit).read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(Ok(Verified {
                records,
                last_hash: prev,
            }));
        }
        let bad = |message: String| BadRecord {
            line: records + 1,
            message,
        };
        if line.last() != Some(&b'\n') {
            let message = if line.len() as u64 >= limit {
                "longer than any record can be".to_owned()
            } else {
                "no newline at the end: a torn write or an edit (opening the log with modelwatch moves a torn line aside)".to_owned()
            };
            return Ok(Err(bad(message)));
        }
        line.pop();
        let fields = match check_line(&line) {
            Ok(f) => f,
            Err(e) => return Ok(Err(bad(e))),
        };
        if fields.seq != records + 1 {
            return Ok(Err(bad(format!(
                "seq is {}: a record was deleted, moved or inserted",
                fields.seq
            ))));
        }
        if fields.prev != prev {
            return Ok(Err(bad(
                "prev does not match the previous record's hash: a record was deleted, moved or changed".into(),
            )));
        }
        prev = fields.hash;
        records += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::record::{Action, AuditEntry, AuditRecord};

    fn log(n: u64) -> Vec<u8> {
        let mut prev = GENESIS.to_owned();
        let mut out = Vec::new();
        for seq in 1..=n {
            let mut e = AuditEntry::new("op", Action::Skip);
            e.case_id = Some(format!("c{seq}"));
            let mut r = AuditRecord::from_entry(e, seq, "2026-01-01T00:00:00.000Z".into(), prev);
            out.extend(r.seal().unwrap());
            prev = r.hash;
        }
        out
    }

    fn check(bytes: &[u8]) -> Result<Verified, BadRecord> {
        verify(bytes).unwrap()
    }

    #[test]
    fn good_logs_pass() {
        assert_eq!(check(b"").unwrap().records, 0);
        let v = check(&log(3)).unwrap();
        assert_eq!(v.records, 3);
        assert_eq!(v.last_hash.len(), 64);
    }

    #[test]
    fn every_single_byte_change_is_caught() {
        let good = log(3);
        for i in 0..good.len() {
            for flip in [0x01u8, 0x20, 0x80] {
                let mut bad = good.clone();
                bad[i] ^= flip;
                assert!(check(&bad).is_err(), "byte {i} ^ {flip:#x} not caught");
            }
        }
    }

    /// A record sealed as before the JSON writers escaped what could steer
    /// a terminal: serde_json's own escaping only.
    fn sealed_unescaped(r: &AuditRecord) -> Vec<u8> {
        let mut line = serde_json::to_vec(r).unwrap();
        assert_eq!(line.pop(), Some(b'}'));
        let hash = crate::decision::record::hash_hex(&line);
        line.extend_from_slice(format!(",\"hash\":\"{hash}\"}}\n").as_bytes());
        line
    }

    #[test]
    fn logs_from_before_the_escaping_and_after_it_verify_alike() {
        let hostile = "x\u{9b}31m\u{7f}\u{202e}\u{85}";
        let entry = |seq: u64| {
            let mut e = AuditEntry::new(hostile, Action::Override);
            e.model = Some(hostile.into());
            e.label = Some(format!("{hostile}{seq}"));
            e
        };
        let mut old = AuditRecord::from_entry(
            entry(1),
            1,
            "2026-01-01T00:00:00.000Z".into(),
            GENESIS.into(),
        );
        let old_line = sealed_unescaped(&old);
        old.hash = check(&old_line).unwrap().last_hash;
        assert!(std::str::from_utf8(&old_line).unwrap().contains('\u{9b}'));
        let mut new = AuditRecord::from_entry(
            entry(2),
            2,
            "2026-01-01T00:00:01.000Z".into(),
            old.hash.clone(),
        );
        let new_line = new.seal().unwrap();
        let text = std::str::from_utf8(&new_line).unwrap();
        assert!(
            !text.contains(['\u{9b}', '\u{7f}', '\u{202e}', '\u{85}']),
            "{text}"
        );
        let chain = [old_line.clone(), new_line.clone()].concat();
        assert_eq!(check(&chain).unwrap().records, 2);
        // Both read back to the strings that were recorded.
        let back: AuditRecord = serde_json::from_slice(&new_line).unwrap();
        assert_eq!(back, new);
        let back: AuditRecord = serde_json::from_slice(&old_line).unwrap();
        assert_eq!((back.operator.as_str(), back.label), (hostile, old.label));
    }

    #[test]
    fn deletions_swaps_and_truncations_name_the_record() {
        let good = log(4);
        let lines: Vec<&[u8]> = good.split_inclusive(|&b| b == b'\n').collect();
        let join = |ls: &[&[u8]]| ls.concat();
        let e = check(&join(&[lines[0], lines[2], lines[3]])).unwrap_err();
        assert_eq!(e.line, 2);
        let e = check(&join(&[lines[0], lines[2], lines[1], lines[3]])).unwrap_err();
        assert_eq!(e.line, 2);
        let e = check(&join(&[lines[1], lines[2]])).unwrap_err();
        assert_eq!(e.line, 1);
        let e = check(&good[..good.len() - 5]).unwrap_err();
        assert_eq!(e.line, 4);
        assert!(e.to_string().starts_with("line 4 (seq 4): "), "{e}");
    }
}
