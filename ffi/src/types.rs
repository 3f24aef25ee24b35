//! The C structs and callback types of Cyrus's `sasl/sasl.h` and `sasl/prop.h`, with the same
//! layouts (checked against the installed headers by `tests/abi.rs`).

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

/// `SASL_CB_GETOPT`: looks up option `option` of `plugin_name` (NULL for the library).
pub type sasl_getopt_t = Option<
    unsafe extern "C" fn(
        context: *mut c_void,
        plugin_name: *const c_char,
        option: *const c_char,
        result: *mut *const c_char,
        len: *mut c_uint,
    ) -> c_int,
>;

/// `SASL_CB_LOG`: logs `message` at `level`.
pub type sasl_log_t = Option<
    unsafe extern "C" fn(context: *mut c_void, level: c_int, message: *const c_char) -> c_int,
>;

/// `SASL_CB_GETPATH`: the plugin path.
pub type sasl_getpath_t =
    Option<unsafe extern "C" fn(context: *mut c_void, path: *mut *const c_char) -> c_int>;

/// `SASL_CB_GETCONFPATH`: the configuration path (the string is the application's).
pub type sasl_getconfpath_t =
    Option<unsafe extern "C" fn(context: *mut c_void, path: *mut *mut c_char) -> c_int>;

/// `SASL_CB_USER`, `SASL_CB_AUTHNAME`, `SASL_CB_LANGUAGE`, `SASL_CB_CNONCE`.
pub type sasl_getsimple_t = Option<
    unsafe extern "C" fn(
        context: *mut c_void,
        id: c_int,
        result: *mut *const c_char,
        len: *mut c_uint,
    ) -> c_int,
>;

/// `SASL_CB_PASS`: the password (the secret is the application's; never freed here).
pub type sasl_getsecret_t = Option<
    unsafe extern "C" fn(
        conn: *mut crate::conn::sasl_conn_t,
        context: *mut c_void,
        id: c_int,
        psecret: *mut *mut sasl_secret_t,
    ) -> c_int,
>;

/// `SASL_CB_ECHOPROMPT`, `SASL_CB_NOECHOPROMPT`.
pub type sasl_chalprompt_t = Option<
    unsafe extern "C" fn(
        context: *mut c_void,
        id: c_int,
        challenge: *const c_char,
        prompt: *const c_char,
        defresult: *const c_char,
        result: *mut *const c_char,
        len: *mut c_uint,
    ) -> c_int,
>;

/// `SASL_CB_GETREALM`: picks one of `availrealms` (NULL-terminated).
pub type sasl_getrealm_t = Option<
    unsafe extern "C" fn(
        context: *mut c_void,
        id: c_int,
        availrealms: *mut *const c_char,
        result: *mut *const c_char,
    ) -> c_int,
>;

/// `SASL_CB_PROXY_POLICY`: may `auth_identity` act as `requested_user`?
pub type sasl_authorize_t = Option<
    unsafe extern "C" fn(
        conn: *mut crate::conn::sasl_conn_t,
        context: *mut c_void,
        requested_user: *const c_char,
        rlen: c_uint,
        auth_identity: *const c_char,
        alen: c_uint,
        def_realm: *const c_char,
        urlen: c_uint,
        propctx: *mut crate::props::propctx,
    ) -> c_int,
>;

/// `SASL_CB_SERVER_USERDB_CHECKPASS`: the application checks a plaintext password.
pub type sasl_server_userdb_checkpass_t = Option<
    unsafe extern "C" fn(
        conn: *mut crate::conn::sasl_conn_t,
        context: *mut c_void,
        user: *const c_char,
        pass: *const c_char,
        passlen: c_uint,
        propctx: *mut crate::props::propctx,
    ) -> c_int,
>;

/// `SASL_CB_SERVER_USERDB_SETPASS`: the application stores a password.
pub type sasl_server_userdb_setpass_t = Option<
    unsafe extern "C" fn(
        conn: *mut crate::conn::sasl_conn_t,
        context: *mut c_void,
        user: *const c_char,
        pass: *const c_char,
        passlen: c_uint,
        propctx: *mut crate::props::propctx,
        flags: c_uint,
    ) -> c_int,
>;

/// `SASL_CB_CANON_USER`: the application canonicalises a user name.
pub type sasl_canon_user_t = Option<
    unsafe extern "C" fn(
        conn: *mut crate::conn::sasl_conn_t,
        context: *mut c_void,
        input: *const c_char,
        inlen: c_uint,
        flags: c_uint,
        user_realm: *const c_char,
        out: *mut c_char,
        out_max: c_uint,
        out_len: *mut c_uint,
    ) -> c_int,
>;
