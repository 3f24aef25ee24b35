//! `sasl_setprop`, `sasl_getprop` and `sasl_listmech`.

#![allow(non_camel_case_types, reason = "the C names are the ABI")]

use std::ffi::{c_char, c_int, c_uint, c_void};

use puresasl::{ChannelBinding, ClientSession, Identity, SecurityFlags, ServerSession, unstable};

use crate::conn::{cstring, static_mech_name, valid_ipport};
use crate::consts::*;
use crate::handles::{Outcome, Side, sasl_conn_t};
use crate::server::rebuild_server_config;
use crate::types::{sasl_channel_binding_t, sasl_security_properties_t, sasl_ssf_t};
use crate::util::{bytes, conn, guard, nonnull, opt_string, put};

/// Lists the mechanisms a connection offers: `prefix`, names joined by `sep`, `suffix`.
///
/// # Safety
/// `conn` live; strings NULL or NUL-terminated; out-pointers NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_listmech(
    conn: *mut sasl_conn_t,
    user: *const c_char,
    prefix: *const c_char,
    sep: *const c_char,
    suffix: *const c_char,
    result: *mut *const c_char,
    plen: *mut c_uint,
    pcount: *mut c_int,
) -> c_int {
    let _ = user;
    guard!(SASL_FAIL, {
        let conn_ptr = conn;
        let conn = conn!(conn);
        nonnull!(result);
        // SAFETY: NUL-terminated or NULL.
        let (prefix, sep, suffix) = unsafe {
            (
                opt_string(prefix).unwrap_or_default(),
                opt_string(sep).unwrap_or_else(|| " ".to_owned()),
                opt_string(suffix).unwrap_or_default(),
            )
        };
        let server = matches!(conn.side, Side::Server(_));
        let mut names: Vec<String> = match &conn.side {
            Side::Server(side) => {
                let mut session = ServerSession::new(side.config.clone());
                session.set_security_properties(conn.security_properties());
                session.set_external_identity(
                    conn.auth_external
                        .as_ref()
                        .map(|id| id.to_string_lossy().into_owned()),
                );
                session.set_external_ssf(conn.external_ssf);
                session.set_channel_binding(conn.channel_binding.clone());
                let names: Vec<String> = session
                    .mechanisms()
                    .into_iter()
                    .map(str::to_owned)
                    .collect();
                names
            }
            Side::Client(_) => unstable::MECHANISMS
                .iter()
                .filter(|info| {
                    info.satisfies(SecurityFlags::from_bits(conn.props.security_flags))
                        && match &conn.channel_binding {
                            Some(binding) => info.channel_binding || !binding.required,
                            None => !info.channel_binding,
                        }
                })
                .map(|info| info.name.to_owned())
                .chain(crate::clientplug::offered(conn))
                .collect(),
        };
        if server {
            // The plug-ins' mech_avail may call back into the library on this connection:
            // no reference to it is held meanwhile.
            // SAFETY: a live server connection (the contract).
            names.extend(unsafe { crate::mechplug::offered(conn_ptr) });
        }
        let conn = conn!(conn_ptr);
        if names.is_empty() {
            return conn.error(SASL_NOMECH, "no mechanisms available");
        }
        let text = format!("{prefix}{}{suffix}", names.join(&sep));
        let count = c_int::try_from(names.len()).unwrap_or(c_int::MAX);
        let len = c_uint::try_from(text.len()).unwrap_or(c_uint::MAX);
        let ptr = conn.mechlist.publish(text.replace('\0', "").as_bytes());
        // SAFETY: out-pointers NULL or writable; result checked non-NULL above.
        unsafe {
            put(result, ptr);
            put(plen, len);
            put(pcount, count);
        }
        SASL_OK
    })
}

/// Sets a property of a connection.
///
/// # Safety
/// `conn` live; `value` points at the type the property defines.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_setprop(
    conn: *mut sasl_conn_t,
    propnum: c_int,
    value: *const c_void,
) -> c_int {
    guard!(SASL_FAIL, {
        let conn_ptr = conn;
        let conn = conn!(conn);
        match propnum {
            SASL_SEC_PROPS => {
                if value.is_null() {
                    return conn.error(SASL_BADPARAM, "Parameter error: no security properties");
                }
                // SAFETY: SASL_SEC_PROPS takes a sasl_security_properties_t (copied shallowly,
                // as Cyrus does).
                let props = unsafe { *value.cast::<sasl_security_properties_t>() };
                if props.maxbufsize == 0 && props.min_ssf > 0 {
                    return conn.error(SASL_TOOWEAK, "maxbufsize is 0 but min_ssf is not");
                }
                conn.props = props;
                SASL_OK
            }
            SASL_SSF_EXTERNAL => {
                if value.is_null() {
                    return conn.error(SASL_BADPARAM, "Parameter error: no SSF");
                }
                // SAFETY: SASL_SSF_EXTERNAL takes a sasl_ssf_t.
                conn.external_ssf = unsafe { *value.cast::<sasl_ssf_t>() };
                SASL_OK
            }
            SASL_AUTH_EXTERNAL => {
                // SAFETY: a NUL-terminated string or NULL.
                conn.auth_external = unsafe { opt_string(value.cast()) }.map(|s| cstring(&s));
                SASL_OK
            }
            SASL_DEFUSERREALM => {
                if matches!(conn.side, Side::Client(_)) {
                    return conn.error(SASL_BADPROT, "user realm on a client connection");
                }
                // SAFETY: a NUL-terminated string or NULL.
                let realm = unsafe { opt_string(value.cast()) };
                conn.user_realm = realm.map(|s| cstring(&s));
                // SAFETY: conn_ptr is this live connection; `conn` is not used after.
                unsafe { rebuild_server_config(conn_ptr) }
            }
            SASL_IPLOCALPORT | SASL_IPREMOTEPORT => {
                // SAFETY: a NUL-terminated string or NULL.
                let text = unsafe { opt_string(value.cast()) };
                if let Some(text) = &text
                    && !valid_ipport(text)
                {
                    return conn.error(SASL_BADPARAM, "bad address;port");
                }
                let text = text.map(|s| cstring(&s));
                if propnum == SASL_IPLOCALPORT {
                    conn.iplocal = text;
                } else {
                    conn.ipremote = text;
                }
                SASL_OK
            }
            SASL_APPNAME => SASL_OK,
            SASL_CHANNEL_BINDING => {
                if value.is_null() {
                    conn.channel_binding = None;
                    return SASL_OK;
                }
                // SAFETY: SASL_CHANNEL_BINDING takes a sasl_channel_binding_t.
                let cb = unsafe { &*value.cast::<sasl_channel_binding_t>() };
                // SAFETY: name NUL-terminated or NULL; data holds len bytes.
                let (name, data) = unsafe {
                    (
                        opt_string(cb.name).unwrap_or_default(),
                        bytes(cb.data.cast(), u32::try_from(cb.len).unwrap_or(0)),
                    )
                };
                conn.channel_binding = Some(ChannelBinding {
                    kind: name.into(),
                    data: data.unwrap_or_default().to_vec(),
                    // Cyrus's `critical`: only mechanisms that bind may run.
                    required: cb.critical != 0,
                });
                SASL_OK
            }
            _ => conn.error(SASL_BADPARAM, format!("unknown property {propnum}")),
        }
    })
}

/// Gets a property of a connection.
///
/// # Safety
/// `conn` live; `pvalue` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_getprop(
    conn: *mut sasl_conn_t,
    propnum: c_int,
    pvalue: *mut *const c_void,
) -> c_int {
    guard!(SASL_FAIL, {
        nonnull!(pvalue);
        let conn = conn!(conn);
        // A property sasl_setprop may replace: published where its address outlives that.
        let replaceable = |conn: &mut sasl_conn_t, slot: usize| -> Option<*const c_void> {
            let value = match slot {
                0 => conn.user_realm.as_ref(),
                1 => conn.iplocal.as_ref(),
                2 => conn.ipremote.as_ref(),
                _ => conn.auth_external.as_ref(),
            }?
            .as_bytes()
            .to_vec();
            let buffer = conn.replaceable.get_mut(slot)?;
            Some(buffer.publish(&value).cast())
        };
        let value: Result<*const c_void, c_int> = match propnum {
            SASL_USERNAME | SASL_AUTHUSER => match user_prop(conn, propnum == SASL_AUTHUSER) {
                Some(name) => {
                    let slot = if propnum == SASL_AUTHUSER {
                        &mut conn.authuser
                    } else {
                        &mut conn.username
                    };
                    Ok(slot.publish(name.replace('\0', "").as_bytes()).cast())
                }
                None => Err(SASL_NOTDONE),
            },
            SASL_SSF => Ok(std::ptr::from_ref(&conn.ssf).cast()),
            SASL_MAXOUTBUF => Ok(std::ptr::from_ref(&conn.maxoutbuf).cast()),
            SASL_DEFUSERREALM => match conn.side {
                Side::Client(_) => Err(SASL_BADPROT),
                Side::Server(_) => Ok(replaceable(conn, 0).unwrap_or(std::ptr::null())),
            },
            SASL_IPLOCALPORT => replaceable(conn, 1).ok_or(SASL_NOTDONE),
            SASL_IPREMOTEPORT => replaceable(conn, 2).ok_or(SASL_NOTDONE),
            SASL_SERVICE => Ok(conn.service.as_ptr().cast()),
            SASL_SERVERFQDN => Ok(conn.fqdn.as_ptr().cast()),
            SASL_MECHNAME if crate::mechplug::mech_name(conn).is_some() => {
                crate::mechplug::mech_name(conn)
                    .map(|n| n.cast())
                    .ok_or(SASL_NOTDONE)
            }
            SASL_MECHNAME => builtin_mech_name(conn)
                .map(|n| static_mech_name(n).cast())
                .ok_or(SASL_NOTDONE),
            SASL_APPNAME => match &conn.side {
                Side::Server(side) => Ok(side
                    .global
                    .appname
                    .as_ref()
                    .map_or(std::ptr::null(), |a| a.as_ptr().cast())),
                Side::Client(_) => Err(SASL_BADPROT),
            },
            SASL_SEC_PROPS => Ok(std::ptr::from_ref(&conn.props).cast()),
            SASL_SSF_EXTERNAL => Ok(std::ptr::from_ref(&conn.external_ssf).cast()),
            SASL_AUTH_EXTERNAL => Ok(replaceable(conn, 3).unwrap_or(std::ptr::null())),
            _ => Err(SASL_BADPARAM),
        };
        match value {
            Ok(ptr) => {
                // SAFETY: pvalue checked non-NULL; it is writable per the contract.
                unsafe { *pvalue = ptr };
                SASL_OK
            }
            Err(code) => conn.error(code, format!("property {propnum} not available")),
        }
    })
}

pub(crate) fn user_prop(conn: &sasl_conn_t, authuser: bool) -> Option<String> {
    if conn.utils.has_plugin_session() {
        return crate::mechplug::user_prop(conn, authuser);
    }
    match &conn.side {
        Side::Server(side) => {
            let session = side.session.as_ref()?;
            match (&side.outcome, session.identity()) {
                (Outcome::Done, Some(identity)) if authuser => {
                    Some(conn.canonical_name(&Identity {
                        authzid: None,
                        ..identity.clone()
                    }))
                }
                (Outcome::Done, Some(identity)) => Some(conn.canonical_name(identity)),
                (Outcome::Failed | Outcome::Running, _) => {
                    session.attempted_user().map(|u| conn.qualify(u))
                }
                _ => None,
            }
        }
        Side::Client(side) => side.username.clone(),
    }
}

/// The name of the built-in mechanism the connection's exchange runs, if any.
fn builtin_mech_name(conn: &sasl_conn_t) -> Option<&'static str> {
    match &conn.side {
        Side::Server(side) => side.session.as_ref().and_then(ServerSession::mechanism),
        Side::Client(side) => side.session.as_ref().and_then(ClientSession::mechanism),
    }
}

/// `SASL_MECHNAME` as a string: the mechanism the connection's exchange runs (a plug-in's or
/// a built-in one), `None` before any.
pub(crate) fn mech_name_of(conn: &sasl_conn_t) -> Option<String> {
    if let Some(name) = crate::mechplug::mech_name(conn) {
        // SAFETY: the plug-in session's NUL-terminated name, alive while the connection is.
        return Some(
            unsafe { std::ffi::CStr::from_ptr(name) }
                .to_string_lossy()
                .into_owned(),
        );
    }
    builtin_mech_name(conn).map(str::to_owned)
}
