//! The C structs and callback types of Cyrus's `sasl/sasl.h` and `sasl/prop.h`, with the same
//! layouts (checked against the installed headers by `ffi/tests/c/abi.c`).

#![allow(non_camel_case_types, reason = "the C names are the ABI")]

use std::ffi::{c_char, c_int, c_uchar, c_uint, c_ulong, c_void};

/// A security strength factor: roughly the number of bits of key (0 = no protection).
pub type sasl_ssf_t = c_uint;

/// The generic callback procedure type; cast to the id's real prototype before calling.
pub type sasl_callback_ft = Option<unsafe extern "C" fn() -> c_int>;

/// One entry of a callback list; lists end with an entry of id `SASL_CB_LIST_END`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sasl_callback {
    /// The callback id (`SASL_CB_*`).
    pub id: c_ulong,
    /// The procedure, of the prototype the id defines.
    pub proc: sasl_callback_ft,
    /// Passed to the procedure.
    pub context: *mut c_void,
}

/// Cyrus's name for [`sasl_callback`].
pub type sasl_callback_t = sasl_callback;

/// One prompt the client application must answer after `SASL_INTERACT`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sasl_interact {
    /// The callback id this prompt replaces (`SASL_CB_AUTHNAME`, `SASL_CB_PASS`, ...).
    pub id: c_ulong,
    /// A presentation-independent challenge (may be NULL).
    pub challenge: *const c_char,
    /// The text to show the user.
    pub prompt: *const c_char,
    /// The default answer (may be NULL).
    pub defresult: *const c_char,
    /// Set by the application: the answer (need not be NUL-terminated).
    pub result: *const c_void,
    /// Set by the application: the length of `result`.
    pub len: c_uint,
}

/// Cyrus's name for [`sasl_interact`].
pub type sasl_interact_t = sasl_interact;

/// What the application requires of the security of a connection.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sasl_security_properties {
    /// The least acceptable security strength factor.
    pub min_ssf: sasl_ssf_t,
    /// The greatest useful security strength factor.
    pub max_ssf: sasl_ssf_t,
    /// The largest buffer the application can receive through the security layer.
    pub maxbufsize: c_uint,
    /// `SASL_SEC_*` flags.
    pub security_flags: c_uint,
    /// Names of extra properties (unused, NULL-terminated).
    pub property_names: *mut *const c_char,
    /// Values of extra properties (unused).
    pub property_values: *mut *const c_char,
}

/// Cyrus's name for [`sasl_security_properties`].
pub type sasl_security_properties_t = sasl_security_properties;

/// A password, as the `SASL_CB_PASS` callback returns it: `len` bytes of `data`.
#[repr(C)]
#[derive(Debug)]
pub struct sasl_secret {
    /// The number of bytes in `data`.
    pub len: c_ulong,
    /// The first byte of the password; the rest follows.
    pub data: [c_uchar; 1],
}

/// Cyrus's name for [`sasl_secret`].
pub type sasl_secret_t = sasl_secret;

/// Channel binding data for the `-PLUS` mechanisms.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sasl_channel_binding {
    /// The binding type (`tls-unique`, `tls-server-end-point`, `tls-exporter`).
    pub name: *const c_char,
    /// Whether the binding must be used.
    pub critical: c_int,
    /// The length of `data`.
    pub len: c_ulong,
    /// The binding data.
    pub data: *const c_uchar,
}

/// Cyrus's name for [`sasl_channel_binding`].
pub type sasl_channel_binding_t = sasl_channel_binding;

/// One property of a property context: a name and its values.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct propval {
    /// The property name.
    pub name: *const c_char,
    /// NULL-terminated array of values (NULL if none).
    pub values: *mut *const c_char,
    /// The number of values.
    pub nvalues: c_uint,
    /// The total size of the values, in bytes.
    pub valsize: c_uint,
}
