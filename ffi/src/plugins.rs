//! Cyrus's plug-in registration calls (`sasl/saslplug.h`). puresasl's mechanisms, auxprop and
//! canonicalisation are built in, so no plug-in can be added: each `*_add_plugin` refuses
//! with `SASL_BADVERS` ("version mismatch with plug-in") without calling the plug-in's init
//! function, and the `*_plugin_info` calls report `SASL_NOMECH` (no plug-in to describe).

use std::ffi::{c_char, c_int, c_void};

use crate::consts::*;
use crate::util::guard;

/// Refuses to register a server mechanism plug-in; `splugfunc` is not called.
///
/// # Safety
/// No pointer is dereferenced.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_server_add_plugin(
    plugname: *const c_char,
    splugfunc: *const c_void,
) -> c_int {
    guard!(SASL_FAIL, {
        let _ = (plugname, splugfunc);
        SASL_BADVERS
    })
}

/// Refuses to register a client mechanism plug-in; `cplugfunc` is not called.
///
/// # Safety
/// No pointer is dereferenced.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_client_add_plugin(
    plugname: *const c_char,
    cplugfunc: *const c_void,
) -> c_int {
    guard!(SASL_FAIL, {
        let _ = (plugname, cplugfunc);
        SASL_BADVERS
    })
}

/// Refuses to register an auxiliary-property plug-in; `auxpropfunc` is not called.
///
/// # Safety
/// No pointer is dereferenced.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_auxprop_add_plugin(
    plugname: *const c_char,
    auxpropfunc: *const c_void,
) -> c_int {
    guard!(SASL_FAIL, {
        let _ = (plugname, auxpropfunc);
        SASL_BADVERS
    })
}

/// Refuses to register a canonicalisation plug-in; `canonuserfunc` is not called.
///
/// # Safety
/// No pointer is dereferenced.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_canonuser_add_plugin(
    plugname: *const c_char,
    canonuserfunc: *const c_void,
) -> c_int {
    guard!(SASL_FAIL, {
        let _ = (plugname, canonuserfunc);
        SASL_BADVERS
    })
}

/// Describes server mechanism plug-ins: there are none, so `SASL_NOMECH` (`info_cb` is not
/// called).
///
/// # Safety
/// No pointer is dereferenced.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_server_plugin_info(
    mech_list: *const c_char,
    info_cb: *const c_void,
    info_cb_rock: *mut c_void,
) -> c_int {
    guard!(SASL_FAIL, {
        let _ = (mech_list, info_cb, info_cb_rock);
        SASL_NOMECH
    })
}

/// Describes client mechanism plug-ins: there are none, so `SASL_NOMECH`.
///
/// # Safety
/// No pointer is dereferenced.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_client_plugin_info(
    mech_list: *const c_char,
    info_cb: *const c_void,
    info_cb_rock: *mut c_void,
) -> c_int {
    guard!(SASL_FAIL, {
        let _ = (mech_list, info_cb, info_cb_rock);
        SASL_NOMECH
    })
}

/// Describes auxiliary-property plug-ins: there are none, so `SASL_NOMECH`.
///
/// # Safety
/// No pointer is dereferenced.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn auxprop_plugin_info(
    mech_list: *const c_char,
    info_cb: *const c_void,
    info_cb_rock: *mut c_void,
) -> c_int {
    guard!(SASL_FAIL, {
        let _ = (mech_list, info_cb, info_cb_rock);
        SASL_NOMECH
    })
}
