//! Checking an audit log: JSON syntax, the hash rule, `seq` continuity and
//! `prev` linkage, stopping at the first bad record. A `LOG.torn` file is
//! not part of the chain and is not read. A valid chain cut short is still
//! a valid chain: only a [`ChainEnd`] kept elsewhere shows records missing
//! from the end.

use std::fmt;
use std::io::{self, BufRead, Read};
use std::ops::ControlFlow;
use std::path::Path;
use std::str::FromStr;

use super::audit_record::{GENESIS, MAX_RECORD_BYTES, check_line, is_hash};

/// A good log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub records: u64,
    /// The last record's hash (64 zeros for an empty log).
    pub last_hash: String,
}

impl Verified {
    /// Where the chain ends, to keep for a later `verify-log --expect`.
    pub fn end(&self) -> ChainEnd {
        ChainEnd {
            records: self.records,
            hash: self.last_hash.clone(),
        }
    }
}

/// `COUNT:HASH`: a log's first COUNT records, the last of them with hash
/// HASH. The chain links every record to the one before, so a log that
/// still has a record COUNT with that hash still holds all the records it
/// held then; records added since do not matter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainEnd {
    pub records: u64,
    pub hash: String,
}

impl FromStr for ChainEnd {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let wrong = || {
            "expected COUNT:HASH as verify-log prints it (a record count, a colon, 64 hex digits)"
                .to_string()
        };
        let (count, hash) = s.trim().split_once(':').ok_or_else(wrong)?;
        let records: u64 = count.parse().map_err(|_| wrong())?;
        let hash = hash.to_ascii_lowercase();
        if !is_hash(&hash) {
            return Err(wrong());
        }
        if records == 0 && hash != GENESIS {
            return Err("an empty log (COUNT 0) has the hash of 64 zeros".into());
        }
        Ok(ChainEnd { records, hash })
    }
}

impl fmt::Display for ChainEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.records, self.hash)
    }
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
    verify(open(path)?)
}

/// Checks a log file and that it still begins with `expected`.
pub fn verify_file_against(
    path: &Path,
    expected: &ChainEnd,
) -> io::Result<Result<Verified, BadRecord>> {
    walk(open(path)?, Some(expected), |_, _| {
        Ok(ControlFlow::Continue(()))
    })
}

/// A log for reading front to back.
pub fn open(path: &Path) -> io::Result<impl BufRead> {
    Ok(io::BufReader::with_capacity(
        1 << 16,
        std::fs::File::open(path)?,
    ))
}

/// Checks a log read from `input`.
pub fn verify(input: impl BufRead) -> io::Result<Result<Verified, BadRecord>> {
    walk(input, None, |_, _| Ok(ControlFlow::Continue(())))
}

/// Reads the chain of `input` record by record, handing each good one to
/// `on_record` (its `seq` and line without the newline), which may stop
/// the walk early. Stops at the first bad record. With `expected`, the
/// records read must include its record COUNT with its hash.
pub fn walk(
    mut input: impl BufRead,
    expected: Option<&ChainEnd>,
    mut on_record: impl FnMut(u64, &[u8]) -> io::Result<ControlFlow<()>>,
) -> io::Result<Result<Verified, BadRecord>> {
    let mut prev = GENESIS.to_owned();
    let mut records = 0u64;
    let mut line = Vec::new();
    let bad = |line: u64, message: String| Ok(Err(BadRecord { line, message }));
    // Record COUNT of `expected`, once read, must have its hash (COUNT 0
    // is the empty log, which every log begins with).
    let differs =
        |records: u64, hash: &str| expected.filter(|e| e.records == records && e.hash != hash);
    loop {
        line.clear();
        // One byte more than a record may have, to see an overlong one.
        let limit = MAX_RECORD_BYTES as u64 + 1;
        let n = (&mut input).take(limit).read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        if line.last() != Some(&b'\n') {
            let message = if line.len() as u64 >= limit {
                "longer than any record can be".to_owned()
            } else {
                "no newline at the end: a torn write or an edit (opening the log with modelwatch moves a torn line aside)".to_owned()
            };
            return bad(records + 1, message);
        }
        line.pop();
        let fields = match check_line(&line) {
            Ok(f) => f,
            Err(e) => return bad(records + 1, e),
        };
        if fields.seq != records + 1 {
            return bad(
                records + 1,
                format!(
                    "seq is {}: a record was deleted, moved or inserted",
                    fields.seq
                ),
            );
        }
        if fields.prev != prev {
            return bad(
                records + 1,
                "prev does not match the previous record's hash: a record was deleted, moved or changed".into(),
            );
        }
        prev = fields.hash;
        records += 1;
        if let Some(end) = differs(records, &prev) {
            return bad(
                records,
                format!(
                    "hash is not the expected {}: the records up to here are not the ones the log held",
                    end.hash
                ),
            );
        }
        if on_record(records, &line)?.is_break() {
            break;
        }
    }
    if let Some(end) = expected.filter(|e| e.records > records) {
        return Ok(Err(BadRecord {
            line: records + 1,
            message: format!(
                "missing: the log ends after {records} records, {} were expected (records were cut off the end)",
                end.records
            ),
        }));
    }
    Ok(Ok(Verified {
        records,
        last_hash: prev,
    }))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::decision::audit_record::{AuditAction, AuditEntry, AuditRecord};

    /// A chain of `n` records, record `seq` made from `entry(seq)`.
    pub(crate) fn chain(n: u64, entry: impl Fn(u64) -> AuditEntry) -> Vec<u8> {
        let mut prev = GENESIS.to_owned();
        let mut out = Vec::new();
        for seq in 1..=n {
            let mut r =
                AuditRecord::from_entry(entry(seq), seq, "2026-01-01T00:00:00.000Z".into(), prev);
            out.extend(r.seal().unwrap());
            prev = r.hash;
        }
        out
    }

    fn log(n: u64) -> Vec<u8> {
        chain(n, |seq| {
            let mut e = AuditEntry::new("op", AuditAction::Skip);
            e.case_id = Some(format!("c{seq}"));
            e
        })
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
        let hash = crate::decision::audit_record::hash_hex(&line);
        line.extend_from_slice(format!(",\"hash\":\"{hash}\"}}\n").as_bytes());
        line
    }

    #[test]
    fn logs_from_before_the_escaping_and_after_it_verify_alike() {
        let hostile = "x\u{9b}31m\u{7f}\u{202e}\u{85}";
        let entry = |seq: u64| {
            let mut e = AuditEntry::new(hostile, AuditAction::Override);
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

    #[test]
    fn an_expected_end_must_be_where_the_log_still_is() {
        let good = log(4);
        let end = check(&good).unwrap().end();
        let text = end.to_string();
        assert_eq!(text.parse::<ChainEnd>().unwrap(), end);
        assert_eq!(text.to_uppercase().parse::<ChainEnd>().unwrap(), end);
        let against = |bytes: &[u8], e: &ChainEnd| {
            walk(bytes, Some(e), |_, _| Ok(ControlFlow::Continue(()))).unwrap()
        };
        assert_eq!(against(&good, &end).unwrap().records, 4);
        assert_eq!(against(&log(6), &end).unwrap().records, 6, "growth is fine");
        let e = against(&log(3), &end).unwrap_err();
        assert_eq!(e.line, 4);
        assert!(e.message.contains("cut off the end"), "{e}");
        let mut other = check(&log(3)).unwrap().end();
        other.records = 4;
        let e = against(&good, &other).unwrap_err();
        assert_eq!(e.line, 4);
        assert!(e.message.contains("not the expected"), "{e}");
        let empty = format!("0:{GENESIS}").parse::<ChainEnd>().unwrap();
        assert_eq!(against(b"", &empty).unwrap().records, 0);
        for bad in [
            "",
            "4",
            ":",
            "4:",
            "x:00",
            "-1:00",
            &text[..text.len() - 1],
            "0:ab",
        ] {
            assert!(bad.parse::<ChainEnd>().is_err(), "{bad:?}");
        }
        assert!(format!("0:{}", end.hash).parse::<ChainEnd>().is_err());
    }
}
