//! Cyrus's SQL templates (`sql_select`, `sql_insert`, `sql_update`) turned into statements with
//! bound parameters.
//!
//! Cyrus (`plugins/sql.c`, `sql_create_statement`; reference `sql-crypt-authdaemond.md` §1.2)
//! substitutes the escapes into the SQL text and relies on a per-engine escape function, which
//! is wrong for SQLite (§1.4: an injection that authenticates) and for MySQL under
//! `NO_BACKSLASH_ESCAPES`. Here no value from a user ever reaches the SQL text:
//!
//! | escape | Cyrus | here |
//! |---|---|---|
//! | `%u` | the user without realm, engine-escaped | a bound parameter |
//! | `%r` | the realm, engine-escaped | a bound parameter |
//! | `%v` | the value to store, engine-escaped (`NULL` as text) | a bound parameter; SQL NULL for "no value"; empty in a SELECT |
//! | `%p` | the property name, raw | a bound parameter inside a string literal; elsewhere (`SELECT %p FROM ..`) the name, raw, only if it is a plain identifier |
//! | `%%` | `%` | `%` |
//! | other `%x` | left as it is | left as it is |
//!
//! The quotes an administrator wrote around an escape are part of the parameter: the whole
//! string literal `'%u'` becomes one placeholder (`$1` for PostgreSQL, `?1` for SQLite, `?`
//! for MySQL), and a literal mixing text and escapes (`'%u@%r'`, from Debian's NEWS for
//! 2.1.25) becomes one parameter whose value is the text with the escapes filled in. An escape
//! outside quotes (`WHERE id = %u`) is a placeholder too. Identifiers in quotes (`"%p"` for
//! PostgreSQL and SQLite, `` `%p` `` for MySQL and SQLite) take only `%p`; a user-controlled
//! escape there is a configuration error, since binding it would change the statement's
//! meaning. Comments (`--`, `/* */`, MySQL's `#`) are copied as they are. A trailing `;`
//! (Cyrus appends one) is dropped: prepared statements hold exactly one statement.

use std::fmt::Write as _;

use zeroize::Zeroizing;

/// The SQL dialect a template is parsed for: which quotes start string literals and which
/// start quoted identifiers, and how placeholders are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// PostgreSQL: `'..'` literals, `".."` identifiers, `$1` placeholders.
    Postgres,
    /// MySQL and MariaDB (default SQL mode): `'..'` and `".."` literals with backslash
    /// escapes, `` `..` `` identifiers, `?` placeholders.
    Mysql,
    /// SQLite: `'..'` literals, `".."` and `` `..` `` identifiers, `?1` placeholders.
    Sqlite,
}

impl Dialect {
    fn is_literal_quote(self, c: char) -> bool {
        c == '\'' || (self == Dialect::Mysql && c == '"')
    }

    fn is_identifier_quote(self, c: char) -> bool {
        match self {
            Dialect::Postgres => c == '"',
            Dialect::Mysql => c == '`',
            Dialect::Sqlite => c == '"' || c == '`',
        }
    }

    fn backslash_escapes(self) -> bool {
        self == Dialect::Mysql
    }

    fn placeholder(self, out: &mut String, number: usize) {
        // Writing to a String cannot fail.
        let _ = match self {
            Dialect::Postgres => write!(out, "${number}"),
            Dialect::Mysql => write!(out, "?"),
            Dialect::Sqlite => write!(out, "?{number}"),
        };
    }
}

/// A template escape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Escape {
    /// `%u`: the user name without realm.
    User,
    /// `%r`: the realm.
    Realm,
    /// `%p`: the property name.
    Property,
    /// `%v`: the value being stored.
    Value,
}

/// One piece of a parameter's value: literal text or an escape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Text copied into the value (quotes already unescaped).
    Text(String),
    /// An escape filled in at execution time.
    Escape(Escape),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// SQL text, copied as it is.
    Sql(String),
    /// A raw, validated property name (`%p` outside string literals).
    Property,
    /// A bound parameter.
    Parameter(Vec<Piece>),
}

/// Why a template cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// A quote or a `/*` comment is not closed.
    #[error("unterminated {0} in the template")]
    Unterminated(&'static str),
    /// `%u`, `%r` or `%v` inside a quoted identifier.
    #[error("%u, %r and %v cannot stand in a quoted identifier")]
    EscapeInIdentifier,
    /// The template is empty.
    #[error("empty template")]
    Empty,
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    dialect: Dialect,
    segments: Vec<Segment>,
}

/// A statement ready to be prepared: its text and, in order, what each placeholder holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement<'t> {
    /// The SQL text with placeholders.
    pub text: String,
    /// The parameters, one per placeholder, in order.
    pub parameters: Vec<&'t [Piece]>,
}

/// The values the escapes stand for in one execution.
#[derive(Debug, Clone, Copy)]
pub struct Bindings<'a> {
    /// `%u`.
    pub user: &'a str,
    /// `%r`.
    pub realm: &'a str,
    /// `%p` (a leading `*` is dropped, as Cyrus does).
    pub property: &'a str,
    /// `%v`: `None` is SQL NULL; in a SELECT Cyrus expands it to nothing (`Some(b"")`).
    pub value: Option<&'a [u8]>,
}

/// A bound parameter's value: `None` is SQL NULL. Zeroized on drop, since `%v` is a password.
pub type ParameterValue = Option<Zeroizing<Vec<u8>>>;

/// Whether `name` may stand raw in SQL text: Cyrus's `%p` is substituted unescaped, so only
/// names that cannot change a statement's structure are allowed (letters, digits, `_`, and
/// single `-` between them, as in `cmusaslsecretCRAM-MD5`), plus `*` for the store's
/// row-existence probe.
pub fn is_plain_property(name: &str) -> bool {
    if name == "*" {
        return true;
    }
    !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
}

/// `%p`'s value: the property name without Cyrus's leading `*`.
fn property_name(property: &str) -> &str {
    match property.strip_prefix('*') {
        Some(rest) if !rest.is_empty() => rest,
        _ => property,
    }
}

/// The escape named by the character after `%`, or `None` (left as it is).
fn escape_of(c: char) -> Option<Escape> {
    match c {
        'u' => Some(Escape::User),
        'r' => Some(Escape::Realm),
        'p' => Some(Escape::Property),
        'v' => Some(Escape::Value),
        _ => None,
    }
}

/// Splits text (the inside of a quoted literal, or unquoted SQL) into pieces: `%%` becomes
/// `%`, unknown `%x` stays.
fn pieces(text: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            current.push(c);
            continue;
        }
        match chars.peek().copied() {
            Some('%') => {
                chars.next();
                current.push('%');
            }
            Some(next) => match escape_of(next) {
                Some(escape) => {
                    chars.next();
                    if !current.is_empty() {
                        out.push(Piece::Text(std::mem::take(&mut current)));
                    }
                    out.push(Piece::Escape(escape));
                }
                None => current.push('%'),
            },
            None => current.push('%'),
        }
    }
    if !current.is_empty() {
        out.push(Piece::Text(current));
    }
    out
}

fn has_escape(pieces: &[Piece]) -> bool {
    pieces.iter().any(|p| matches!(p, Piece::Escape(_)))
}

/// Text with `%%` turned into `%` (for SQL kept as it is).
fn unpercent(text: &str) -> String {
    pieces(text)
        .into_iter()
        .map(|piece| match piece {
            Piece::Text(text) => text,
            // Only called on text without escapes.
            Piece::Escape(_) => String::new(),
        })
        .collect()
}

impl Template {
    /// Parses `text` for `dialect`.
    pub fn parse(text: &str, dialect: Dialect) -> Result<Template, TemplateError> {
        let text = text.trim_end();
        let text = text.strip_suffix(';').unwrap_or(text).trim_end();
        if text.trim().is_empty() {
            return Err(TemplateError::Empty);
        }
        let mut segments = Vec::new();
        let mut sql = String::new();
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            if dialect.is_literal_quote(c) {
                let (inside, raw_len) = quoted(rest, c, dialect.backslash_escapes())
                    .ok_or(TemplateError::Unterminated("string literal"))?;
                let (raw, after) = rest.split_at(raw_len);
                let parts = pieces(&inside);
                if has_escape(&parts) {
                    flush(&mut sql, &mut segments);
                    segments.push(Segment::Parameter(parts));
                } else {
                    sql.push_str(&unpercent(raw));
                }
                rest = after;
            } else if dialect.is_identifier_quote(c) {
                let (inside, raw_len) = quoted(rest, c, false)
                    .ok_or(TemplateError::Unterminated("quoted identifier"))?;
                let (raw, after) = rest.split_at(raw_len);
                let parts = pieces(&inside);
                if parts
                    .iter()
                    .any(|p| matches!(p, Piece::Escape(e) if *e != Escape::Property))
                {
                    return Err(TemplateError::EscapeInIdentifier);
                }
                if has_escape(&parts) {
                    sql.push(c);
                    for part in parts {
                        match part {
                            Piece::Text(text) => {
                                // Re-double the quote character the parser undid.
                                let q = c.to_string();
                                sql.push_str(&text.replace(c, &(q.clone() + &q)));
                            }
                            Piece::Escape(_) => {
                                flush(&mut sql, &mut segments);
                                segments.push(Segment::Property);
                            }
                        }
                    }
                    sql.push(c);
                } else {
                    sql.push_str(&unpercent(raw));
                }
                rest = after;
            } else if rest.starts_with("--") || (dialect == Dialect::Mysql && c == '#') {
                let end = rest.find('\n').unwrap_or(rest.len());
                let (comment, after) = rest.split_at(end);
                sql.push_str(comment);
                rest = after;
            } else if rest.starts_with("/*") {
                let end = rest
                    .get(2..)
                    .and_then(|r| r.find("*/"))
                    .ok_or(TemplateError::Unterminated("comment"))?;
                let (comment, after) = rest.split_at(end + 4);
                sql.push_str(comment);
                rest = after;
            } else if c == '%' {
                let next = rest.get(1..).and_then(|r| r.chars().next());
                match next {
                    Some('%') => {
                        sql.push('%');
                        rest = rest.get(2..).unwrap_or("");
                    }
                    Some(n) if escape_of(n).is_some() => {
                        flush(&mut sql, &mut segments);
                        match escape_of(n) {
                            Some(Escape::Property) => segments.push(Segment::Property),
                            Some(escape) => {
                                segments.push(Segment::Parameter(vec![Piece::Escape(escape)]));
                            }
                            None => {}
                        }
                        rest = rest.get(2..).unwrap_or("");
                    }
                    _ => {
                        sql.push('%');
                        rest = rest.get(1..).unwrap_or("");
                    }
                }
            } else {
                sql.push(c);
                rest = rest.get(c.len_utf8()..).unwrap_or("");
            }
        }
        flush(&mut sql, &mut segments);
        Ok(Template { dialect, segments })
    }

    /// The dialect the template was parsed for.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Whether the template uses `%p` outside string literals (its text then depends on the
    /// property).
    pub fn has_raw_property(&self) -> bool {
        self.segments.contains(&Segment::Property)
    }

    /// The statement for `property`, or `None` if the template puts `%p` into SQL text and
    /// `property` is not a plain name ([`is_plain_property`]).
    pub fn statement(&self, property: &str) -> Option<Statement<'_>> {
        let property = property_name(property);
        let mut text = String::new();
        let mut parameters = Vec::new();
        for segment in &self.segments {
            match segment {
                Segment::Sql(sql) => text.push_str(sql),
                Segment::Property => {
                    if !is_plain_property(property) {
                        return None;
                    }
                    text.push_str(property);
                }
                Segment::Parameter(pieces) => {
                    parameters.push(pieces.as_slice());
                    self.dialect.placeholder(&mut text, parameters.len());
                }
            }
        }
        Some(Statement { text, parameters })
    }
}

impl Statement<'_> {
    /// The parameter values for `bindings`, in placeholder order. A parameter holding `%v` is
    /// SQL NULL when the value is `None`.
    pub fn values(&self, bindings: &Bindings<'_>) -> Vec<ParameterValue> {
        self.parameters
            .iter()
            .map(|pieces| {
                let mut value = Zeroizing::new(Vec::new());
                for piece in *pieces {
                    match piece {
                        Piece::Text(text) => value.extend_from_slice(text.as_bytes()),
                        Piece::Escape(Escape::User) => {
                            value.extend_from_slice(bindings.user.as_bytes());
                        }
                        Piece::Escape(Escape::Realm) => {
                            value.extend_from_slice(bindings.realm.as_bytes());
                        }
                        Piece::Escape(Escape::Property) => {
                            value.extend_from_slice(property_name(bindings.property).as_bytes());
                        }
                        Piece::Escape(Escape::Value) => match bindings.value {
                            Some(bytes) => value.extend_from_slice(bytes),
                            None => return None,
                        },
                    }
                }
                Some(value)
            })
            .collect()
    }
}

fn flush(sql: &mut String, segments: &mut Vec<Segment>) {
    if !sql.is_empty() {
        segments.push(Segment::Sql(std::mem::take(sql)));
    }
}

/// The unescaped inside of the quoted token at the start of `text` (which starts with
/// `quote`) and the token's length in bytes, or `None` if it is not closed. A doubled quote
/// stands for one; with `backslashes`, `\x` stands for `x` (MySQL's `\n` and friends are kept
/// as the two characters, which matters only for literals that also hold escapes).
fn quoted(text: &str, quote: char, backslashes: bool) -> Option<(String, usize)> {
    let mut inside = String::new();
    let mut chars = text.char_indices().skip(1).peekable();
    while let Some((index, c)) = chars.next() {
        if backslashes && c == '\\' {
            let (_, next) = chars.next()?;
            inside.push(next);
        } else if c == quote {
            if let Some(&(_, next)) = chars.peek()
                && next == quote
            {
                chars.next();
                inside.push(quote);
                continue;
            }
            return Some((inside, index + c.len_utf8()));
        } else {
            inside.push(c);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const CYRUS_DOCS: &str = "SELECT %p FROM users WHERE username = '%u' and realm = '%r'";

    fn bind<'a>(user: &'a str, property: &'a str) -> Bindings<'a> {
        Bindings {
            user,
            realm: "example.org",
            property,
            value: Some(b"s3cret"),
        }
    }

    fn render(template: &str, dialect: Dialect, property: &str) -> (String, Vec<Vec<u8>>) {
        let template = Template::parse(template, dialect).unwrap();
        let statement = template.statement(property).unwrap();
        let values = statement
            .values(&bind("alice", property))
            .into_iter()
            .map(|v| v.map(|v| v.to_vec()).unwrap_or_else(|| b"<NULL>".to_vec()))
            .collect();
        (statement.text, values)
    }

    #[test]
    fn quoted_escapes_become_placeholders_in_every_dialect() {
        let (pg, values) = render(CYRUS_DOCS, Dialect::Postgres, "userPassword");
        assert_eq!(
            pg,
            "SELECT userPassword FROM users WHERE username = $1 and realm = $2"
        );
        assert_eq!(values, vec![b"alice".to_vec(), b"example.org".to_vec()]);
        let (my, _) = render(CYRUS_DOCS, Dialect::Mysql, "userPassword");
        assert_eq!(
            my,
            "SELECT userPassword FROM users WHERE username = ? and realm = ?"
        );
        let (lite, _) = render(CYRUS_DOCS, Dialect::Sqlite, "userPassword");
        assert_eq!(
            lite,
            "SELECT userPassword FROM users WHERE username = ?1 and realm = ?2"
        );
    }

    #[test]
    fn gentoo_variant_two() {
        let (text, values) = render(
            "SELECT password FROM mailbox WHERE local_part='%u' AND active='1'",
            Dialect::Postgres,
            "userPassword",
        );
        assert_eq!(
            text,
            "SELECT password FROM mailbox WHERE local_part=$1 AND active='1'"
        );
        assert_eq!(values, vec![b"alice".to_vec()]);
    }

    #[test]
    fn mixed_literal_is_one_parameter() {
        let (text, values) = render(
            "SELECT pw FROM t WHERE id = '%u@%r' AND note = 'it''s 100%%'",
            Dialect::Postgres,
            "userPassword",
        );
        assert_eq!(
            text,
            "SELECT pw FROM t WHERE id = $1 AND note = 'it''s 100%'"
        );
        assert_eq!(values, vec![b"alice@example.org".to_vec()]);
        let (_, values) = render(
            "SELECT pw FROM t WHERE x = 'a''b%u%%'",
            Dialect::Sqlite,
            "p",
        );
        assert_eq!(values, vec![b"a'balice%".to_vec()]);
    }

    #[test]
    fn percent_percent_and_unknown_escapes() {
        let (text, values) = render(
            "SELECT pw FROM t WHERE a LIKE 'x%%' AND b = '%a%z' AND c = 100%% AND d = '%u%q'%",
            Dialect::Postgres,
            "p",
        );
        assert_eq!(
            text,
            "SELECT pw FROM t WHERE a LIKE 'x%' AND b = '%a%z' AND c = 100% AND d = $1%"
        );
        assert_eq!(values, vec![b"alice%q".to_vec()]);
    }

    #[test]
    fn unquoted_escapes_are_placeholders_too() {
        let (text, values) = render(
            "SELECT pw FROM t WHERE id = %u AND realm=%r",
            Dialect::Sqlite,
            "p",
        );
        assert_eq!(text, "SELECT pw FROM t WHERE id = ?1 AND realm=?2");
        assert_eq!(values, vec![b"alice".to_vec(), b"example.org".to_vec()]);
    }

    #[test]
    fn property_in_literal_is_bound_and_raw_property_is_checked() {
        let (text, values) = render(
            "SELECT value FROM props WHERE name = '%p' AND user = '%u'",
            Dialect::Postgres,
            "*cmusaslsecretCRAM-MD5",
        );
        assert_eq!(
            text,
            "SELECT value FROM props WHERE name = $1 AND user = $2"
        );
        assert_eq!(
            values,
            vec![b"cmusaslsecretCRAM-MD5".to_vec(), b"alice".to_vec()]
        );
        let template = Template::parse(CYRUS_DOCS, Dialect::Postgres).unwrap();
        assert!(template.has_raw_property());
        assert_eq!(
            template.statement("cmusaslsecretCRAM-MD5").unwrap().text,
            "SELECT cmusaslsecretCRAM-MD5 FROM users WHERE username = $1 and realm = $2"
        );
        assert_eq!(
            template.statement("*").unwrap().text,
            "SELECT * FROM users WHERE username = $1 and realm = $2"
        );
        for hostile in [
            "x FROM users; DROP TABLE users",
            "a--",
            "a b",
            "pw'",
            "",
            "-x",
            "a\0b",
        ] {
            assert!(template.statement(hostile).is_none(), "{hostile:?}");
        }
    }

    #[test]
    fn quoted_identifiers_take_only_the_property() {
        let (text, _) = render(
            "SELECT \"%p\" FROM users WHERE name = '%u'",
            Dialect::Postgres,
            "userPassword",
        );
        assert_eq!(text, "SELECT \"userPassword\" FROM users WHERE name = $1");
        let (text, _) = render(
            "SELECT `%p` FROM users WHERE name = \"%u\"",
            Dialect::Mysql,
            "userPassword",
        );
        assert_eq!(text, "SELECT `userPassword` FROM users WHERE name = ?");
        assert_eq!(
            Template::parse("SELECT pw FROM t WHERE \"%u\" = 1", Dialect::Postgres),
            Err(TemplateError::EscapeInIdentifier)
        );
        assert_eq!(
            Template::parse("SELECT pw FROM t WHERE `%u` = 1", Dialect::Sqlite),
            Err(TemplateError::EscapeInIdentifier)
        );
    }

    #[test]
    fn mysql_backslashes_in_literals() {
        let (text, values) = render(
            r"SELECT pw FROM t WHERE a = 'it\'s' AND b = 'x\'%u'",
            Dialect::Mysql,
            "p",
        );
        assert_eq!(text, r"SELECT pw FROM t WHERE a = 'it\'s' AND b = ?");
        assert_eq!(values, vec![b"x'alice".to_vec()]);
        // Not in PostgreSQL: the backslash is an ordinary character there.
        let (text, values) = render(r"SELECT pw FROM t WHERE b = 'x\%u'", Dialect::Postgres, "p");
        assert_eq!(text, "SELECT pw FROM t WHERE b = $1");
        assert_eq!(values, vec![br"x\alice".to_vec()]);
    }

    #[test]
    fn comments_are_kept_and_trailing_semicolon_dropped() {
        let (text, values) = render(
            "SELECT pw -- '%u\nFROM t /* '%r' */ WHERE u = '%u' ;  ",
            Dialect::Postgres,
            "p",
        );
        assert_eq!(text, "SELECT pw -- '%u\nFROM t /* '%r' */ WHERE u = $1");
        assert_eq!(values, vec![b"alice".to_vec()]);
    }

    #[test]
    fn value_escape_and_null() {
        let template = Template::parse(
            "UPDATE users SET %p = '%v' WHERE name = '%u'",
            Dialect::Postgres,
        )
        .unwrap();
        let statement = template.statement("userPassword").unwrap();
        assert_eq!(
            statement.text,
            "UPDATE users SET userPassword = $1 WHERE name = $2"
        );
        let values = statement.values(&Bindings {
            user: "bob",
            realm: "r",
            property: "userPassword",
            value: None,
        });
        assert!(values[0].is_none());
        assert_eq!(values[1].as_deref().map(Vec::as_slice), Some(&b"bob"[..]));
    }

    #[test]
    fn malformed_templates() {
        assert_eq!(
            Template::parse("SELECT pw FROM t WHERE u = '%u", Dialect::Postgres),
            Err(TemplateError::Unterminated("string literal"))
        );
        assert_eq!(
            Template::parse("SELECT /* x", Dialect::Sqlite),
            Err(TemplateError::Unterminated("comment"))
        );
        assert_eq!(
            Template::parse(" ; ", Dialect::Sqlite),
            Err(TemplateError::Empty)
        );
    }

    #[test]
    fn hostile_user_names_never_reach_the_text() {
        let template = Template::parse(CYRUS_DOCS, Dialect::Sqlite).unwrap();
        let statement = template.statement("userPassword").unwrap();
        let hostile = "' UNION SELECT char(112,119) --";
        let values = statement.values(&bind(hostile, "userPassword"));
        assert!(!statement.text.contains("UNION"));
        assert_eq!(
            values[0].as_deref().map(Vec::as_slice),
            Some(hostile.as_bytes())
        );
    }
}
