//! The directive list parser (RFC 2831 section 7.1, the `#rule` of RFC 2616 section 2.1):
//! `name=value` pairs separated by commas and optional whitespace, a value being a token or a
//! quoted string with `\` escapes.
//!
//! Strict where it matters and bounded: the caller's size limit is checked first, names must
//! be tokens, quoted strings must close, control characters are refused, and a directive may
//! appear twice only if the caller says so (`realm` in a challenge). Unknown directives are
//! kept, and ignored by the callers (section 2.1.1: "Any unrecognized options should be
//! ignored").

#![deny(clippy::indexing_slicing)]

use crate::error::{Error, check_len, malformed};

/// A parsed directive list, in message order. Names are lower-cased.
#[derive(Debug, Default)]
pub(crate) struct Directives {
    entries: Vec<(String, Vec<u8>)>,
}

impl Directives {
    /// The value of `name`, if present (the first one for repeatable directives).
    pub(crate) fn get(&self, name: &str) -> Option<&[u8]> {
        self.entries
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// Every directive, in message order (the fuzz round trip's view).
    #[cfg(feature = "fuzzing")]
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.entries.iter().map(|(n, v)| (n.as_str(), v.as_slice()))
    }

    /// Every value of `name`, in order.
    pub(crate) fn all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s [u8]> + 's {
        self.entries
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }
}

/// RFC 2616 token characters: CHAR except CTLs and separators.
fn is_token(byte: u8) -> bool {
    byte.is_ascii_graphic()
        && !matches!(
            byte,
            b'(' | b')'
                | b'<'
                | b'>'
                | b'@'
                | b','
                | b';'
                | b':'
                | b'\\'
                | b'"'
                | b'/'
                | b'['
                | b']'
                | b'?'
                | b'='
                | b'{'
                | b'}'
        )
}

/// Characters allowed in an unquoted value: Cyrus and others send unquoted `digest-uri`-like
/// values with `/`, `=` or `@`, so anything visible but `,` and `"`, including UTF-8.
fn is_bare_value(byte: u8) -> bool {
    (byte > b' ' && byte != 0x7f) && byte != b',' && byte != b'"'
}

/// A control character other than the linear white space a quoted string may hold.
fn is_control(byte: u8) -> bool {
    (byte < b' ' && !is_lws(byte)) || byte == 0x7f
}

fn is_lws(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n')
}

/// Parses `input` (at most `limit` bytes); directives named in `repeatable` may repeat.
pub(crate) fn parse(input: &[u8], limit: usize, repeatable: &[&str]) -> Result<Directives, Error> {
    check_len(input, limit)?;
    let mut directives = Directives::default();
    let mut rest = input;
    loop {
        // Empty list elements (`,,`) are allowed by the #rule.
        rest = skip(rest, |b| is_lws(b) || b == b',');
        if rest.is_empty() {
            break;
        }
        let name_len = rest.iter().take_while(|&&b| is_token(b)).count();
        if name_len == 0 {
            return Err(malformed("DIGEST-MD5 directive name expected"));
        }
        let (name, after) = rest.split_at(name_len);
        // Tokens are ASCII.
        let name = std::str::from_utf8(name)
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        rest = skip(after, is_lws);
        rest = match rest.split_first() {
            Some((b'=', after)) => skip(after, is_lws),
            _ => return Err(malformed("DIGEST-MD5 directive without '='")),
        };
        let value;
        (value, rest) = match rest.first() {
            Some(b'"') => quoted(rest.get(1..).unwrap_or_default())?,
            _ => {
                let len = rest.iter().take_while(|&&b| is_bare_value(b)).count();
                if len == 0 {
                    return Err(malformed("DIGEST-MD5 directive without a value"));
                }
                let (value, after) = rest.split_at(len);
                (value.to_vec(), after)
            }
        };
        rest = skip(rest, is_lws);
        match rest.split_first() {
            None => {}
            Some((b',', after)) => rest = after,
            Some(_) => return Err(malformed("DIGEST-MD5 directives not separated by ','")),
        }
        if directives.get(&name).is_some() && !repeatable.contains(&name.as_str()) {
            return Err(malformed("duplicate DIGEST-MD5 directive"));
        }
        directives.entries.push((name, value));
    }
    Ok(directives)
}

fn skip(input: &[u8], pred: impl Fn(u8) -> bool) -> &[u8] {
    let n = input.iter().take_while(|&&b| pred(b)).count();
    input.get(n..).unwrap_or_default()
}

/// Reads a quoted string's body (after the opening quote); returns the unescaped value and
/// the input after the closing quote.
fn quoted(input: &[u8]) -> Result<(Vec<u8>, &[u8]), Error> {
    // Most values have no escape: take the run of plain bytes up to the first quote,
    // backslash or control character at once.
    let plain = input
        .iter()
        .take_while(|&&b| b != b'"' && b != b'\\' && !is_control(b))
        .count();
    let (run, rest) = input.split_at(plain);
    if let Some((b'"', after)) = rest.split_first() {
        return Ok((run.to_vec(), after));
    }
    let mut value = Vec::new();
    let mut bytes = input.iter().enumerate();
    while let Some((at, &byte)) = bytes.next() {
        match byte {
            b'"' => return Ok((value, input.get(at + 1..).unwrap_or_default())),
            // An escaped byte obeys the same rule as a bare one: no control characters
            // smuggled in as `\<CTL>` (found by the parser's fuzz round trip).
            b'\\' => match bytes.next() {
                Some((_, &escaped)) if !is_control(escaped) => value.push(escaped),
                _ => return Err(malformed("bad escape in DIGEST-MD5 quoted string")),
            },
            _ if is_control(byte) => {
                return Err(malformed("control character in DIGEST-MD5 quoted string"));
            }
            _ => value.push(byte),
        }
    }
    Err(malformed("unterminated DIGEST-MD5 quoted string"))
}

/// Splits a comma-separated list inside a directive value (`qop="auth,auth-int"`), trimming
/// whitespace and skipping empty elements.
pub(crate) fn list(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(|item| {
            let start = item.iter().take_while(|&&b| is_lws(b)).count();
            let item = item.get(start..).unwrap_or_default();
            let end = item.len() - item.iter().rev().take_while(|&&b| is_lws(b)).count();
            item.get(..end).unwrap_or_default()
        })
        .filter(|item| !item.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_challenge() {
        let d = parse(
            b"realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\",qop=\"auth\",algorithm=md5-sess,charset=utf-8",
            2048,
            &["realm"],
        )
        .unwrap();
        assert_eq!(d.get("realm"), Some(&b"elwood.innosoft.com"[..]));
        assert_eq!(d.get("algorithm"), Some(&b"md5-sess"[..]));
        assert_eq!(d.get("charset"), Some(&b"utf-8"[..]));
    }

    #[test]
    fn escapes_whitespace_and_empty_elements() {
        let d = parse(
            b" , Realm = \"a\\\"b\\\\c\" ,, x=y ,z=\"\"",
            2048,
            &["realm"],
        )
        .unwrap();
        assert_eq!(d.get("realm"), Some(&br#"a"b\c"#[..]));
        assert_eq!(d.get("x"), Some(&b"y"[..]));
        assert_eq!(d.get("z"), Some(&b""[..]));
    }

    #[test]
    fn repeats_only_when_allowed() {
        let input = b"realm=\"a\",realm=\"b\"";
        let d = parse(input, 2048, &["realm"]).unwrap();
        assert_eq!(
            d.all("realm").collect::<Vec<_>>(),
            vec![&b"a"[..], &b"b"[..]]
        );
        assert!(parse(input, 2048, &[]).is_err());
        assert!(parse(b"nonce=a,NONCE=b", 2048, &["realm"]).is_err());
    }

    #[test]
    fn malformed_inputs() {
        for bad in [
            &b"realm"[..],
            b"realm=",
            b"=x",
            b"a=\"unterminated",
            b"a=\"bad\\",
            b"a=\"ctl\x01\"",
            b"a=b c=d",
            b"a=\"x\"y",
            b"a b=c",
            b"a=\"\\\0\"",
        ] {
            assert!(parse(bad, 2048, &[]).is_err(), "{bad:?}");
        }
        assert!(parse(&[b'a'; 10], 9, &[]).is_err());
    }

    #[test]
    fn lists() {
        let items: Vec<_> = list(b" auth , auth-int,,auth-conf ").collect();
        assert_eq!(items, vec![&b"auth"[..], b"auth-int", b"auth-conf"]);
    }
}
