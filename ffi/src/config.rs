//! The `<appname>.conf` file: where it is searched for and its `key: value` syntax, with
//! Cyrus's quirks (first key wins, no space before the colon, no inline comments).
//!
//! When `puresasl::config::Config` lands in the core, this parser gives way to it.

use std::collections::HashMap;

/// Debian's compiled-in configuration path.
pub const DEFAULT_CONFIG_PATH: &str =
    "/etc/sasl2:/etc/sasl:/usr/lib/x86_64-linux-gnu/sasl2:/usr/lib/sasl2";

/// The options of one configuration file.
#[derive(Debug, Default, Clone)]
pub struct FileOptions {
    values: HashMap<String, String>,
}

/// Why a configuration file was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl FileOptions {
    /// Parses the text of a configuration file.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let mut values = HashMap::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim_start();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let key_len = line
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                .unwrap_or(line.len());
            let (key, rest) = line.split_at(key_len);
            let Some(value) = rest.strip_prefix(':') else {
                return Err(ConfigError(format!(
                    "line {}: expected ':' right after the option name",
                    number + 1
                )));
            };
            let value = value.trim();
            if key.is_empty() || value.is_empty() {
                return Err(ConfigError(format!("line {}: empty option", number + 1)));
            }
            values
                .entry(key.to_ascii_lowercase())
                .or_insert_with(|| value.to_owned());
        }
        Ok(FileOptions { values })
    }

    /// The value of `key` (lower case).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// Finds and parses `<appname>.conf` in the `:`-separated `path`: the first file that
    /// opens is used. No file at all is not an error.
    pub fn find(appname: &str, path: &str) -> Result<(Self, Option<String>), ConfigError> {
        for dir in path.split(':').filter(|d| !d.is_empty()) {
            let file = format!("{}/{appname}.conf", dir.trim_end_matches('/'));
            match std::fs::read(&file) {
                Ok(bytes) => {
                    let text = String::from_utf8_lossy(&bytes);
                    return Self::parse(&text)
                        .map(|options| (options, Some(file.clone())))
                        .map_err(|e| ConfigError(format!("{file}: {}", e.0)));
                }
                Err(_) => continue,
            }
        }
        Ok((FileOptions::default(), None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cyrus_syntax() {
        let text =
            "# comment\n  pwcheck_method: auxprop  \nmech_list: plain login\nmech_list: cram-md5\n";
        let options = FileOptions::parse(text).unwrap_or_default();
        assert_eq!(options.get("pwcheck_method"), Some("auxprop"));
        assert_eq!(options.get("mech_list"), Some("plain login"));
        assert!(FileOptions::parse("mech_list : plain\n").is_err());
        assert!(FileOptions::parse("mech_list:\n").is_err());
        assert_eq!(
            FileOptions::parse("Log_Level: 7 # not a comment")
                .unwrap_or_default()
                .get("log_level"),
            Some("7 # not a comment")
        );
    }
}
