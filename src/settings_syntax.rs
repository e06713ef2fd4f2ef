//! Syntax shared by the source and kill-switch settings: `${NAME}`
//! expansion in headers, URLs and messages, HTTP header names, and
//! positive durations (`5s`, `7d`).

/// Expands every `${NAME}` through `lookup`; anything else, including a
/// lone `$` or `$NAME`, is kept as written. A missing variable is an error
/// naming it (never a value).
pub fn expand_vars(
    text: &str,
    mut lookup: impl FnMut(&str) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err("unclosed ${".into());
        };
        let name = &after[..end];
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!("bad variable name in ${{{name}}}"));
        }
        match lookup(name) {
            Some(v) => out.push_str(&v),
            None => return Err(format!("environment variable {name} is not set")),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// An HTTP header name must be an RFC 9110 token.
pub fn check_header_name(name: &str) -> Result<(), String> {
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(token) {
        // The name may be a mistyped value: show only its length.
        return Err(format!(
            "invalid header name ({} bytes); expected 'NAME: VALUE'",
            name.len()
        ));
    }
    Ok(())
}

/// A positive duration such as `5s`, `36h` or `7d`.
pub fn positive_duration(text: &str) -> Result<std::time::Duration, String> {
    match humantime::parse_duration(text) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err("must be positive".into()),
        Err(e) => Err(format!("bad duration {text:?}: {e} (e.g. 5s, 36h, 7d)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_are_tokens() {
        assert!(check_header_name("X-Api-Key").is_ok());
        for bad in ["", "X(1)", "a b", "k:v", "é"] {
            assert!(check_header_name(bad).is_err(), "{bad:?}");
        }
    }
}
