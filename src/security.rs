//! Security flags and properties, with Cyrus's numeric values.

use std::fmt;
use std::ops::{BitOr, BitOrAssign};

use crate::error::Error;

/// A set of `SASL_SEC_*` flags: what a mechanism protects against, or what an application
/// requires of a mechanism.
#[derive(Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct SecurityFlags(u32);

impl SecurityFlags {
    /// No flags.
    pub const NONE: SecurityFlags = SecurityFlags(0);
    /// The password is not sent in the clear (`noplaintext`).
    pub const NOPLAINTEXT: SecurityFlags = SecurityFlags(0x0001);
    /// Not vulnerable to active (non-dictionary) attacks (`noactive`).
    pub const NOACTIVE: SecurityFlags = SecurityFlags(0x0002);
    /// Not vulnerable to passive dictionary attacks (`nodictionary`).
    pub const NODICTIONARY: SecurityFlags = SecurityFlags(0x0004);
    /// Forward secrecy between sessions (`forward_secrecy`).
    pub const FORWARD_SECRECY: SecurityFlags = SecurityFlags(0x0008);
    /// Not anonymous (`noanonymous`).
    pub const NOANONYMOUS: SecurityFlags = SecurityFlags(0x0010);
    /// The mechanism can pass client credentials.
    pub const PASS_CREDENTIALS: SecurityFlags = SecurityFlags(0x0020);
    /// The server authenticates itself to the client (`mutual_auth`).
    pub const MUTUAL_AUTH: SecurityFlags = SecurityFlags(0x0040);

    /// The raw `SASL_SEC_*` bits.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Flags from raw `SASL_SEC_*` bits (unknown bits are kept, as Cyrus does).
    pub const fn from_bits(bits: u32) -> Self {
        SecurityFlags(bits)
    }

    /// The flags of both sets.
    pub const fn union(self, other: SecurityFlags) -> Self {
        SecurityFlags(self.0 | other.0)
    }

    /// Whether every flag of `other` is set in `self`.
    pub const fn contains(self, other: SecurityFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Parses Postfix-style option names (`noplaintext, noanonymous`), separated by commas
    /// or whitespace. An empty string is no flags.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let mut flags = SecurityFlags::NONE;
        for name in text
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|name| !name.is_empty())
        {
            flags |= match name.to_ascii_lowercase().as_str() {
                "noplaintext" => SecurityFlags::NOPLAINTEXT,
                "noactive" => SecurityFlags::NOACTIVE,
                "nodictionary" => SecurityFlags::NODICTIONARY,
                "forward_secrecy" => SecurityFlags::FORWARD_SECRECY,
                "noanonymous" => SecurityFlags::NOANONYMOUS,
                "mutual_auth" => SecurityFlags::MUTUAL_AUTH,
                "pass_credentials" => SecurityFlags::PASS_CREDENTIALS,
                _ => return Err(Error::Config(format!("unknown security option {name:?}"))),
            };
        }
        Ok(flags)
    }
}

impl BitOr for SecurityFlags {
    type Output = SecurityFlags;
    fn bitor(self, other: SecurityFlags) -> SecurityFlags {
        SecurityFlags(self.0 | other.0)
    }
}

impl BitOrAssign for SecurityFlags {
    fn bitor_assign(&mut self, other: SecurityFlags) {
        self.0 |= other.0;
    }
}

impl fmt::Debug for SecurityFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [(SecurityFlags, &str); 7] = [
            (SecurityFlags::NOPLAINTEXT, "noplaintext"),
            (SecurityFlags::NOACTIVE, "noactive"),
            (SecurityFlags::NODICTIONARY, "nodictionary"),
            (SecurityFlags::FORWARD_SECRECY, "forward_secrecy"),
            (SecurityFlags::NOANONYMOUS, "noanonymous"),
            (SecurityFlags::PASS_CREDENTIALS, "pass_credentials"),
            (SecurityFlags::MUTUAL_AUTH, "mutual_auth"),
        ];
        let names: Vec<&str> = NAMES
            .iter()
            .filter(|(flag, _)| self.contains(*flag))
            .map(|(_, name)| *name)
            .collect();
        write!(f, "SecurityFlags({})", names.join(" "))
    }
}

/// What an application requires of the security of a session (Cyrus's
/// `sasl_security_properties_t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecurityProperties {
    /// The least acceptable security strength factor (0 = no security layer needed).
    pub min_ssf: u32,
    /// The greatest useful security strength factor.
    pub max_ssf: u32,
    /// The largest security-layer packet the application can receive (0 = no layer).
    pub max_buf_size: u32,
    /// The flags a mechanism must satisfy.
    pub flags: SecurityFlags,
}

impl Default for SecurityProperties {
    /// No security layer required, any offered up to 256 bits, 64 KiB buffers, no flags.
    fn default() -> Self {
        SecurityProperties {
            min_ssf: 0,
            max_ssf: 256,
            max_buf_size: 65536,
            flags: SecurityFlags::NONE,
        }
    }
}

/// A channel-binding type (RFC 5056 section 7; the IANA "Channel-Binding Types" registry).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ChannelBindingKind {
    /// `tls-unique` (RFC 5929), TLS 1.2 and earlier.
    TlsUnique,
    /// `tls-server-end-point` (RFC 5929): the hash of the server's certificate.
    TlsServerEndPoint,
    /// `tls-exporter` (RFC 9266), TLS 1.3.
    TlsExporter,
    /// Another registered type, by its name (checked against RFC 5056's syntax when sent).
    Other(String),
}

impl ChannelBindingKind {
    /// The type's name on the wire (`p=<name>` in SCRAM).
    pub fn name(&self) -> &str {
        match self {
            ChannelBindingKind::TlsUnique => "tls-unique",
            ChannelBindingKind::TlsServerEndPoint => "tls-server-end-point",
            ChannelBindingKind::TlsExporter => "tls-exporter",
            ChannelBindingKind::Other(name) => name,
        }
    }
}

impl From<&str> for ChannelBindingKind {
    /// The type of a name (the three RFC types by their names, anything else as `Other`).
    fn from(name: &str) -> Self {
        match name {
            "tls-unique" => ChannelBindingKind::TlsUnique,
            "tls-server-end-point" => ChannelBindingKind::TlsServerEndPoint,
            "tls-exporter" => ChannelBindingKind::TlsExporter,
            other => ChannelBindingKind::Other(other.to_owned()),
        }
    }
}

impl From<String> for ChannelBindingKind {
    fn from(name: String) -> Self {
        ChannelBindingKind::from(name.as_str())
    }
}

impl fmt::Display for ChannelBindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Channel binding data from the TLS layer under the SASL exchange (RFC 5056), for the
/// SCRAM `-PLUS` mechanisms.
#[derive(Clone)]
pub struct ChannelBinding {
    /// The binding type.
    pub kind: ChannelBindingKind,
    /// The binding data.
    pub data: Vec<u8>,
    /// Whether the exchange must bind (Cyrus's `critical`): only the `-PLUS` mechanisms are
    /// offered and chosen, so a peer that does not bind fails.
    pub required: bool,
}

impl fmt::Debug for ChannelBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelBinding")
            .field("kind", &self.kind)
            .field("required", &self.required)
            .field("data_len", &self.data.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_binding_kinds_by_name() {
        for kind in [
            ChannelBindingKind::TlsUnique,
            ChannelBindingKind::TlsServerEndPoint,
            ChannelBindingKind::TlsExporter,
        ] {
            assert_eq!(ChannelBindingKind::from(kind.name()), kind);
        }
        let other = ChannelBindingKind::from("x-private");
        assert_eq!(other, ChannelBindingKind::Other("x-private".into()));
        assert_eq!(other.to_string(), "x-private");
    }

    #[test]
    fn parse_postfix_options() {
        let flags = SecurityFlags::parse("noplaintext, noanonymous").unwrap_or_default();
        assert_eq!(flags.bits(), 0x11);
        assert_eq!(
            SecurityFlags::parse("").unwrap_or_default(),
            SecurityFlags::NONE
        );
        assert!(SecurityFlags::parse("nonsense").is_err());
    }
}
