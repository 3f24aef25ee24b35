//! The opaque handles C holds: a connection (`sasl_conn_t`) and its parts. The modules that
//! work on a connection depend on this one, not on each other.

#![allow(non_camel_case_types, reason = "the C names are the ABI")]

use std::ffi::{CString, c_char, c_int, c_uint};
use std::sync::Arc;
use std::sync::atomic::AtomicI32;

use puresasl::{ChannelBinding, ClientSession, ServerConfig, ServerSession};

use crate::buffer::StableBuffer;
use crate::callbacks::CallbackList;
use crate::global::ServerGlobal;
use crate::types::{propval, sasl_interact_t, sasl_security_properties_t, sasl_ssf_t};

/// A connection (opaque to C).
pub struct sasl_conn {
    /// The plug-in state of this connection: a plug-in mechanism's exchange and the utility
    /// table (made when a plug-in first needs it). First, so it is dropped first: a plug-in's
    /// `mech_dispose` may still reach the rest of the connection through its utilities.
    pub(crate) utils: crate::utils::ConnUtils,
    pub(crate) service: CString,
    pub(crate) fqdn: CString,
    pub(crate) user_realm: Option<CString>,
    pub(crate) iplocal: Option<CString>,
    pub(crate) ipremote: Option<CString>,
    pub(crate) callbacks: CallbackList,
    pub(crate) flags: c_uint,
    pub(crate) props: sasl_security_properties_t,
    pub(crate) external_ssf: sasl_ssf_t,
    pub(crate) auth_external: Option<CString>,
    pub(crate) channel_binding: Option<ChannelBinding>,
    /// `serverout`/`clientout` (valid until the next step; zeroed when replaced).
    pub(crate) out: StableBuffer,
    /// `sasl_encode`/`sasl_encodev` output (valid until the next call).
    pub(crate) encoded: StableBuffer,
    /// `sasl_decode` output (valid until the next call).
    pub(crate) decoded: StableBuffer,
    /// `SASL_USERNAME` (the address stays readable until `sasl_dispose`).
    pub(crate) username: StableBuffer,
    /// `SASL_AUTHUSER` (likewise).
    pub(crate) authuser: StableBuffer,
    /// `sasl_listmech`'s result (likewise; the contents change with the next call).
    pub(crate) mechlist: StableBuffer,
    pub(crate) ssf: sasl_ssf_t,
    pub(crate) maxoutbuf: c_uint,
    pub(crate) detail: String,
    pub(crate) detail_code: c_int,
    /// `sasl_errdetail`'s result (likewise).
    pub(crate) errdetail: StableBuffer,
    /// What `sasl_getprop` returns for the properties `sasl_setprop` replaces
    /// (`SASL_DEFUSERREALM`, `SASL_IPLOCALPORT`, `SASL_IPREMOTEPORT`, `SASL_AUTH_EXTERNAL`):
    /// the addresses stay readable until `sasl_dispose` (Cyrus keeps the address ports in
    /// fixed buffers of the connection), the contents change with a later `sasl_getprop`.
    pub(crate) replaceable: [StableBuffer; 4],
    pub(crate) propctx: Box<propctx>,
    pub(crate) side: Side,
}

/// Cyrus's name for [`sasl_conn`].
pub type sasl_conn_t = sasl_conn;

pub(crate) enum Side {
    Server(Box<ServerSide>),
    Client(Box<ClientSide>),
}

pub(crate) enum Outcome {
    NotStarted,
    Running,
    Done,
    Failed,
}

pub(crate) struct ServerSide {
    pub(crate) global: Arc<ServerGlobal>,
    pub(crate) config: Arc<ServerConfig>,
    pub(crate) session: Option<ServerSession>,
    pub(crate) outcome: Outcome,
    pub(crate) sent_last: bool,
    /// Whether passwords are checked only against the store, so an unknown user is known.
    pub(crate) auxprop_only: bool,
    /// The configuration's store, which remembers whether the exchange's lookup found the
    /// user (`SASL_NOUSER` vs `SASL_BADAUTH`).
    pub(crate) lookups: Option<Arc<crate::known_users::RememberingStore>>,
    /// The result code of a failed `SASL_CB_CANON_USER` call in the current exchange
    /// (`SASL_OK` if none failed): the exchange fails with that code, as in Cyrus.
    pub(crate) canon_status: Arc<AtomicI32>,
    /// The result code of a refusing `SASL_CB_PROXY_POLICY` call in the current exchange
    /// (`SASL_OK` if none refused): the exchange fails with that code, as in Cyrus.
    pub(crate) policy_status: Arc<AtomicI32>,
}

pub(crate) struct ClientSide {
    pub(crate) global: Arc<CallbackList>,
    pub(crate) session: Option<ClientSession>,
    /// Where the running session's mechanism gets its credentials (and prompt answers).
    pub(crate) source: Option<Arc<crate::interact::ClientSource>>,
    /// The server's mechanism list when `sasl_client_start` had no `clientout`: as in Cyrus,
    /// the chosen mechanism then starts in the first `sasl_client_step`.
    pub(crate) unstarted: Option<String>,
    /// The client's `SASL_USERNAME`, once the mechanism has the names.
    pub(crate) username: Option<String>,
    /// The prompts of the last `SASL_INTERACT` (ours until the next call), and their texts.
    pub(crate) prompts: Vec<sasl_interact_t>,
    pub(crate) prompt_text: Vec<CString>,
}

/// A property context (opaque to C): requested names and their values.
///
/// Pointer lifetimes, as Cyrus's: a value string stays valid until its property is erased or
/// the context cleared or disposed; the array `prop_get` returns stays valid until the next
/// change to the context (a repeated `prop_get` without change returns the same array).
#[derive(Default)]
pub struct propctx {
    pub(crate) entries: Vec<Entry>,
    /// The `propval` array `prop_get` returns, rebuilt only after a change.
    pub(crate) view: Vec<propval>,
    /// NULL-terminated value-pointer arrays backing `view`.
    pub(crate) value_ptrs: Vec<Vec<*const c_char>>,
    /// Whether `entries` changed since `view` was built.
    pub(crate) stale: bool,
}

#[derive(Clone)]
pub(crate) struct Entry {
    pub(crate) name: CString,
    pub(crate) values: Vec<PropValue>,
}

impl Entry {
    /// Drops the values, zeroing their bytes (they are often passwords).
    pub(crate) fn erase_values(&mut self) {
        self.values.clear();
    }
}

/// One value of a property, as Cyrus keeps it: the bytes as given, then a NUL. Binary-safe:
/// a value may hold NUL bytes (OpenLDAP's slapd stores a `Connection *` in one and reads it
/// back as `*(Connection **)values[0]`). Zeroed when dropped (values are often passwords).
#[derive(Clone)]
pub(crate) struct PropValue(zeroize::Zeroizing<Vec<u8>>);

impl PropValue {
    /// A value holding `bytes` (and the NUL after them), copied once.
    pub(crate) fn new(bytes: &[u8]) -> Self {
        let mut stored = Vec::with_capacity(bytes.len() + 1);
        stored.extend_from_slice(bytes);
        stored.push(0);
        PropValue(zeroize::Zeroizing::new(stored))
    }

    /// The address C reads the value at.
    pub(crate) fn as_ptr(&self) -> *const std::ffi::c_char {
        self.0.as_ptr().cast()
    }

    /// The value's bytes, without the NUL after them.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.split_last().map_or(&[], |(_, bytes)| bytes)
    }

    /// The value read as a C string (up to its first NUL), as Cyrus's sasldb and sql
    /// plug-ins store it (`strlen(value)`): Cyrus's OTP module hands over its secret with the
    /// NUL counted in its length, and reads a stored value longer than its string as an
    /// old binary secret.
    pub(crate) fn c_str_bytes(&self) -> &[u8] {
        let bytes = self.as_bytes();
        let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
        bytes.get(..end).unwrap_or_default()
    }
}
