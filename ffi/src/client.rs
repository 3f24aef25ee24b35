//! The client calls: `sasl_client_new`, `sasl_client_start`, `sasl_client_step`.

#![allow(non_camel_case_types, reason = "the C names are the ABI")]

use std::ffi::{CString, c_char, c_int, c_uint};
use std::sync::Arc;

use puresasl::{ClientConfig, ClientSession, ClientStep, CredentialSource, Error, mech};

use crate::callbacks::*;
use crate::conn::*;
use crate::consts::*;
use crate::global::global;
use crate::handles::*;
use crate::interact::*;
use crate::types::*;
use crate::util::{bytes, conn, guard, nonnull, opt_string, put};

/// The client's credentials, gathered from callbacks or prompts before the mechanism runs.
pub(crate) struct GatheredCredentials {
    authcid: Option<String>,
    password: Option<puresasl::Secret>,
    authzid: Option<String>,
    realm_callback: Option<Callback>,
}

impl CredentialSource for GatheredCredentials {
    fn authcid(&self) -> Option<String> {
        self.authcid.clone()
    }
    fn password(&self) -> Option<puresasl::Secret> {
        self.password.clone()
    }
    fn authzid(&self) -> Option<String> {
        self.authzid.clone()
    }
    fn realm(&self, offered: &[String]) -> Option<String> {
        let Some(cb) = self.realm_callback else {
            return offered.first().cloned();
        };
        let getrealm = cb.getrealm();
        let getrealm = getrealm?;
        let owned: Vec<CString> = offered.iter().map(|r| cstring(r)).collect();
        let mut list: Vec<*const c_char> = owned.iter().map(|r| r.as_ptr()).collect();
        list.push(std::ptr::null());
        let mut result: *const c_char = std::ptr::null();
        // SAFETY: a NULL-terminated array of valid strings, and a writable result.
        let status = unsafe {
            getrealm(
                cb.context,
                c_int::try_from(SASL_CB_GETREALM).unwrap_or(0),
                list.as_mut_ptr(),
                &mut result,
            )
        };
        if status != SASL_OK {
            return offered.first().cloned();
        }
        // SAFETY: the callback returned a NUL-terminated string or NULL.
        unsafe { opt_string(result) }.or_else(|| offered.first().cloned())
    }
}

/// Creates a client connection.
///
/// # Safety
/// As `sasl_server_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_client_new(
    service: *const c_char,
    server_fqdn: *const c_char,
    iplocalport: *const c_char,
    ipremoteport: *const c_char,
    prompt_supp: *const sasl_callback_t,
    flags: c_uint,
    pconn: *mut *mut sasl_conn_t,
) -> c_int {
    guard!(SASL_FAIL, {
        nonnull!(pconn, service);
        // SAFETY: pconn is writable per the contract.
        unsafe { *pconn = std::ptr::null_mut() };
        let Some(client) = global().client.clone() else {
            return SASL_NOTINIT;
        };
        // SAFETY: the strings are NUL-terminated or NULL per the contract.
        let (service, fqdn, local, remote) = unsafe {
            (
                opt_string(service).unwrap_or_default(),
                opt_string(server_fqdn).unwrap_or_default(),
                opt_string(iplocalport),
                opt_string(ipremoteport),
            )
        };
        for ip in [&local, &remote].into_iter().flatten() {
            if !valid_ipport(ip) {
                return SASL_BADPARAM;
            }
        }
        let callbacks = CallbackList::new(prompt_supp);
        let mut conn = Box::new(sasl_conn_t::new(
            &service,
            &fqdn,
            callbacks,
            flags,
            Side::Client(Box::new(ClientSide {
                global: client,
                session: None,
                authcid: None,
                prompts: Vec::new(),
                prompt_text: Vec::new(),
            })),
        ));
        conn.iplocal = local.map(|s| cstring(&s));
        conn.ipremote = remote.map(|s| cstring(&s));
        // SAFETY: writable; the Box is owned by the application until sasl_dispose.
        unsafe { *pconn = Box::into_raw(conn) };
        SASL_OK
    })
}

/// Picks a mechanism from the server's list and starts it.
///
/// # Safety
/// `conn` from `sasl_client_new`; `mechlist` NUL-terminated; `prompt_need` NULL or
/// readable/writable; out-pointers NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_client_start(
    conn: *mut sasl_conn_t,
    mechlist: *const c_char,
    prompt_need: *mut *mut sasl_interact_t,
    clientout: *mut *const c_char,
    clientoutlen: *mut c_uint,
    mech: *mut *const c_char,
) -> c_int {
    guard!(SASL_FAIL, {
        let conn_ptr = conn;
        let conn = conn!(conn);
        // SAFETY: out-pointers NULL or writable.
        unsafe {
            put(clientout, std::ptr::null());
            put(clientoutlen, 0);
        }
        if mechlist.is_null() {
            return conn.error(SASL_BADPARAM, "Parameter error: no mechanism list");
        }
        // SAFETY: NUL-terminated.
        let list = unsafe { opt_string(mechlist) }.unwrap_or_default();
        // A stronger mechanism of a plug-in (see clientplug).
        // SAFETY: the export's contract; no reference to the connection is used across it.
        if let Some(code) = unsafe {
            crate::clientplug::client_start(
                conn_ptr,
                &list,
                prompt_need,
                clientout,
                clientoutlen,
                mech,
            )
        } {
            return code;
        }
        let conn = conn!(conn_ptr);
        let props = conn.security_properties();
        let binding = conn.channel_binding.clone();
        let service = conn.service.to_string_lossy().into_owned();
        let fqdn = conn.fqdn.to_string_lossy().into_owned();
        let callbacks = conn.callbacks.entries();
        let Side::Client(side) = &mut conn.side else {
            return conn.error(SASL_BADPARAM, "not a client connection");
        };
        let global_callbacks = side.global.entries();
        let lists: [&[Callback]; 2] = [&callbacks, &global_callbacks];
        // GETOPT may call back into the library: the connection is reached again after it,
        // and after every callback below.
        let client_mechs = option(&lists, None, "client_mech_list");
        let conn = conn!(conn_ptr);
        let configure = |credentials: GatheredCredentials| -> Result<ClientSession, Error> {
            let mut config =
                ClientConfig::new(&service, &fqdn, Arc::new(credentials)).with_flags(props.flags);
            if let Some(names) = &client_mechs {
                let names: Vec<&str> = names
                    .split_ascii_whitespace()
                    .filter(|n| mech::find(n).is_some())
                    .collect();
                config = config.with_mechanisms(names)?;
            }
            let mut session = ClientSession::new(Arc::new(config));
            session.set_security_properties(props);
            session.set_channel_binding(binding.clone());
            Ok(session)
        };
        // Choose first, so "no worthy mechanism" is reported before any prompting.
        let probe = configure(GatheredCredentials {
            authcid: None,
            password: None,
            authzid: None,
            realm_callback: None,
        });
        if let Err(error) = probe.and_then(|s| s.choose(&list).map(|_| ())) {
            return conn.fail(&error);
        }
        // Every mechanism needs a password: without a PASS callback, or a PASS entry with a
        // NULL procedure saying the application answers prompts, none is worthy (as in Cyrus).
        let can_get_password = lists
            .iter()
            .flat_map(|list| list.iter())
            .any(|cb| cb.id == SASL_CB_PASS);
        if !can_get_password {
            return conn.error(SASL_NOMECH, "No worthy mechs found");
        }
        let Side::Client(side) = &mut conn.side else {
            return SASL_BADPARAM;
        };
        // SAFETY: prompt_need NULL or readable.
        let answers = unsafe { prompt_answers(side, prompt_need) };
        // SAFETY: callbacks and answers as gathered above.
        let authcid = unsafe { simple_value(&lists, &answers, SASL_CB_AUTHNAME) };
        // SAFETY: as above.
        let authzid = unsafe { simple_value(&lists, &answers, SASL_CB_USER) };
        // SAFETY: conn_ptr is this connection.
        let password = unsafe { password_value(conn_ptr, &lists, &answers) };
        let conn = conn!(conn_ptr);
        let mut needed = Vec::new();
        let authcid = match authcid {
            Gathered::Value(v) => Some(v),
            Gathered::Prompt => {
                needed.push((SASL_CB_AUTHNAME, "Please enter your authentication name"));
                None
            }
            Gathered::Error(code) => return conn.error(code, "AUTHNAME callback failed"),
        };
        let password = match password {
            Gathered::Value(v) => Some(v),
            Gathered::Prompt => {
                needed.push((SASL_CB_PASS, "Please enter your password"));
                None
            }
            Gathered::Error(code) => return conn.error(code, "PASS callback failed"),
        };
        let authzid = match authzid {
            Gathered::Value(v) => Some(v),
            // Without a USER callback the authorization identity is empty unless the
            // application is prompting anyway.
            Gathered::Prompt if !needed.is_empty() && !prompt_need.is_null() => {
                needed.push((SASL_CB_USER, "Please enter your authorization name"));
                None
            }
            Gathered::Prompt => None,
            Gathered::Error(code) => return conn.error(code, "USER callback failed"),
        };
        if !needed.is_empty() {
            if prompt_need.is_null() {
                return conn.error(SASL_INTERACT, "credentials needed but no prompts allowed");
            }
            let Side::Client(side) = &mut conn.side else {
                return SASL_BADPARAM;
            };
            side.prompt_text = needed.iter().map(|(_, text)| cstring(text)).collect();
            side.prompts = needed
                .iter()
                .zip(&side.prompt_text)
                .map(|((id, _), text)| sasl_interact_t {
                    id: *id,
                    challenge: std::ptr::null(),
                    prompt: text.as_ptr(),
                    defresult: std::ptr::null(),
                    result: std::ptr::null(),
                    len: 0,
                })
                .collect();
            side.prompts.push(sasl_interact_t {
                id: SASL_CB_LIST_END,
                challenge: std::ptr::null(),
                prompt: std::ptr::null(),
                defresult: std::ptr::null(),
                result: std::ptr::null(),
                len: 0,
            });
            // SAFETY: prompt_need is writable; the prompts live in the connection.
            unsafe { *prompt_need = side.prompts.as_mut_ptr() };
            return SASL_INTERACT;
        }
        if !prompt_need.is_null() {
            // SAFETY: writable per the contract; the prompts were consumed.
            unsafe { *prompt_need = std::ptr::null_mut() };
        }
        let credentials = GatheredCredentials {
            authcid: authcid.clone(),
            password,
            authzid: authzid.filter(|z| !z.is_empty()),
            realm_callback: find_callback(&lists, SASL_CB_GETREALM),
        };
        let mut session = match configure(credentials) {
            Ok(session) => session,
            Err(error) => return conn.fail(&error),
        };
        let started = session.start(&list);
        let conn = conn!(conn_ptr);
        let Side::Client(side) = &mut conn.side else {
            return SASL_BADPARAM;
        };
        side.session = Some(session);
        side.authcid = authcid;
        match started {
            Ok(start) => {
                // SAFETY: out-pointers NULL or writable.
                unsafe { put(mech, static_mech_name(start.mechanism)) };
                if let Some(initial) = start.initial_response.map(zeroize::Zeroizing::new) {
                    let (ptr, len) = conn.output(&initial);
                    // SAFETY: as above.
                    unsafe {
                        put(clientout, ptr);
                        put(clientoutlen, len);
                    }
                }
                // As Cyrus: SASL_OK when the initial response was the client's last word.
                if start.done { SASL_OK } else { SASL_CONTINUE }
            }
            Err(error) => conn.fail(&error),
        }
    })
}

/// Answers the server's next challenge.
///
/// # Safety
/// As `sasl_client_start`; `serverin` NULL or `serverinlen` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_client_step(
    conn: *mut sasl_conn_t,
    serverin: *const c_char,
    serverinlen: c_uint,
    prompt_need: *mut *mut sasl_interact_t,
    clientout: *mut *const c_char,
    clientoutlen: *mut c_uint,
) -> c_int {
    let _ = prompt_need;
    guard!(SASL_FAIL, {
        let conn_ptr = conn;
        // NULL is SASL_BADPARAM.
        let _ = conn!(conn);
        // SAFETY: out-pointers NULL or writable.
        unsafe {
            put(clientout, std::ptr::null());
            put(clientoutlen, 0);
        }
        // A plug-in mechanism's exchange (see clientplug).
        // SAFETY: the export's contract; no reference to the connection is used across it.
        if let Some(code) = unsafe {
            crate::clientplug::client_step(
                conn_ptr,
                bytes(serverin, serverinlen),
                prompt_need,
                clientout,
                clientoutlen,
            )
        } {
            return code;
        }
        let conn = conn!(conn_ptr);
        // SAFETY: NULL or serverinlen bytes.
        let Some(input) = (unsafe { bytes(serverin, serverinlen) }) else {
            return conn.error(SASL_BADPARAM, "Parameter error: serverin is NULL");
        };
        // A copy the application cannot change under us; it may hold a password.
        let input = zeroize::Zeroizing::new(input.to_vec());
        let Side::Client(side) = &mut conn.side else {
            return conn.error(SASL_BADPARAM, "not a client connection");
        };
        // The session leaves the connection while it runs (its GETREALM callback may call back
        // into the library on this connection).
        let Some(mut session) = side.session.take() else {
            return conn.error(SASL_BADPROT, "sasl_client_step before sasl_client_start");
        };
        let result = session.step(&input);
        let (ssf, maxoutbuf) = (session.ssf(), session.max_outbuf());
        let conn = conn!(conn_ptr);
        if let Side::Client(side) = &mut conn.side {
            side.session = Some(session);
        }
        match result {
            Ok(ClientStep::Continue(response)) => {
                // Client responses may carry the password (LOGIN): no copy outlives the call.
                let response = zeroize::Zeroizing::new(response);
                let (ptr, len) = conn.output(&response);
                // SAFETY: as above.
                unsafe {
                    put(clientout, ptr);
                    put(clientoutlen, len);
                }
                SASL_CONTINUE
            }
            Ok(ClientStep::Done(response)) => {
                let response = zeroize::Zeroizing::new(response.unwrap_or_default());
                let (ptr, len) = conn.output(&response);
                conn.ssf = ssf;
                conn.maxoutbuf = maxoutbuf;
                // SAFETY: as above.
                unsafe {
                    put(clientout, ptr);
                    put(clientoutlen, len);
                }
                SASL_OK
            }
            Err(error) => conn.fail(&error),
        }
    })
}
