//! `sasl_server_plugin_info` and `sasl_client_plugin_info`: the mechanisms described as Cyrus
//! describes its plug-ins, built-in ones first (with the plug-in names and features Cyrus's
//! modules have for them), then the server mechanisms of plug-ins. With a NULL callback the
//! library prints the list in Cyrus's format (Cyrus's `saslpluginviewer` relies on that).

use std::ffi::{CString, c_char, c_int, c_uint, c_void};
use std::sync::OnceLock;

use crate::consts::*;
use crate::plugin_abi::{sasl_client_plug_t, sasl_server_plug_t};
use crate::util::{guard, opt_string};

unsafe extern "C" {
    fn fputs(text: *const c_char, stream: *mut c_void) -> c_int;
    static stdout: *mut c_void;
}

const FEAT_WANT_CLIENT_FIRST: c_uint = 0x0002;
const FEAT_SERVER_FIRST: c_uint = 0x0010;
const FEAT_ALLOWS_PROXY: c_uint = 0x0020;
const FEAT_CHANNEL_BINDING: c_uint = 0x0800;
const FEAT_SUPPORTS_HTTP: c_uint = 0x1000;

/// A built-in mechanism described as a plug-in.
struct Builtin {
    plugname: CString,
    _name: CString,
    server: sasl_server_plug_t,
    client: sasl_client_plug_t,
}

// SAFETY: immutable after creation; the pointers are to the CStrings beside them.
unsafe impl Send for Builtin {}
// SAFETY: as above.
unsafe impl Sync for Builtin {}

/// Cyrus's module name and features for a built-in mechanism.
fn cyrus_description(name: &str, client_first: bool, server_first: bool) -> (&'static str, c_uint) {
    match name {
        "PLAIN" => ("plain", FEAT_WANT_CLIENT_FIRST | FEAT_ALLOWS_PROXY),
        "LOGIN" => ("login", 0),
        "CRAM-MD5" => ("crammd5", FEAT_SERVER_FIRST),
        "DIGEST-MD5" => ("digestmd5", FEAT_ALLOWS_PROXY | FEAT_SUPPORTS_HTTP),
        "ANONYMOUS" => ("anonymous", FEAT_WANT_CLIENT_FIRST),
        "EXTERNAL" => ("EXTERNAL", FEAT_WANT_CLIENT_FIRST | FEAT_ALLOWS_PROXY),
        n if n.starts_with("SCRAM-") => (
            "scram",
            FEAT_ALLOWS_PROXY | FEAT_CHANNEL_BINDING | FEAT_SUPPORTS_HTTP,
        ),
        _ => (
            "puresasl",
            if client_first {
                FEAT_WANT_CLIENT_FIRST
            } else if server_first {
                FEAT_SERVER_FIRST
            } else {
                0
            },
        ),
    }
}

fn builtins() -> &'static [Builtin] {
    static BUILTINS: OnceLock<Vec<Builtin>> = OnceLock::new();
    BUILTINS.get_or_init(|| {
        puresasl::unstable::MECHANISMS
            .iter()
            // Cyrus describes a -PLUS variant with its base mechanism.
            .filter(|info| !info.channel_binding)
            .map(|info| {
                use puresasl::unstable::InitialResponse;
                let (plugname, features) = cyrus_description(
                    info.name,
                    matches!(info.initial_response, InitialResponse::Required),
                    matches!(info.initial_response, InitialResponse::Forbidden),
                );
                let name = CString::new(info.name).unwrap_or_default();
                let flags = info.provides.bits();
                Builtin {
                    plugname: CString::new(plugname).unwrap_or_default(),
                    server: sasl_server_plug_t {
                        mech_name: name.as_ptr(),
                        max_ssf: info.max_ssf,
                        security_flags: flags,
                        features,
                        glob_context: std::ptr::null_mut(),
                        mech_new: None,
                        mech_step: None,
                        mech_dispose: None,
                        mech_free: None,
                        setpass: None,
                        user_query: None,
                        idle: None,
                        mech_avail: None,
                        spare_fptr2: None,
                    },
                    client: sasl_client_plug_t {
                        mech_name: name.as_ptr(),
                        max_ssf: info.max_ssf,
                        security_flags: flags,
                        features,
                        required_prompts: std::ptr::null(),
                        glob_context: std::ptr::null_mut(),
                        mech_new: None,
                        mech_step: None,
                        mech_dispose: None,
                        mech_free: None,
                        idle: None,
                        spare_fptr1: None,
                        spare_fptr2: None,
                    },
                    _name: name,
                }
            })
            .collect()
    })
}

/// `server_sasl_mechanism_t`.
#[repr(C)]
#[allow(
    missing_docs,
    reason = "Cyrus's fields, documented in include/sasl/saslplug.h"
)]
pub struct ServerMechanismInfo {
    version: c_int,
    condition: c_int,
    plugname: *mut c_char,
    plug: *const sasl_server_plug_t,
    f: *mut c_char,
}

/// `client_sasl_mechanism_t`.
#[repr(C)]
#[allow(
    missing_docs,
    reason = "Cyrus's fields, documented in include/sasl/saslplug.h"
)]
pub struct ClientMechanismInfo {
    version: c_int,
    plugname: *mut c_char,
    plug: *const sasl_client_plug_t,
}

type ServerInfoCallback = unsafe extern "C" fn(*mut ServerMechanismInfo, c_int, *mut c_void);
type ClientInfoCallback = unsafe extern "C" fn(*mut ClientMechanismInfo, c_int, *mut c_void);

/// Writes `text` to C's `stdout`.
pub(crate) fn print(text: &str) {
    let text = CString::new(text.replace('\0', "")).unwrap_or_default();
    // SAFETY: C's stdout (the application's stdio, so the order of its own output holds) and
    // a NUL-terminated string.
    unsafe { fputs(text.as_ptr(), stdout) };
}

fn flag_names(bits: c_uint, names: &[(c_uint, &str)]) -> String {
    let chosen: Vec<&str> = names
        .iter()
        .filter(|(bit, _)| bits & bit != 0)
        .map(|(_, name)| *name)
        .collect();
    if chosen.is_empty() {
        String::new()
    } else {
        format!(" {}", chosen.join("|"))
    }
}

/// One mechanism in Cyrus's format.
fn describe(
    plugname: &str,
    server: bool,
    name: &str,
    max_ssf: c_uint,
    setpass: bool,
    security: c_uint,
    features: c_uint,
) -> String {
    let security = flag_names(
        security,
        &[
            (SASL_SEC_NOANONYMOUS, "NO_ANONYMOUS"),
            (SASL_SEC_NOPLAINTEXT, "NO_PLAINTEXT"),
            (SASL_SEC_NOACTIVE, "NO_ACTIVE"),
            (SASL_SEC_NODICTIONARY, "NO_DICTIONARY"),
            (SASL_SEC_FORWARD_SECRECY, "FORWARD_SECRECY"),
            (SASL_SEC_PASS_CREDENTIALS, "PASS_CREDENTIALS"),
            (SASL_SEC_MUTUAL_AUTH, "MUTUAL_AUTH"),
        ],
    );
    let features = flag_names(
        features,
        &[
            (FEAT_WANT_CLIENT_FIRST, "WANT_CLIENT_FIRST"),
            (FEAT_SERVER_FIRST, "SERVER_FIRST"),
            (FEAT_ALLOWS_PROXY, "PROXY_AUTHENTICATION"),
            (0x0080, "DONTUSE_USERPASSWD"),
            (0x0001, "NEED_SERVER_FQDN"),
            (0x0200, "SERVICE"),
            (0x0400, "NEED_GETSECRET"),
            (0x0100, "GSS_FRAMING"),
            (FEAT_CHANNEL_BINDING, "CHANNEL_BINDING"),
            (FEAT_SUPPORTS_HTTP, "SUPPORTS_HTTP"),
        ],
    );
    let setpass = if server {
        format!(", supports setpass: {}", if setpass { "yes" } else { "no" })
    } else {
        String::new()
    };
    format!(
        "Plugin \"{plugname}\" [loaded], \tAPI version: 4\n\tSASL mechanism: {name}, best SSF: \
         {max_ssf}{setpass}\n\tsecurity flags:{security}\n\tfeatures:{features}\n"
    )
}

fn wanted(list: Option<&str>, name: &str) -> bool {
    list.is_none_or(|list| list.split(' ').any(|w| w.eq_ignore_ascii_case(name)))
}

/// Describes the server mechanisms.
///
/// # Safety
/// `mech_list` NULL or NUL-terminated; `info_cb` NULL or a `sasl_server_info_callback_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_server_plugin_info(
    mech_list: *const c_char,
    info_cb: Option<ServerInfoCallback>,
    info_cb_rock: *mut c_void,
) -> c_int {
    guard!(SASL_FAIL, {
        if crate::global::global().server.is_none() {
            return SASL_NOTINIT;
        }
        // SAFETY: NULL or NUL-terminated.
        let list = unsafe { opt_string(mech_list) };
        let plugins = crate::mechplug::server_mechanisms();
        let plugnames: Vec<CString> = plugins
            .iter()
            .map(|m| CString::new(m.plugname.clone()).unwrap_or_default())
            .collect();
        let mut entries: Vec<(*const c_char, *const sasl_server_plug_t)> = builtins()
            .iter()
            .map(|b| (b.plugname.as_ptr(), &raw const b.server))
            .collect();
        entries.extend(
            plugins
                .iter()
                .zip(&plugnames)
                .map(|(m, n)| (n.as_ptr(), std::ptr::from_ref(m.plug()))),
        );
        match info_cb {
            None => {
                print("List of server plugins follows\n");
                for (plugname, plug) in entries {
                    // SAFETY: descriptions alive for the call (built-ins: the process;
                    // plug-ins: while registered); NUL-terminated names.
                    let (plug, plugname) = unsafe { (&*plug, opt_string(plugname)) };
                    // SAFETY: as above.
                    let name = unsafe { opt_string(plug.mech_name) }.unwrap_or_default();
                    if wanted(list.as_deref(), &name) {
                        print(&describe(
                            &plugname.unwrap_or_default(),
                            true,
                            &name,
                            plug.max_ssf,
                            plug.setpass.is_some(),
                            plug.security_flags,
                            plug.features,
                        ));
                    }
                }
            }
            Some(info_cb) => {
                // SAFETY: the application's callback; the start and end stages get NULL.
                unsafe { info_cb(std::ptr::null_mut(), 0, info_cb_rock) };
                for (plugname, plug) in entries {
                    // SAFETY: as above.
                    let name = unsafe { opt_string((*plug).mech_name) }.unwrap_or_default();
                    if !wanted(list.as_deref(), &name) {
                        continue;
                    }
                    let mut info = ServerMechanismInfo {
                        version: 4,
                        condition: SASL_OK,
                        plugname: plugname.cast_mut(),
                        plug,
                        f: std::ptr::null_mut(),
                    };
                    // SAFETY: a description valid for the call.
                    unsafe { info_cb(&raw mut info, 1, info_cb_rock) };
                }
                // SAFETY: as above.
                unsafe { info_cb(std::ptr::null_mut(), 2, info_cb_rock) };
            }
        }
        SASL_OK
    })
}

/// Describes the client mechanisms: the built-in ones, then those of plug-ins.
///
/// # Safety
/// As [`sasl_server_plugin_info`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_client_plugin_info(
    mech_list: *const c_char,
    info_cb: Option<ClientInfoCallback>,
    info_cb_rock: *mut c_void,
) -> c_int {
    guard!(SASL_FAIL, {
        if crate::global::global().client.is_none() {
            return SASL_NOTINIT;
        }
        // SAFETY: NULL or NUL-terminated.
        let list = unsafe { opt_string(mech_list) };
        let plugins = crate::clientplug::client_mechanisms();
        let plugnames: Vec<CString> = plugins
            .iter()
            .map(|m| CString::new(m.plugname.clone()).unwrap_or_default())
            .collect();
        let mut entries: Vec<(*const c_char, *const sasl_client_plug_t)> = builtins()
            .iter()
            .map(|b| (b.plugname.as_ptr(), &raw const b.client))
            .collect();
        entries.extend(
            plugins
                .iter()
                .zip(&plugnames)
                .map(|(m, n)| (n.as_ptr(), std::ptr::from_ref(m.plug()))),
        );
        match info_cb {
            None => {
                print("List of client plugins follows\n");
                for (plugname, plug) in entries {
                    // SAFETY: descriptions alive for the call; NUL-terminated names.
                    let (plug, plugname) = unsafe { (&*plug, opt_string(plugname)) };
                    // SAFETY: as above.
                    let name = unsafe { opt_string(plug.mech_name) }.unwrap_or_default();
                    if wanted(list.as_deref(), &name) {
                        print(&describe(
                            &plugname.unwrap_or_default(),
                            false,
                            &name,
                            plug.max_ssf,
                            false,
                            plug.security_flags,
                            plug.features,
                        ));
                    }
                }
            }
            Some(info_cb) => {
                // SAFETY: the application's callback; the start and end stages get NULL.
                unsafe { info_cb(std::ptr::null_mut(), 0, info_cb_rock) };
                for (plugname, plug) in entries {
                    // SAFETY: as above.
                    let name = unsafe { opt_string((*plug).mech_name) }.unwrap_or_default();
                    if !wanted(list.as_deref(), &name) {
                        continue;
                    }
                    let mut info = ClientMechanismInfo {
                        version: 4,
                        plugname: plugname.cast_mut(),
                        plug,
                    };
                    // SAFETY: a description valid for the call.
                    unsafe { info_cb(&raw mut info, 1, info_cb_rock) };
                }
                // SAFETY: as above.
                unsafe { info_cb(std::ptr::null_mut(), 2, info_cb_rock) };
            }
        }
        SASL_OK
    })
}
