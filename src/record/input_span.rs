//! Finding a line's top-level `input` value, as written, without parsing
//! the line again.
//!
//! The line parser does not read `input` at all: any field it reads, or any
//! feature serde_json needs to hand it over, costs every line, and most
//! lines have no `input`. Those are told by one substring search; a line
//! that has the text `"input"` is scanned once, tracking strings and depth,
//! for the key at the top level. The line is valid JSON already (it parsed
//! as an event), so the scan only needs to follow JSON's shape, not check it.

use std::sync::LazyLock;

use memchr::memmem::Finder;

static KEY: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"input\""));

/// The top-level `input` value of a valid JSON object line, as written.
pub fn find_input(line: &[u8]) -> Option<&str> {
    KEY.find(line)?;
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
            return std::str::from_utf8(&line[start..scan.at]).ok();
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
        // Keys and values are short: a plain loop beats a vector search.
        let mut i = start;
        loop {
            match *self.line.get(i)? {
                b'"' => break,
                b'\\' => i += 2,
                _ => i += 1,
            }
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
                    match self.peek()? {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.at += 1;
                                return Some(());
                            }
                        }
                        _ => {}
                    }
                    self.at += 1;
                }
            }
            _ => {
                while !matches!(
                    self.peek()?,
                    b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'
                ) {
                    self.at += 1;
                }
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
        let cases: [(&str, Option<&str>); 9] = [
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
        ];
        for (line, want) in cases {
            assert_eq!(find_input(line.as_bytes()), want, "{line}");
        }
    }

    #[test]
    fn deep_nesting_is_walked_without_recursion() {
        let deep = format!(
            r#"{{"a":{}{},"input":{{"k":1}}}}"#,
            "[".repeat(1 << 20),
            "]".repeat(1 << 20)
        );
        assert_eq!(find_input(deep.as_bytes()), Some(r#"{"k":1}"#));
    }
}
