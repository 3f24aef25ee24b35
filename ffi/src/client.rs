//! The client calls: `sasl_client_new`, `sasl_client_start`, `sasl_client_step`.

#![allow(non_camel_case_types, reason = "the C names are the ABI")]

use std::ffi::{c_char, c_int, c_uint};
use std::sync::Arc;

use puresasl::{ClientConfig, ClientSession, ClientStep, Error, SecurityFlags, unstable};

use crate::callbacks::{Callback, CallbackList, option};
use crate::conn::{cstring, static_mech_name, valid_ipport};
use crate::consts::*;
use crate::global::global;
use crate::handles::{ClientSide, Side, sasl_conn_t};
use crate::interact::{ClientSource, prompts};
use crate::types::{sasl_callback_t, sasl_interact_t};
use crate::util::{bytes, conn, guard, nonnull, opt_string, put};

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
                source: None,
                unstarted: None,
                username: None,
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

/// Mechanisms that need no password (Cyrus lists no required prompts for them); every other
/// one is worthy only when the application can give a password (a PASS callback, or a PASS
/// entry with a NULL procedure: prompts), as Cyrus's `have_prompts` decides.
const NEED_NO_PASSWORD: [&str; 2] = ["ANONYMOUS", "EXTERNAL"];

/// Reads the answers to our last prompts, if `prompt_need` hands them back.
///
/// # Safety
/// `prompt_need` NULL or readable.
unsafe fn answered_prompts(side: &ClientSide, prompt_need: *mut *mut sasl_interact_t) -> bool {
    if prompt_need.is_null() || side.prompts.is_empty() {
        return false;
    }
    // SAFETY: readable per the contract.
    let given = unsafe { *prompt_need };
    if given.is_null() || given.cast_const() != side.prompts.as_ptr() {
        return false;
    }
    if let Some(source) = &side.source {
        // SAFETY: the application filled our prompts' results per the SASL_INTERACT contract.
        unsafe { source.take_answers(&side.prompts) };
    }
    true
}

/// What `sasl_client_start` and `sasl_client_step` do with a session call's result once the
/// session is back in the connection: a callback's failure code wins; credentials to ask
/// for become prompts; otherwise the client's user name is recorded.
///
/// # Safety
/// `prompt_need` NULL or writable.
unsafe fn settle<T>(
    conn: &mut sasl_conn_t,
    result: Result<T, Error>,
    prompt_need: *mut *mut sasl_interact_t,
) -> Result<T, c_int> {
    let Side::Client(side) = &mut conn.side else {
        return Err(SASL_BADPARAM);
    };
    let failure = side.source.as_ref().and_then(|s| s.failure());
    if !prompt_need.is_null() {
        // SAFETY: writable per the contract; the old prompts are consumed.
        unsafe { *prompt_need = std::ptr::null_mut() };
    }
    if let Some(code) = failure {
        side.session = None;
        return Err(conn.error(code, "a client callback failed"));
    }
    match result {
        Ok(value) => {
            if let Some(name) = side.source.as_ref().and_then(|s| s.username()) {
                side.username = Some(name);
            }
            Ok(value)
        }
        Err(Error::NeedCredentials(kinds)) => {
            if prompt_need.is_null() {
                side.session = None;
                return Err(conn.error(
                    SASL_INTERACT,
                    "credentials must be asked for but no prompts can be returned",
                ));
            }
            side.prompts = prompts(&kinds, &mut side.prompt_text);
            // SAFETY: writable; the prompts live in the connection until the next call.
            unsafe { *prompt_need = side.prompts.as_mut_ptr() };
            Err(SASL_INTERACT)
        }
        Err(Error::MissingCredential(kind)) => {
            Err(conn.error(SASL_FAIL, format!("no {kind} from the application")))
        }
        Err(error) => Err(conn.fail(&error)),
    }
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
        let Side::Client(side) = &mut conn.side else {
            return conn.error(SASL_BADPARAM, "not a client connection");
        };
        // Answers to our prompts: carry on with the mechanism chosen before (as Cyrus, the
        // list is not looked at again and *mech is not rewritten).
        // SAFETY: prompt_need NULL or readable.
        let resuming = unsafe { answered_prompts(side, prompt_need) } && side.session.is_some();
        // Otherwise a stronger mechanism of a plug-in may take the exchange (see clientplug).
        let plugin_started = if resuming {
            None
        } else {
            // SAFETY: the export's contract; no reference to the connection is used across it.
            unsafe {
                crate::clientplug::client_start(
                    conn_ptr,
                    &list,
                    prompt_need,
                    clientout,
                    clientoutlen,
                    mech,
                )
            }
        };
        if let Some(code) = plugin_started {
            return code;
        }
        let conn = conn!(conn_ptr);
        let Side::Client(side) = &mut conn.side else {
            return conn.error(SASL_BADPARAM, "not a client connection");
        };
        // Resuming, or a new exchange: then an earlier one's session goes, with its layer
        // (sasl_encode passes data through until this one negotiates its own) and strength,
        // even if no mechanism can be chosen.
        let session = side.session.take().filter(|_| resuming);
        if session.is_none() {
            conn.ssf = 0;
        }
        let mut session = match session {
            Some(session) => session,
            None => {
                // SAFETY: the pointers as this function's contract says.
                match unsafe { new_session(conn_ptr, &list, mech) } {
                    Ok(session) => session,
                    Err(code) => return code,
                }
            }
        };
        if clientout.is_null() && !resuming {
            // No room for an initial response: as Cyrus, only choose now; the mechanism
            // starts (and asks for credentials) in the first sasl_client_step.
            let conn = conn!(conn_ptr);
            if let Side::Client(side) = &mut conn.side {
                side.session = Some(session);
                side.unstarted = Some(list);
            }
            return SASL_CONTINUE;
        }
        let started = session.start(&list);
        let (ssf, maxoutbuf) = (session.ssf(), session.max_outbuf());
        let conn = conn!(conn_ptr);
        if let Side::Client(side) = &mut conn.side {
            side.session = Some(session);
        }
        // SAFETY: prompt_need NULL or writable.
        match unsafe { settle(conn, started, prompt_need) } {
            Ok(start) => {
                if let Some(initial) = start.initial_response.map(zeroize::Zeroizing::new) {
                    let (ptr, len) = conn.output(&initial);
                    // SAFETY: out-pointers NULL or writable.
                    unsafe {
                        put(clientout, ptr);
                        put(clientoutlen, len);
                    }
                }
                // As Cyrus: SASL_OK when the initial response was the client's last word,
                // and then the layer (none) is this exchange's.
                if start.done {
                    conn.ssf = ssf;
                    conn.maxoutbuf = maxoutbuf;
                    SASL_OK
                } else {
                    SASL_CONTINUE
                }
            }
            Err(code) => code,
        }
    })
}

/// Chooses the mechanism for a fresh `sasl_client_start` (writing `*mech` as soon as it is
/// chosen) and builds its session around a new [`ClientSource`].
///
/// # Safety
/// `conn_ptr` a live client connection; `mech` NULL or writable.
unsafe fn new_session(
    conn_ptr: *mut sasl_conn_t,
    list: &str,
    mech: *mut *const c_char,
) -> Result<ClientSession, c_int> {
    let conn = conn!(conn_ptr, Err(SASL_BADPARAM));
    // An external layer (TLS, a UNIX socket) strong enough lifts noplaintext and counts
    // towards min_ssf, as in Cyrus's client.
    let mut props = conn.security_properties();
    let external = conn.external_ssf;
    if external > 1 && props.min_ssf <= external {
        props.flags =
            SecurityFlags::from_bits(props.flags.bits() & !SecurityFlags::NOPLAINTEXT.bits());
    }
    props.min_ssf = props.min_ssf.saturating_sub(external);
    let binding = conn.channel_binding.clone();
    let external_identity = conn
        .auth_external
        .as_ref()
        .map(|id| id.to_string_lossy().into_owned());
    let service = conn.service.to_string_lossy().into_owned();
    let fqdn = conn.fqdn.to_string_lossy().into_owned();
    let callbacks = conn.callbacks.entries();
    let Side::Client(side) = &mut conn.side else {
        return Err(conn.error(SASL_BADPARAM, "not a client connection"));
    };
    side.username = None;
    side.source = None;
    side.session = None;
    side.unstarted = None;
    let global_callbacks = side.global.entries();
    let source = Arc::new(ClientSource::new(
        conn_ptr,
        callbacks.clone(),
        global_callbacks.clone(),
        fqdn.clone(),
    ));
    let lists: [&[Callback]; 2] = [&callbacks, &global_callbacks];
    // GETOPT may call back into the library: the connection is reached again after it.
    let client_mechs = option(&lists, None, "client_mech_list");
    // Ours: the lowest SCRAM iteration count a server may ask for (default 4096, RFC 5802's
    // floor; Cyrus's client has none, so a server asking for fewer is refused unless lowered).
    let scram_min = option(&lists, None, "scram_min_iteration_counter")
        .and_then(|v| v.trim().parse::<u32>().ok());
    let conn = conn!(conn_ptr, Err(SASL_BADPARAM));
    let can_get_password = source.can_supply(SASL_CB_PASS);
    let names: Vec<&str> = match &client_mechs {
        Some(names) => names.split_ascii_whitespace().collect(),
        None => unstable::MECHANISMS.iter().map(|m| m.name).collect(),
    };
    let names: Vec<&str> = names
        .into_iter()
        .filter(|n| unstable::find(n).is_some())
        .filter(|n| can_get_password || NEED_NO_PASSWORD.iter().any(|x| x.eq_ignore_ascii_case(n)))
        .collect();
    let mut config = ClientConfig::new(&service, &fqdn, source.clone()).with_flags(props.flags);
    if let Some(min) = scram_min {
        let (_, max) = config.scram_iteration_bounds();
        config = config.with_scram_iterations(min.max(1), max);
    }
    if let Some(cache) = crate::global::client_scram_keys() {
        config = config.with_scram_key_cache(cache);
    }
    let config = config.with_mechanisms(names);
    let mut session = match config {
        Ok(config) => ClientSession::new(Arc::new(config)),
        Err(error) => return Err(conn.fail(&error)),
    };
    session.set_security_properties(props);
    session.set_channel_binding(binding);
    session.set_external_identity(external_identity);
    match session.choose(list) {
        // SAFETY: NULL or writable per the contract.
        Ok(info) => unsafe { put(mech, static_mech_name(info.name)) },
        // Cyrus's words; applications match on them.
        Err(_) => return Err(conn.error(SASL_NOMECH, "No worthy mechs found")),
    }
    if let Side::Client(side) = &mut conn.side {
        side.source = Some(source);
    }
    Ok(session)
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
        // SAFETY: prompt_need NULL or readable.
        unsafe { answered_prompts(side, prompt_need) };
        // The session leaves the connection while it runs (its callbacks may call back into
        // the library on this connection).
        let Some(mut session) = side.session.take() else {
            return conn.error(SASL_BADPROT, "sasl_client_step before sasl_client_start");
        };
        let result = match side.unstarted.take() {
            // The start sasl_client_start left for this first step: its initial response is
            // the answer, or (server first) the mechanism takes the challenge now.
            Some(list) => match session.start(&list) {
                Ok(start) => match start.initial_response {
                    Some(response) if start.done => Ok(ClientStep::Done(Some(response))),
                    Some(response) => Ok(ClientStep::Continue(response)),
                    None => session.step(&input),
                },
                Err(error) => Err(error),
            },
            None => session.step(&input),
        };
        let (ssf, maxoutbuf) = (session.ssf(), session.max_outbuf());
        let conn = conn!(conn_ptr);
        if let Side::Client(side) = &mut conn.side {
            side.session = Some(session);
        }
        // SAFETY: prompt_need NULL or writable.
        match unsafe { settle(conn, result, prompt_need) } {
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
            Err(code) => code,
        }
    })
}
