//! Cyrus SASL's per-application configuration files (`<appname>.conf`), e.g.
//! `/etc/sasl2/smtpd.conf`, parsed the way Cyrus 2.1.28's `lib/config.c` parses them.
//!
//! The syntax, one option per line:
//!
//! - leading whitespace is skipped; empty lines and lines whose first non-blank character is
//!   `#` are ignored (there are no inline comments);
//! - a key is `[A-Za-z0-9_-]+`, lower-cased, followed **immediately** by `:`
//!   (`mech_list : x` is an error, as in Cyrus);
//! - the value starts after any whitespace, must not be empty, and has trailing whitespace
//!   removed; quotes are not interpreted;
//! - for a repeated key **the first one wins**; unknown keys are kept and simply unused.
//!
//! Unlike Cyrus, a line with an empty key (`: value`) is an error rather than an option named
//! "", and lines are not split at 4095 bytes.

use std::path::{Path, PathBuf};

use crate::error::Error;

/// Cyrus's compiled-in configuration search path on Debian (x86-64).
pub const DEFAULT_SEARCH_PATH: &str =
    "/etc/sasl2:/etc/sasl:/usr/lib/x86_64-linux-gnu/sasl2:/usr/lib/sasl2";

/// A parsed configuration file: keys (lower-case) and values in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    options: Vec<(String, String)>,
    path: Option<PathBuf>,
}

impl Config {
    /// Parses the text of a configuration file. Errors (Cyrus's `SASL_CONFIGERR`) name the
    /// line.
    pub fn parse(text: &str) -> Result<Config, Error> {
        let mut options: Vec<(String, String)> = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim_start();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let key_len = line
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                .unwrap_or(line.len());
            let (key, rest) = line.split_at(key_len);
            let line_number = number + 1;
            let Some(value) = rest.strip_prefix(':') else {
                return Err(Error::Config(format!(
                    "line {line_number}: expected ':' right after the option name"
                )));
            };
            if key.is_empty() {
                return Err(Error::Config(format!(
                    "line {line_number}: empty option name"
                )));
            }
            let value = value.trim();
            if value.is_empty() {
                return Err(Error::Config(format!(
                    "line {line_number}: option {key} has no value"
                )));
            }
            options.push((key.to_ascii_lowercase(), value.to_owned()));
        }
        Ok(Config {
            options,
            path: None,
        })
    }

    /// Reads and parses the file at `path`.
    pub fn read(path: &Path) -> Result<Config, Error> {
        let bytes = std::fs::read(path)
            .map_err(|error| Error::Config(format!("cannot read {}: {error}", path.display())))?;
        let text = String::from_utf8_lossy(&bytes);
        let mut config = Config::parse(&text)
            .map_err(|error| Error::Config(format!("{}: {error}", path.display())))?;
        config.path = Some(path.to_owned());
        Ok(config)
    }

    /// Finds `<appname>.conf` in the `:`-separated `search_path` (Cyrus's rule: the first
    /// file that opens is used) and parses it; `None` if no directory has one.
    pub fn find(appname: &str, search_path: &str) -> Result<Option<Config>, Error> {
        for directory in search_path.split(':').filter(|d| !d.is_empty()) {
            let path = Path::new(directory).join(format!("{appname}.conf"));
            match std::fs::read(&path) {
                Ok(bytes) => {
                    let text = String::from_utf8_lossy(&bytes);
                    let mut config = Config::parse(&text)
                        .map_err(|error| Error::Config(format!("{}: {error}", path.display())))?;
                    config.path = Some(path);
                    return Ok(Some(config));
                }
                Err(_) => continue,
            }
        }
        Ok(None)
    }

    /// The value of `key` (matched case-insensitively; the first occurrence wins).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(key))
            .map(|(_, value)| value.as_str())
    }

    /// The file this configuration was read from, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Every option in file order (duplicates included).
    pub fn options(&self) -> impl Iterator<Item = (&str, &str)> {
        self.options.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// Cyrus's boolean option values (`yes`, `on`, `true`, `1`, `t`... by first character).
pub fn is_true(value: &str) -> bool {
    matches!(
        value.bytes().next().map(|b| b.to_ascii_lowercase()),
        Some(b'1' | b'y' | b't')
    ) || value.eq_ignore_ascii_case("on")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cyrus_syntax() {
        let config = Config::parse(
            "# comment\n\n  pwcheck_method: auxprop  \nMech_List:\tcram-md5 plain\n\
             mech_list: login\nsasldb_path: /etc/sasldb2 # not a comment\n",
        )
        .unwrap();
        assert_eq!(config.get("pwcheck_method"), Some("auxprop"));
        assert_eq!(config.get("mech_list"), Some("cram-md5 plain"));
        assert_eq!(config.get("MECH_LIST"), Some("cram-md5 plain"));
        assert_eq!(
            config.get("sasldb_path"),
            Some("/etc/sasldb2 # not a comment")
        );
        assert_eq!(config.get("log_level"), None);
        assert_eq!(config.options().count(), 4);
    }

    #[test]
    fn configerr_cases() {
        for text in [
            "mech_list : plain",
            "mech_list:",
            "mech_list:   ",
            "bad key: x",
            ": x",
            "novalue",
        ] {
            assert!(
                matches!(Config::parse(text), Err(Error::Config(_))),
                "{text:?} should be rejected"
            );
        }
    }

    #[test]
    fn booleans() {
        for yes in ["yes", "on", "1", "true", "T"] {
            assert!(is_true(yes), "{yes}");
        }
        for no in ["no", "off", "0", "false", ""] {
            assert!(!is_true(no), "{no}");
        }
    }

    #[test]
    fn find_uses_first_directory_with_the_file() {
        let base = std::env::temp_dir().join(format!("puresasl-config-{}", std::process::id()));
        let (a, b) = (base.join("a"), base.join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        std::fs::write(b.join("app.conf"), "scram_iteration_counter: 10000\n").unwrap();
        let search = format!(
            "{}:{}:{}",
            base.join("none").display(),
            a.display(),
            b.display()
        );
        let config = Config::find("app", &search).unwrap().unwrap();
        assert_eq!(config.get("scram_iteration_counter"), Some("10000"));
        assert_eq!(config.path(), Some(b.join("app.conf").as_path()));
        assert_eq!(Config::find("other", &search).unwrap(), None);
        std::fs::write(a.join("app.conf"), "broken : x\n").unwrap();
        assert!(Config::find("app", &search).is_err());
        let _ = std::fs::remove_dir_all(&base);
    }
}
