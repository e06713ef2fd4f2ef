//! Finding a line's top-level `input` value, as written, without parsing
//! the line again.
//!
//! The line parser does not read `input` (any field it reads costs every
//! line, and most lines have none); it only notes that there is one. Writers
//! put `input` last nearly always, so the first guess is the text after the
//! last `"input":` up to the line's closing brace: it is the value exactly
//! when it reads as one JSON value (`input_features` checks that), and a
//! nested `"input"` key never does (more braces close after it). Otherwise
//! the line is scanned once, tracking strings and depth, for the key at the
//! top level. The line is valid JSON already (it parsed as an event), so the
//! scan only follows JSON's shape, it does not check it.

use std::sync::LazyLock;

use memchr::memmem::Finder;

static KEY: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"input\""));

/// The text after the last `"input":` key up to the line's closing brace:
/// the top-level `input` value when it reads as exactly one JSON value.
pub fn last_input(line: &[u8]) -> Option<&[u8]> {
    // Forward: the vector search is faster than the reverse one, and a
    // line holds the text once or twice.
    let key = KEY.find_iter(line).last()?;
    // A key follows `{` or `,`; a `"` after a backslash is inside a string.
    let before = line[..key].trim_ascii_end();
    if !matches!(before.last(), Some(b'{' | b',')) {
        return None;
    }
    let after = line[key + b"\"input\"".len()..].trim_ascii_start();
    let value = after.strip_prefix(b":")?;
    value
        .trim_ascii()
        .strip_suffix(b"}")
        .map(<[u8]>::trim_ascii)
}

/// The top-level `input` value of a valid JSON object line, as written,
/// found by a scan of the whole line.
pub fn find_input(line: &[u8]) -> Option<&[u8]> {
    let mut scan = Scan { line, at: 0 };
    scan.skip_ws();
    if scan.peek()? != b'{' {
        return None;
    }
    scan.at += 1;
    loop {
        scan.skip_ws();
        match scan.peek()? {
            b'}' => return None,
            b',' => {
                scan.at += 1;
                continue;
            }
            _ => {}
        }
        let key = scan.string()?;
        scan.skip_ws();
        if scan.peek()? != b':' {
            return None;
        }
        scan.at += 1;
        scan.skip_ws();
        let start = scan.at;
        scan.value()?;
        // A key spelled with escapes (`"\u0069nput"`) is not recognised:
        // no writer spells a plain key so.
        if key == b"input" {
            return Some(&line[start..scan.at]);
        }
    }
}

struct Scan<'a> {
    line: &'a [u8],
    at: usize,
}

impl<'a> Scan<'a> {
    fn peek(&self) -> Option<u8> {
        self.line.get(self.at).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// A string at the cursor; its raw bytes between the quotes.
    fn string(&mut self) -> Option<&'a [u8]> {
        if self.peek()? != b'"' {
            return None;
        }
        let start = self.at + 1;
        // Keys and values are short: a plain scan beats a vector search.
        let mut i = start;
        loop {
            i += self
                .line
                .get(i..)?
                .iter()
                .position(|&b| b == b'"' || b == b'\\')?;
            if self.line[i] == b'"' {
                break;
            }
            i += 2;
        }
        self.at = i + 1;
        Some(&self.line[start..i])
    }

    /// Moves past the value at the cursor: a string, an object or array
    /// (however deep, without recursion), or a scalar.
    fn value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    let rest = self.line.get(self.at..)?;
                    self.at += rest
                        .iter()
                        .position(|&b| matches!(b, b'"' | b'{' | b'[' | b'}' | b']'))?;
                    match self.line[self.at] {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        _ => {
                            depth -= 1;
                            if depth == 0 {
                                self.at += 1;
                                return Some(());
                            }
                        }
                    }
                    self.at += 1;
                }
            }
            _ => {
                let rest = self.line.get(self.at..)?;
                self.at += rest.iter().position(|&b| {
                    matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                })?;
                Some(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_top_level_input_only() {
        let cases: [(&str, Option<&str>); 10] = [
            (r#"{"prediction":"a","input":{"x":1}}"#, Some(r#"{"x":1}"#)),
            (
                r#"{ "input" : [1, {"a":"]"}] , "x":2}"#,
                Some(r#"[1, {"a":"]"}]"#),
            ),
            (r#"{"input":-1.5e3}"#, Some("-1.5e3")),
            (r#"{"input":"a\"b\\"}"#, Some(r#""a\"b\\""#)),
            (r#"{"input":null,"y":1}"#, Some("null")),
            // The text `"input"` elsewhere: in a value, a nested key, a key
            // with a backslash before its quote.
            (r#"{"label":"\"input\"","p":{"input":1}}"#, None),
            (r#"{"x\"input":1}"#, None),
            (r#"{"probs":{"a":0.5},"inputs":{"input":2}}"#, None),
            (r#"{"prediction":"a"}"#, None),
            (r#"{"input":1,"x":{"input":2}}"#, Some("1")),
        ];
        for (line, want) in cases {
            let got = find_input(line.as_bytes()).map(|v| std::str::from_utf8(v).unwrap());
            assert_eq!(got, want, "{line}");
        }
    }

    #[test]
    fn the_last_key_is_a_guess_the_reader_confirms() {
        fn guess(line: &str) -> Option<&str> {
            last_input(line.as_bytes()).map(|v| std::str::from_utf8(v).unwrap())
        }
        assert_eq!(
            guess(r#"{"a":1, "input" : {"x":[1]} }"#),
            Some(r#"{"x":[1]}"#)
        );
        // A nested key: the guess holds more than one value (and is refused
        // by the reader), or is no key at all.
        assert_eq!(guess(r#"{"p":{"input":0.3}}"#), Some("0.3}"));
        assert_eq!(guess(r#"{"label":"x\"input\":1}"#), None);
        assert_eq!(guess(r#"{"prediction":"a"}"#), None);
    }

    #[test]
    fn deep_nesting_is_walked_without_recursion() {
        let deep = format!(
            r#"{{"a":{}{},"input":{{"k":1}}}}"#,
            "[".repeat(1 << 20),
            "]".repeat(1 << 20)
        );
        assert_eq!(find_input(deep.as_bytes()), Some(&br#"{"k":1}"#[..]));
    }
}
