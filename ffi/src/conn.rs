//! What every connection has: creation helpers, the error detail (`sasl_errdetail`,
//! `sasl_seterror`), `sasl_dispose`, and the one way an export reaches its connection.

#![allow(non_camel_case_types, reason = "the C names are the ABI")]

use std::ffi::{CString, c_char, c_int, c_uint};
use std::sync::OnceLock;

use puresasl::{Error, Identity, SecurityFlags, SecurityProperties, unstable};

use crate::buffer::StableBuffer;
use crate::callbacks::{Callback, CallbackList, CallbackLog};
use crate::consts::*;
use crate::errors::code_of;
use crate::handles::{Side, propctx, sasl_conn, sasl_conn_t};
use crate::types::sasl_security_properties_t;
use crate::util::{conn, guard, opt_string};

impl sasl_conn {
    pub(crate) fn new(
        service: &str,
        fqdn: &str,
        callbacks: CallbackList,
        flags: c_uint,
        side: Side,
    ) -> Self {
        sasl_conn {
            service: cstring(service),
            fqdn: cstring(&fqdn.to_ascii_lowercase()),
            user_realm: None,
            iplocal: None,
            ipremote: None,
            callbacks,
            flags,
            props: sasl_security_properties_t {
                min_ssf: 0,
                max_ssf: 0,
                maxbufsize: 0,
                security_flags: 0,
                property_names: std::ptr::null_mut(),
                property_values: std::ptr::null_mut(),
            },
            external_ssf: 0,
            auth_external: None,
            channel_binding: None,
            out: StableBuffer::default(),
            encoded: StableBuffer::default(),
            decoded: StableBuffer::default(),
            username: StableBuffer::default(),
            authuser: StableBuffer::default(),
            mechlist: StableBuffer::default(),
            ssf: 0,
            maxoutbuf: 0,
            detail: String::new(),
            detail_code: SASL_OK,
            errdetail: StableBuffer::default(),
            replaceable: Default::default(),
            propctx: Box::new(propctx::default()),
            side,
            utils: crate::utils::ConnUtils::default(),
        }
    }

    /// Records an error's detail for `sasl_errdetail` and returns the code.
    pub(crate) fn error(&mut self, code: c_int, detail: impl Into<String>) -> c_int {
        self.detail = detail.into();
        self.detail_code = code;
        code
    }

    pub(crate) fn fail(&mut self, error: &Error) -> c_int {
        let (code, detail) = code_of(error);
        self.error(code, detail)
    }

    /// Puts `data` in the output buffer (NUL-terminated) and returns its pointer and length.
    pub(crate) fn output(&mut self, data: &[u8]) -> (*const c_char, c_uint) {
        (
            self.out.publish(data),
            c_uint::try_from(data.len()).unwrap_or(c_uint::MAX),
        )
    }

    pub(crate) fn security_properties(&self) -> SecurityProperties {
        SecurityProperties {
            min_ssf: self.props.min_ssf,
            max_ssf: self.props.max_ssf,
            max_buf_size: self.props.maxbufsize,
            flags: SecurityFlags::from_bits(self.props.security_flags),
        }
    }

    pub(crate) fn user_realm_str(&self) -> Option<String> {
        self.user_realm
            .as_ref()
            .map(|r| r.to_string_lossy().into_owned())
    }

    /// The user name Cyrus reports for `identity`: the authzid if any, else the authcid, with
    /// `@realm` when the realm is not the default or `user_realm` is set.
    pub(crate) fn canonical_name(&self, identity: &Identity) -> String {
        // Cyrus's oparams.user: the canonical name, with the user realm appended to a name
        // without one.
        match &identity.authzid {
            Some(authzid) => self.qualify(authzid),
            None => self.qualify(&identity.canonical),
        }
    }

    pub(crate) fn qualify(&self, name: &str) -> String {
        let name = name.trim();
        match self.user_realm_str() {
            Some(realm) if !name.contains('@') => format!("{name}@{realm}"),
            _ => name.to_owned(),
        }
    }
}

pub(crate) fn cstring(text: &str) -> CString {
    // Without a NUL (always, but for hostile input) one copy, not two.
    CString::new(text).unwrap_or_else(|_| CString::new(text.replace('\0', "")).unwrap_or_default())
}

/// The static, NUL-terminated name of a mechanism (valid for the life of the process).
pub(crate) fn static_mech_name(name: &str) -> *const c_char {
    static NAMES: OnceLock<Vec<CString>> = OnceLock::new();
    let names = NAMES.get_or_init(|| {
        unstable::MECHANISMS
            .iter()
            .map(|m| cstring(m.name))
            .collect()
    });
    unstable::MECHANISMS
        .iter()
        .zip(names)
        .find(|(info, _)| info.name == name)
        .map_or(std::ptr::null(), |(_, c)| c.as_ptr())
}

/// Validates an `address;port` string as Cyrus does (numeric address, numeric port).
pub(crate) fn valid_ipport(text: &str) -> bool {
    let Some((address, port)) = text.rsplit_once(';').or_else(|| {
        // Cyrus also accepts the older `a.b.c.d:port` form for IPv4.
        text.rsplit_once(':').filter(|(a, _)| !a.contains(':'))
    }) else {
        return false;
    };
    address.parse::<std::net::IpAddr>().is_ok() && port.parse::<u16>().is_ok()
}

/// Ends a connection and frees it; `*pconn` becomes NULL.
///
/// # Safety
/// `pconn` NULL or pointing at NULL or a live connection.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_dispose(pconn: *mut *mut sasl_conn_t) {
    guard!((), {
        if pconn.is_null() {
            return;
        }
        // SAFETY: pconn is readable and writable per the contract.
        let conn = unsafe { std::ptr::replace(pconn, std::ptr::null_mut()) };
        if !conn.is_null() {
            // SAFETY: a pointer from Box::into_raw in sasl_*_new, disposed once.
            drop(unsafe { Box::from_raw(conn) });
        }
    })
}

/// The detail of the last error on a connection: `SASL(code): text: detail`.
///
/// # Safety
/// `conn` live or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_errdetail(conn: *mut sasl_conn_t) -> *const c_char {
    guard!(std::ptr::null(), {
        let conn = conn!(conn, std::ptr::null());
        // Cyrus's form: "SASL(code): errstring: detail", with NOUSER shown as BADAUTH.
        let code = match conn.detail_code {
            SASL_NOUSER => SASL_BADAUTH,
            code => code,
        };
        let text = crate::errors::errstring(code).to_string_lossy();
        let detail = format!("SASL({code}): {text}: {}", conn.detail).replace('\0', "");
        conn.errdetail.publish(detail.as_bytes())
    })
}

/// Stores the detail text behind `sasl_seterror` (the C shim formats the message).
///
/// # Safety
/// `conn` live or NULL; `message` NUL-terminated or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn puresasl_seterror_text(
    conn: *mut sasl_conn_t,
    flags: c_uint,
    message: *const c_char,
) {
    guard!((), {
        let conn_ptr = conn;
        // SAFETY: NUL-terminated or NULL.
        let text = unsafe { opt_string(message) }.unwrap_or_default();
        let conn = conn!(conn_ptr, ());
        // The detail is set before the LOG callback runs, so a callback that asks for
        // sasl_errdetail sees it; no reference is held across the callback.
        conn.detail = text.clone();
        if conn.detail_code == SASL_OK {
            conn.detail_code = SASL_FAIL;
        }
        if flags & SASL_NOLOG == 0 {
            let lists = match &conn.side {
                Side::Server(side) => vec![conn.callbacks, side.global.callbacks],
                Side::Client(side) => vec![conn.callbacks, *side.global],
            };
            CallbackLog {
                lists,
                log_level: SASL_LOG_ERR,
            }
            .log_text(SASL_LOG_FAIL, &text);
        }
    })
}

/// Lets the plug-in mechanisms do background work between exchanges, as Cyrus 2.1.28 does:
/// on a connection, its side's plug-ins with an `idle` function are called (the built-in
/// mechanisms have none); with NULL, 1 once the server side is initialised (Cyrus's server
/// hook answers so without asking), else the client plug-ins are asked. 1 if one did work.
///
/// # Safety
/// `conn` NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_idle(conn: *mut sasl_conn_t) -> c_int {
    guard!(0, {
        if conn.is_null() {
            if crate::global::global().server.is_some() {
                return 1;
            }
            // SAFETY: NULL asks the client plug-ins without a connection.
            return unsafe { crate::clientplug::idle(conn) };
        }
        let server = matches!(conn!(conn, 0).side, Side::Server(_));
        // SAFETY: a live connection (the contract), no reference to it held.
        unsafe {
            if server {
                crate::mechplug::idle(conn)
            } else {
                crate::clientplug::idle(conn)
            }
        }
    })
}

/// The callbacks of a connection (for option lookups).
pub(crate) fn conn_callbacks(conn: &sasl_conn_t) -> Vec<Callback> {
    conn.callbacks.entries()
}
