//! Server mechanism plug-ins (`sasl_server_add_plugin`, and the `sasl_server_plug_init` of
//! Cyrus's plug-in modules, see [`crate::modules`]): a plug-in mechanism joins the listing
//! (filtered by `mech_list` and the security properties as Cyrus filters), is started and
//! stepped like a built-in one, reports `SASL_USERNAME`, `SASL_AUTHUSER`, `SASL_SSF` and
//! `SASL_MAXOUTBUF`, and its security layer runs under `sasl_encode`/`sasl_decode`. Built-in
//! mechanisms win over a plug-in offering the same name.
//!
//! The exchange drives the plug-in as Cyrus does: `mech_new`, then `mech_step` with the
//! client's data (a client-first mechanism started without an initial response first gets an
//! empty challenge); the plug-in canonicalises names through `sparams->canon_user`, which
//! runs the connection's canonicalisation (the application's callback, a canon_user
//! plug-in), fills the authentication id's requested properties (`*name`) from the
//! credential store and the auxprop plug-ins, and those of the authorization id (`name`);
//! after success the application's `SASL_CB_PROXY_POLICY` is asked. No lock and no
//! reference to the connection is held while the plug-in runs.

use std::ffi::{CStr, CString, c_char, c_int, c_uint, c_void};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use puresasl::{NameKind, Secret};

use crate::callbacks::{Callback, find_callback};
use crate::consts::*;
use crate::handles::{Side, sasl_conn_t};
use crate::plugin_abi::{
    ServerPlugInit, sasl_out_params_t, sasl_server_params_t, sasl_server_plug_t, sasl_utils_t,
};
use crate::util::{conn, put};

/// `SASL_SERVER_PLUG_VERSION`.
pub(crate) const SASL_SERVER_PLUG_VERSION: c_int = 4;

/// A registered server mechanism (one entry of a plug-in's list; the plug-in keeps it alive).
pub(crate) struct ServerMech {
    /// The name it was registered under (the module's file name for modules).
    pub(crate) plugname: String,
    /// The mechanism's name.
    pub(crate) name: String,
    /// The description.
    plug: usize,
}

impl ServerMech {
    pub(crate) fn plug(&self) -> &sasl_server_plug_t {
        // SAFETY: the description the plug-in's init returned; plug-ins keep their lists
        // alive while registered (Cyrus's contract), and the library only reads them.
        unsafe { &*(self.plug as *const sasl_server_plug_t) }
    }
}

fn mechanisms() -> MutexGuard<'static, Vec<Arc<ServerMech>>> {
    static MECHS: OnceLock<Mutex<Vec<Arc<ServerMech>>>> = OnceLock::new();
    MECHS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The registered server mechanisms.
pub(crate) fn server_mechanisms() -> Vec<Arc<ServerMech>> {
    mechanisms().clone()
}

/// Forgets every server mechanism plug-in, calling each one's `mech_free` (Cyrus's
/// `sasl_server_done`); connections must have been disposed of.
pub(crate) fn release_all() {
    let released = std::mem::take(&mut *mechanisms());
    for mech in released {
        if let Some(free) = mech.plug().mech_free {
            // SAFETY: the plug-in's own clean-up with its global context, once per
            // registered mechanism, as Cyrus calls it; no lock held.
            unsafe { free(mech.plug().glob_context, crate::utils::global_utils()) };
        }
    }
}

fn is_builtin(name: &str) -> bool {
    puresasl::mechanism_names()
        .iter()
        .any(|builtin| builtin.eq_ignore_ascii_case(name))
}

/// Registers the mechanisms `init` describes (see `sasl_server_add_plugin`); returns the
/// result code and how many mechanisms were added (built-in names are skipped).
///
/// # Safety
/// `plugname` NUL-terminated; `init` a `sasl_server_plug_init_t`.
pub(crate) unsafe fn add_server(plugname: *const c_char, init: ServerPlugInit) -> (c_int, usize) {
    // SAFETY: NUL-terminated per the contract.
    let name = unsafe { crate::util::opt_string(plugname) }.unwrap_or_default();
    let negotiated = crate::plugins::negotiate_mechanisms(
        "server",
        &name,
        SASL_SERVER_PLUG_VERSION,
        |version, out_version, list, count| {
            // SAFETY: the plug-in's init with Cyrus's arguments; no lock held.
            unsafe {
                init(
                    crate::utils::global_utils(),
                    version,
                    out_version,
                    list,
                    count,
                )
            }
        },
    );
    let (list, count) = match negotiated {
        Ok(found) => found,
        Err(code) => return (code, 0),
    };
    let mut added = 0;
    // Entries not registered (built-in names, duplicates) are freed now, as Cyrus frees what
    // it does not keep, unless a registered entry shares their global context.
    let mut skipped: Vec<crate::plugins::MechFree> = Vec::new();
    let mut kept_globals: Vec<usize> = Vec::new();
    for i in 0..count {
        // SAFETY: the plug-in's array of `count` descriptions.
        let plug = unsafe { list.add(i) };
        // SAFETY: as above.
        let (mech_name, has_step) = unsafe { ((*plug).mech_name, (*plug).mech_step.is_some()) };
        if mech_name.is_null() || !has_step {
            continue;
        }
        // SAFETY: a NUL-terminated name owned by the plug-in.
        let mech = unsafe { CStr::from_ptr(mech_name) }
            .to_string_lossy()
            .into_owned();
        let mut list = mechanisms();
        if is_builtin(&mech) || list.iter().any(|m| m.name.eq_ignore_ascii_case(&mech)) {
            // SAFETY: a description of the plug-in's array.
            skipped.push(unsafe { ((*plug).mech_free, (*plug).glob_context) });
            continue;
        }
        // SAFETY: as above.
        kept_globals.push(unsafe { (*plug).glob_context } as usize);
        list.push(Arc::new(ServerMech {
            plugname: name.clone(),
            name: mech,
            plug: plug as usize,
        }));
        added += 1;
    }
    // SAFETY: the descriptions' own clean-ups, for contexts nothing registered uses.
    unsafe { crate::plugins::free_unkept(skipped, &kept_globals) };
    (SASL_OK, added)
}

// ---- the connection's side ----

/// A plug-in exchange on a server connection (kept in the connection's plug-in state).
pub(crate) struct ServerMechSession {
    mech: Arc<ServerMech>,
    context: *mut c_void,
    params: Box<sasl_server_params_t>,
    _strings: Vec<CString>,
    oparams: Box<sasl_out_params_t>,
    utils: *const sasl_utils_t,
    state: State,
    /// The name the mechanism was started under (for `SASL_MECHNAME`).
    pub(crate) mech_name: CString,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Running,
    /// Sent its last data as a challenge; the next (empty) step completes.
    SentLast,
    Done,
    Failed,
}

impl Drop for ServerMechSession {
    fn drop(&mut self) {
        if let Some(dispose) = self.mech.plug().mech_dispose
            && !self.context.is_null()
        {
            // SAFETY: the context mech_new made, disposed once; the utils are alive (the
            // connection owns them and drops them after this session).
            unsafe { dispose(self.context, self.utils) };
        }
    }
}

fn zeroed_oparams() -> Box<sasl_out_params_t> {
    Box::new(sasl_out_params_t {
        doneflag: 0,
        user: std::ptr::null(),
        authid: std::ptr::null(),
        ulen: 0,
        alen: 0,
        maxoutbuf: 0,
        mech_ssf: 0,
        encode_context: std::ptr::null_mut(),
        encode: None,
        decode_context: std::ptr::null_mut(),
        decode: None,
        client_creds: std::ptr::null_mut(),
        gss_peer_name: std::ptr::null(),
        gss_local_name: std::ptr::null(),
        cbindingname: std::ptr::null(),
        spare_fptr1: None,
        spare_fptr2: None,
        cbindingdisp: 0,
        spare_int2: 0,
        spare_int3: 0,
        spare_int4: 0,
        param_version: 0,
    })
}

/// Whether `mech` may be offered on `conn`: listed in `mech_list` (when set), and the
/// plug-in meets the connection's security properties, as Cyrus's `mech_permitted` checks.
fn permitted(conn: &sasl_conn_t, mech: &ServerMech, mech_list: Option<&str>) -> bool {
    if let Some(list) = mech_list
        && !list
            .split_ascii_whitespace()
            .any(|name| name.eq_ignore_ascii_case(&mech.name))
    {
        return false;
    }
    let plug = mech.plug();
    if conn.props.min_ssf > plug.max_ssf.saturating_add(conn.external_ssf) {
        return false;
    }
    let mut wanted = conn.props.security_flags & 0xff;
    if conn.external_ssf > 1 && conn.external_ssf >= conn.props.min_ssf {
        // An external layer satisfies noplaintext and noactive, as in Cyrus.
        wanted &= !(SASL_SEC_NOPLAINTEXT | SASL_SEC_NOACTIVE);
    }
    wanted & !plug.security_flags == 0
}

/// The plug-in mechanisms connection `conn_ptr` offers (for `sasl_listmech`), after the
/// built-in ones: permitted, and available by the plug-in's own `mech_avail`.
///
/// # Safety
/// `conn_ptr` a live server connection, not borrowed.
pub(crate) unsafe fn offered(conn_ptr: *mut sasl_conn_t) -> Vec<String> {
    // SAFETY: the caller's contract.
    let mech_list = unsafe { mech_list_option(conn_ptr) };
    let permitted: Vec<Arc<ServerMech>> = {
        // SAFETY: the caller's contract; the reference ends in this block, which does not
        // call out.
        let Some(conn) = (unsafe { conn_ptr.as_ref() }) else {
            return Vec::new();
        };
        server_mechanisms()
            .into_iter()
            .filter(|m| permitted(conn, m, mech_list.as_deref()))
            .collect()
    };
    permitted
        .into_iter()
        // SAFETY: the caller's contract.
        .filter(|mech| unsafe { available(conn_ptr, mech) })
        .map(|m| m.name.clone())
        .collect()
}

/// The `mech_list` option as connection `conn_ptr` sees it, read with no reference to the
/// connection held (GETOPT may call back into the library).
///
/// # Safety
/// `conn_ptr` a live server connection, not borrowed.
unsafe fn mech_list_option(conn_ptr: *mut sasl_conn_t) -> Option<String> {
    let (conn_cbs, global_cbs, global) = {
        // SAFETY: the caller's contract; the reference ends in this block.
        let conn = unsafe { conn_ptr.as_ref() }?;
        let Side::Server(side) = &conn.side else {
            return None;
        };
        (
            conn.callbacks.entries(),
            side.global.callbacks.entries(),
            side.global.clone(),
        )
    };
    let lists: [&[Callback]; 2] = [&conn_cbs, &global_cbs];
    crate::callbacks::option(&lists, Some(&global.file), "mech_list")
}

/// A connection context a plug-in's `mech_avail` made, or its refusal (`SASL_NOMECH`), kept
/// for the connection as Cyrus's `mech_contexts`: a kept context is the exchange's context at
/// `sasl_server_start` (its `mech_new` is not called), one never used is disposed with the
/// connection; a refused mechanism is not asked again on that connection.
pub(crate) struct AvailContext {
    mech: Arc<ServerMech>,
    context: usize,
    refused: bool,
    /// The connection's utility table (alive until after the contexts are dropped).
    utils: usize,
}

impl Drop for AvailContext {
    fn drop(&mut self) {
        if self.context != 0
            && let Some(dispose) = self.mech.plug().mech_dispose
        {
            // SAFETY: the context mech_avail made and nothing took, disposed once, with the
            // connection's utilities (still alive: see ConnUtils's drop order).
            unsafe {
                dispose(
                    self.context as *mut c_void,
                    self.utils as *const sasl_utils_t,
                )
            };
        }
    }
}

/// Asks the plug-in's `mech_avail` whether `mech` can run on connection `conn_ptr`, as
/// Cyrus's `mech_permitted` does: available without one; otherwise only on `SASL_OK` (the
/// context it made, or had from an earlier call on this connection, is kept); a mechanism
/// that answered `SASL_NOMECH` is not asked again on this connection.
///
/// # Safety
/// `conn_ptr` a live server connection, not borrowed.
unsafe fn available(conn_ptr: *mut sasl_conn_t, mech: &Arc<ServerMech>) -> bool {
    let plug = mech.plug();
    let Some(mech_avail) = plug.mech_avail else {
        return true;
    };
    let kept = conn!(conn_ptr, false)
        .utils
        .avail_contexts
        .iter()
        .find(|c| Arc::ptr_eq(&c.mech, mech))
        .map(|c| (c.refused, c.context));
    if let Some((true, _)) = kept {
        return false;
    }
    // SAFETY: the caller's contract.
    let Some(params) = (unsafe { crate::plugins::server_params(conn_ptr) }) else {
        return false;
    };
    let (mut params, _strings) = params.into_parts();
    let utils = params.utils as usize;
    let mut context = kept.map_or(0, |(_, context)| context) as *mut c_void;
    // SAFETY: the plug-in's function with valid parameters; no lock or reference held.
    let status = unsafe { mech_avail(plug.glob_context, &raw mut *params, &raw mut context) };
    let contexts = &mut conn!(conn_ptr, false).utils.avail_contexts;
    let entry = contexts.iter().position(|c| Arc::ptr_eq(&c.mech, mech));
    let refused = status == SASL_NOMECH;
    if !refused && (status != SASL_OK || context.is_null()) {
        return status == SASL_OK;
    }
    match entry {
        // Updated in place: the context may be the one kept (Cyrus: "it shouldn't have
        // changed, but who knows"), which must not be disposed here.
        Some(at) => {
            if refused {
                contexts[at].refused = true;
            } else {
                contexts[at].context = context as usize;
            }
        }
        None => contexts.push(AvailContext {
            mech: mech.clone(),
            context: if refused { 0 } else { context as usize },
            refused,
            utils,
        }),
    }
    status == SASL_OK
}

/// Takes the context `mech_avail` kept for `mech` on this connection (the exchange's context
/// from now on), if any.
fn take_avail_context(conn: &mut sasl_conn_t, mech: &Arc<ServerMech>) -> *mut c_void {
    let contexts = &mut conn.utils.avail_contexts;
    match contexts
        .iter()
        .position(|c| Arc::ptr_eq(&c.mech, mech) && !c.refused)
    {
        Some(at) => {
            let mut entry = contexts.remove(at);
            // Ownership passes to the exchange: not disposed by this entry.
            std::mem::replace(&mut entry.context, 0) as *mut c_void
        }
        None => std::ptr::null_mut(),
    }
}

/// `sasl_idle` on a server connection: each plug-in mechanism with an `idle` function is
/// called with the connection and its parameters, as Cyrus's `server_idle` does; 1 as soon
/// as one did work.
///
/// # Safety
/// `conn_ptr` a live server connection, not borrowed.
pub(crate) unsafe fn idle(conn_ptr: *mut sasl_conn_t) -> c_int {
    for mech in server_mechanisms() {
        let Some(idle) = mech.plug().idle else {
            continue;
        };
        // SAFETY: the caller's contract.
        let Some(params) = (unsafe { crate::plugins::server_params(conn_ptr) }) else {
            return 0;
        };
        let (mut params, _strings) = params.into_parts();
        // SAFETY: the plug-in's function with valid parameters; no lock or reference held.
        if unsafe { idle(mech.plug().glob_context, conn_ptr.cast(), &raw mut *params) } != 0 {
            return 1;
        }
    }
    0
}

/// `sasl_setpass` for the plug-in mechanisms, after the stores and the `SETPASS` callback:
/// each registered server mechanism with a `setpass` sets its own secret (only `current`'s
/// under `SASL_SET_CURMECH_ONLY`), as Cyrus's `sasl_setpass` asks its mechanisms; a failure
/// is logged. Each one's code, for the caller to combine as Cyrus does.
///
/// # Safety
/// `conn_ptr` a live server connection, not borrowed; `pass` NULL or `passlen` bytes, and
/// `oldpass` NULL or `oldpasslen` bytes.
#[allow(
    clippy::too_many_arguments,
    reason = "Cyrus's setpass arguments, passed through"
)]
pub(crate) unsafe fn setpass(
    conn_ptr: *mut sasl_conn_t,
    user: &CStr,
    pass: *const c_char,
    passlen: c_uint,
    oldpass: *const c_char,
    oldpasslen: c_uint,
    flags: c_uint,
    current: Option<&str>,
) -> Vec<c_int> {
    let mut codes = Vec::new();
    for mech in server_mechanisms() {
        let Some(setpass) = mech.plug().setpass else {
            continue;
        };
        if flags & SASL_SET_CURMECH_ONLY != 0 && current != Some(mech.name.as_str()) {
            continue;
        }
        // SAFETY: the caller's contract.
        let Some(params) = (unsafe { crate::plugins::server_params(conn_ptr) }) else {
            return vec![SASL_BADPARAM];
        };
        let (mut params, _strings) = params.into_parts();
        // SAFETY: the plug-in's function with the caller's buffers and valid parameters; no
        // lock or reference held.
        let status = unsafe {
            setpass(
                mech.plug().glob_context,
                &raw mut *params,
                user.as_ptr(),
                pass,
                passlen,
                oldpass,
                oldpasslen,
                flags,
            )
        };
        if status != SASL_OK && status != SASL_NOCHANGE {
            crate::plugins::log_error(&format!(
                "{}: failed to set secret for {}: {}",
                mech.name,
                user.to_string_lossy(),
                crate::plugins::errtext(status)
            ));
        }
        codes.push(status);
    }
    codes
}

/// `sasl_server_start` for a plug-in mechanism: `None` when `mech` is not one (any earlier
/// plug-in exchange on the connection ends), else the result code.
///
/// # Safety
/// `conn_ptr` live and not borrowed; `initial` as the export got it; out-pointers NULL or
/// writable.
pub(crate) unsafe fn server_start(
    conn_ptr: *mut sasl_conn_t,
    mech: &str,
    initial: Option<&[u8]>,
    serverout: *mut *const c_char,
    serveroutlen: *mut c_uint,
) -> Option<c_int> {
    let previous = conn!(conn_ptr, None).utils.take_server_mech();
    drop(previous);
    if is_builtin(mech) {
        return None;
    }
    let found = server_mechanisms()
        .into_iter()
        .find(|m| m.name.eq_ignore_ascii_case(mech))?;
    // SAFETY: the caller's contract; no reference to the connection is held.
    let mech_list = unsafe { mech_list_option(conn_ptr) };
    let conn = conn!(conn_ptr, None);
    if !permitted(conn, &found, mech_list.as_deref()) {
        // Cyrus's codes: too weak for min_ssf, plaintext refused, else not offered.
        let plug = found.plug();
        let code = if conn.props.min_ssf > plug.max_ssf.saturating_add(conn.external_ssf) {
            SASL_TOOWEAK
        } else if conn.props.security_flags & SASL_SEC_NOPLAINTEXT != 0
            && plug.security_flags & SASL_SEC_NOPLAINTEXT == 0
        {
            SASL_ENCRYPT
        } else {
            SASL_NOMECH
        };
        return Some(conn.error(code, format!("mechanism {mech} is not available")));
    }
    // SAFETY: a live server connection, not borrowed (the reference above is not used again
    // before this call).
    let Some(params) = (unsafe { crate::plugins::server_params(conn_ptr) }) else {
        return Some(SASL_BADPARAM);
    };
    // SAFETY: the caller's contract; no reference to the connection is held.
    if !unsafe { available(conn_ptr, &found) } {
        return Some(
            conn!(conn_ptr, None).error(SASL_NOMECH, format!("mechanism {mech} is not available")),
        );
    }
    let (mut params, strings) = params.into_parts();
    params.canon_user = Some(plugin_canon_user);
    let plug = found.plug();
    let utils = params.utils;
    // A context mech_avail made is the exchange's: its mech_new is not called (Cyrus: "the
    // work was already done by mech_avail").
    let mut context = take_avail_context(conn!(conn_ptr, None), &found);
    if context.is_null() {
        let Some(mech_new) = plug.mech_new else {
            return Some(SASL_BADPROT);
        };
        // SAFETY: the plug-in's mech_new with valid parameters; no lock or reference held.
        let status = unsafe {
            mech_new(
                plug.glob_context,
                &raw mut *params,
                std::ptr::null(),
                0,
                &raw mut context,
            )
        };
        if status != SASL_OK {
            return Some(conn!(conn_ptr, None).error(status, format!("{mech}: mech_new failed")));
        }
    }
    let conn = conn!(conn_ptr, None);
    let session = ServerMechSession {
        mech: found.clone(),
        context,
        params,
        _strings: strings,
        oparams: zeroed_oparams(),
        utils,
        state: State::Running,
        mech_name: CString::new(found.name.clone()).unwrap_or_default(),
    };
    conn.username.publish(b"");
    conn.authuser.publish(b"");
    conn.ssf = 0;
    conn.utils.put_server_mech(Box::new(session));
    // SAFETY: out-pointers NULL or writable.
    unsafe {
        put(serverout, std::ptr::null());
        put(serveroutlen, 0);
    }
    let client_first = plug.features & 0x0002 != 0; // SASL_FEAT_WANT_CLIENT_FIRST
    match initial {
        None if client_first => {
            // No initial response: an empty challenge asks for it.
            let (ptr, len) = conn.output(b"");
            // SAFETY: as above.
            unsafe {
                put(serverout, ptr);
                put(serveroutlen, len);
            }
            Some(SASL_CONTINUE)
        }
        // SAFETY: the caller's contract.
        _ => Some(unsafe { step(conn_ptr, initial, serverout, serveroutlen) }),
    }
}

/// `sasl_server_step` for a plug-in exchange: `None` when the connection has none.
///
/// # Safety
/// As [`server_start`].
pub(crate) unsafe fn server_step(
    conn_ptr: *mut sasl_conn_t,
    input: Option<&[u8]>,
    serverout: *mut *const c_char,
    serveroutlen: *mut c_uint,
) -> Option<c_int> {
    let conn = conn!(conn_ptr, None);
    let state = conn.utils.server_mech()?.state;
    if state == State::SentLast {
        if let Some(session) = conn.utils.server_mech_mut() {
            session.state = State::Done;
        }
        return Some(SASL_OK);
    }
    // SAFETY: the caller's contract.
    Some(unsafe { step(conn_ptr, input, serverout, serveroutlen) })
}

/// One `mech_step`. The session stays in the connection (its parameters are boxed, so the
/// pointers the plug-in holds stay valid) but no reference to the connection is held while
/// the plug-in runs.
unsafe fn step(
    conn_ptr: *mut sasl_conn_t,
    input: Option<&[u8]>,
    serverout: *mut *const c_char,
    serveroutlen: *mut c_uint,
) -> c_int {
    let conn = conn!(conn_ptr);
    let success_data = conn.flags & SASL_SUCCESS_DATA != 0;
    // The session leaves the connection while the plug-in runs (its boxes, which the
    // plug-in's pointers reach, do not move).
    let Some(mut session) = conn.utils.take_server_mech() else {
        return SASL_BADPROT;
    };
    if session.state != State::Running {
        conn.utils.put_server_mech(session);
        return conn.error(SASL_BADPROT, "the exchange is over");
    }
    let Some(mech_step) = session.mech.plug().mech_step else {
        conn.utils.put_server_mech(session);
        return SASL_BADPROT;
    };
    let context = session.context;
    let params: *mut sasl_server_params_t = &raw mut *session.params;
    let oparams: *mut sasl_out_params_t = &raw mut *session.oparams;
    let input = input.map(<[u8]>::to_vec);
    let (data, len) = match &input {
        Some(bytes) => (
            bytes.as_ptr().cast::<c_char>(),
            c_uint::try_from(bytes.len()).unwrap_or(c_uint::MAX),
        ),
        None => (std::ptr::null(), 0),
    };
    let mut out: *const c_char = std::ptr::null();
    let mut outlen: c_uint = 0;
    // SAFETY: the plug-in's step with the context it made and pointers into the session's
    // boxes; no reference to the connection is held across the call.
    let status = unsafe {
        mech_step(
            context,
            params,
            data,
            len,
            &raw mut out,
            &raw mut outlen,
            oparams,
        )
    };
    conn!(conn_ptr).utils.put_server_mech(session);
    if let Some(mut input) = input {
        zeroize::Zeroize::zeroize(&mut input);
    }
    // SAFETY: NULL or `outlen` bytes the plug-in owns until its next call.
    let output = unsafe { crate::util::bytes(out, outlen) }
        .filter(|_| !out.is_null())
        .map(<[u8]>::to_vec);
    let conn = conn!(conn_ptr);
    let write = |conn: &mut sasl_conn_t, data: &[u8]| {
        let (ptr, len) = conn.output(data);
        // SAFETY: out-pointers NULL or writable.
        unsafe {
            put(serverout, ptr);
            put(serveroutlen, len);
        }
    };
    match status {
        SASL_CONTINUE => {
            write(conn, output.as_deref().unwrap_or_default());
            SASL_CONTINUE
        }
        SASL_OK => {
            // SAFETY: the out parameters the plug-in filled; read with no reference held.
            let authorized = unsafe { authorize(conn_ptr, oparams) };
            let conn = conn!(conn_ptr);
            if authorized != SASL_OK {
                if let Some(session) = conn.utils.server_mech_mut() {
                    session.state = State::Failed;
                }
                return conn.error(authorized, "not authorized");
            }
            // SAFETY: filled by the plug-in.
            let (ssf, maxoutbuf) = unsafe { ((*oparams).mech_ssf, (*oparams).maxoutbuf) };
            conn.ssf = ssf;
            conn.maxoutbuf = if ssf > 0 {
                maxoutbuf
            } else {
                conn.props.maxbufsize
            };
            let last = output.filter(|data| !data.is_empty() || !success_data);
            let state = match &last {
                Some(data) if !success_data && !data.is_empty() => State::SentLast,
                _ => State::Done,
            };
            if let Some(session) = conn.utils.server_mech_mut() {
                session.state = state;
            }
            if let Some(data) = last {
                write(conn, &data);
            }
            if state == State::SentLast {
                SASL_CONTINUE
            } else {
                SASL_OK
            }
        }
        code => {
            if let Some(session) = conn.utils.server_mech_mut() {
                session.state = State::Failed;
            }
            if conn.detail_code == SASL_OK {
                return conn.error(code, "mechanism plug-in failed");
            }
            conn.detail_code = code;
            code
        }
    }
}

/// The application's `SASL_CB_PROXY_POLICY` for the names the plug-in reported (Cyrus's
/// default without it: the authorization id must be the authentication id).
unsafe fn authorize(conn_ptr: *mut sasl_conn_t, oparams: *const sasl_out_params_t) -> c_int {
    // SAFETY: filled by the plug-in's canon_user calls (or left NULL).
    let (user, ulen, authid, alen) = unsafe {
        (
            (*oparams).user,
            (*oparams).ulen,
            (*oparams).authid,
            (*oparams).alen,
        )
    };
    if authid.is_null() {
        return SASL_BADPROT;
    }
    let (user, ulen) = if user.is_null() {
        (authid, alen)
    } else {
        (user, ulen)
    };
    // SAFETY: a live connection; the reference ends before the callback.
    let lists = unsafe { crate::utils::callback_lists(conn_ptr) };
    let (realm, propctx) = {
        let conn = conn!(conn_ptr);
        (
            conn.user_realm.clone(),
            crate::plugins::conn_propctx(conn_ptr),
        )
    };
    let owned: Vec<Vec<Callback>> = lists.iter().map(|l| l.entries()).collect();
    let lists: Vec<&[Callback]> = owned.iter().map(Vec::as_slice).collect();
    let Some(cb) = find_callback(&lists, SASL_CB_PROXY_POLICY) else {
        // SAFETY: `ulen`/`alen` bytes at the names the canonicalisation stored.
        let same = unsafe { crate::util::bytes(user, ulen) == crate::util::bytes(authid, alen) };
        return if same { SASL_OK } else { SASL_NOAUTHZ };
    };
    let Some(policy) = cb.authorize() else {
        return SASL_OK;
    };
    let realm_len = realm
        .as_ref()
        .map_or(0, |r| c_uint::try_from(r.as_bytes().len()).unwrap_or(0));
    // SAFETY: the application's callback with the names and their lengths; no reference to
    // the connection is held.
    unsafe {
        policy(
            conn_ptr,
            cb.context,
            user,
            ulen,
            authid,
            alen,
            realm.as_ref().map_or(std::ptr::null(), |r| r.as_ptr()),
            realm_len,
            propctx,
        )
    }
}

/// `sparams->canon_user`: the connection's canonicalisation of `user`, stored in the out
/// parameters (`authid` for `SASL_CU_AUTHID`, `user` for `SASL_CU_AUTHZID`), then the
/// requested properties of that name filled in the connection's property context.
unsafe extern "C" fn plugin_canon_user(
    conn_ptr: *mut sasl_conn_t,
    user: *const c_char,
    ulen: c_uint,
    flags: c_uint,
    oparams: *mut sasl_out_params_t,
) -> c_int {
    crate::util::guard!(SASL_FAIL, {
        if oparams.is_null() || user.is_null() {
            return SASL_BADPARAM;
        }
        // SAFETY: `ulen` bytes (or a NUL-terminated string when 0), as Cyrus reads it.
        let name = unsafe {
            if ulen == 0 {
                CStr::from_ptr(user).to_bytes().to_vec()
            } else {
                std::slice::from_raw_parts(user.cast::<u8>(), ulen as usize).to_vec()
            }
        };
        let name = String::from_utf8_lossy(&name).into_owned();
        let kind = match (flags & SASL_CU_AUTHID != 0, flags & SASL_CU_AUTHZID != 0) {
            (true, true) => NameKind::AuthcidAndAuthzid,
            (false, true) => NameKind::Authzid,
            _ => NameKind::Authcid,
        };
        let Some(parts) = crate::server::server_parts(conn!(conn_ptr)) else {
            return SASL_BADPARAM;
        };
        // The application's callback and canon_user plug-ins run here: no reference held.
        let canonical = match parts.config.canonical_user(&name, kind) {
            Ok(canonical) => canonical,
            Err(error) => return crate::errors::code_of(&error).0,
        };
        let conn = conn!(conn_ptr);
        let len = c_uint::try_from(canonical.len()).unwrap_or(c_uint::MAX);
        if flags & SASL_CU_AUTHID != 0 {
            let ptr = conn.authuser.publish(canonical.as_bytes());
            // SAFETY: the plug-in's out parameters.
            unsafe {
                (*oparams).authid = ptr;
                (*oparams).alen = len;
            }
        }
        if flags & SASL_CU_AUTHZID != 0 {
            let ptr = conn.username.publish(canonical.as_bytes());
            // SAFETY: as above.
            unsafe {
                (*oparams).user = ptr;
                (*oparams).ulen = len;
            }
        }
        if flags & SASL_CU_EXTERNALLY_VERIFIED == 0 || flags & SASL_CU_AUTHZID != 0 {
            // A store that fails fails the canonicalisation, temporarily (as in Cyrus).
            if flags & SASL_CU_AUTHID != 0
                && fill_properties(conn_ptr, &parts, &canonical, true, |_| false).is_err()
            {
                return SASL_FAIL;
            }
            if flags & SASL_CU_AUTHZID != 0
                && fill_properties(conn_ptr, &parts, &canonical, false, |_| false).is_err()
            {
                return SASL_FAIL;
            }
        }
        SASL_OK
    })
}

/// After a built-in mechanism's exchange, as Cyrus's canonicalisation step does for every
/// mechanism: fills the properties the application (or a plug-in) requested that have no
/// value yet, those of the authentication id (`*name`) for `authid` and those of the
/// authorization id (`name`, auxprop plug-ins asked with `SASL_AUXPROP_AUTHZID`) for
/// `authzid`. Runs before `SASL_CB_PROXY_POLICY`, which may read them; a store that fails
/// is the error (the exchange fails, temporarily).
///
/// # Safety
/// `conn_ptr` a live server connection whose exchange is running, not borrowed.
pub(crate) unsafe fn fill_requested_properties(
    conn_ptr: *mut sasl_conn_t,
    authid: &str,
    authzid: &str,
) -> Result<(), puresasl::StoreError> {
    // SAFETY: the caller's contract; the reference ends here.
    let Some(parts) = unsafe { conn_ptr.as_ref() }.and_then(crate::server::server_parts) else {
        return Ok(());
    };
    fill_properties(conn_ptr, &parts, authid, true, asked_by_exchange)?;
    fill_properties(conn_ptr, &parts, authzid, false, asked_by_exchange)
}

/// Whether `name` (`*property` or `property`) is one of the credentials every built-in
/// exchange has already asked the stores for: asking again would find nothing new.
fn asked_by_exchange(name: &str) -> bool {
    let bare = name.trim_start_matches('*');
    name.starts_with('*') && puresasl::auxprop::property::CREDENTIALS.contains(&bare)
}

/// Fills the requested properties of `user` that have no value yet: the authentication id's
/// (`*name`) or the authorization id's (`name`), from the store and the auxprop plug-ins.
fn fill_properties(
    conn_ptr: *mut sasl_conn_t,
    parts: &crate::server::ServerParts,
    user: &str,
    authid: bool,
    skip: fn(&str) -> bool,
) -> Result<(), puresasl::StoreError> {
    let wanted: Vec<String> = {
        // SAFETY: a live connection (its exchange is running); the reference ends here.
        let Some(conn) = (unsafe { conn_ptr.as_ref() }) else {
            return Ok(());
        };
        conn.propctx
            .entries
            .iter()
            .filter(|e| e.values.is_empty())
            .map(|e| e.name.to_string_lossy().into_owned())
            .filter(|n| n.starts_with('*') == authid && !skip(n))
            .collect()
    };
    if wanted.is_empty() {
        return Ok(());
    }
    let (name, realm) = parts.config.split_user(user);
    let option = {
        // SAFETY: a live connection; the reference ends here.
        let lists = unsafe { crate::utils::callback_lists(conn_ptr) };
        let owned: Vec<Vec<Callback>> = lists.iter().map(|l| l.entries()).collect();
        let lists: Vec<&[Callback]> = owned.iter().map(Vec::as_slice).collect();
        crate::callbacks::option(&lists, Some(&parts.global.file), "auxprop_plugin")
    };
    let names: Vec<&str> = wanted.iter().map(|n| n.trim_start_matches('*')).collect();
    // A store that fails fails the exchange (a temporary failure), as in Cyrus.
    let found = if authid {
        crate::plugins::connection_store(conn_ptr as usize, parts.global.store.clone(), option)
            .lookup_many(&name, &realm, &names)?
    } else {
        // Authorization-id properties: plug-ins are asked with SASL_AUXPROP_AUTHZID.
        crate::plugins::lookup_authzid(conn_ptr, &parts.global.store, &name, &realm, &names)?
    };
    // SAFETY: as above; no other reference to the connection exists during this one.
    let Some(conn) = (unsafe { conn_ptr.as_mut() }) else {
        return Ok(());
    };
    for (property, values) in wanted.iter().zip(found) {
        if values.is_empty() {
            continue;
        }
        if let Some(entry) = conn
            .propctx
            .entries
            .iter_mut()
            .find(|e| e.name.to_bytes() == property.as_bytes())
            && entry.values.is_empty()
        {
            entry.values = values
                .iter()
                .map(|v: &Secret| crate::handles::PropValue::new(v.expose()))
                .collect();
            conn.propctx.stale = true;
        }
    }
    Ok(())
}

/// `SASL_USERNAME`/`SASL_AUTHUSER` of a finished plug-in exchange (server or client).
pub(crate) fn user_prop(conn: &sasl_conn_t, authuser: bool) -> Option<String> {
    let Some(session) = conn.utils.server_mech() else {
        return crate::clientplug::user_prop(conn, authuser);
    };
    if session.state != State::Done && session.state != State::SentLast {
        return None;
    }
    let oparams = &session.oparams;
    let (ptr, len) = if authuser || oparams.user.is_null() {
        (oparams.authid, oparams.alen)
    } else {
        (oparams.user, oparams.ulen)
    };
    // SAFETY: the names canon_user stored (connection buffers, alive until dispose).
    let bytes = unsafe { crate::util::bytes(ptr, len) }.filter(|_| !ptr.is_null())?;
    Some(String::from_utf8_lossy(bytes).into_owned())
}

/// The security layer of a finished plug-in exchange (server or client): `None` when the
/// connection has no plug-in exchange, else the output or the plug-in's error code.
pub(crate) fn layer(
    conn: &mut sasl_conn_t,
    data: &[u8],
    encode: bool,
) -> Option<Result<Vec<u8>, c_int>> {
    let Some(session) = conn.utils.server_mech() else {
        return crate::clientplug::layer(conn, data, encode);
    };
    if session.state != State::Done {
        return Some(Err(SASL_NOTDONE));
    }
    let oparams = &session.oparams;
    Some(run_layer(
        session.context,
        if encode { oparams.encode } else { None },
        if encode { None } else { oparams.decode },
        oparams.maxoutbuf,
        data,
    ))
}

/// Runs a plug-in's `encode` or `decode` (whichever is given; neither: the data unchanged).
/// As in Cyrus, the functions get the mechanism's connection context, and input to encode
/// longer than `maxoutbuf` goes in `maxoutbuf`-sized pieces whose outputs are concatenated.
pub(crate) fn run_layer(
    context: *mut c_void,
    encode: Option<EncodeFn>,
    decode: Option<DecodeFn>,
    maxoutbuf: c_uint,
    data: &[u8],
) -> Result<Vec<u8>, c_int> {
    let function = match (encode, decode) {
        (Some(f), _) => Layer::Encode(f),
        (None, Some(f)) => Layer::Decode(f),
        (None, None) => return Ok(data.to_vec()),
    };
    let piece = match (&function, maxoutbuf) {
        (Layer::Encode(_), max) if max > 0 => max as usize,
        _ => data.len().max(1),
    };
    let mut output = Vec::new();
    for chunk in data.chunks(piece) {
        let len = c_uint::try_from(chunk.len()).map_err(|_| SASL_BADPARAM)?;
        let mut out: *const c_char = std::ptr::null();
        let mut outlen: c_uint = 0;
        let iov = crate::layer::iovec {
            iov_base: chunk.as_ptr().cast_mut().cast(),
            iov_len: chunk.len(),
        };
        // SAFETY: the plug-in's layer with the mechanism's context; the output is the
        // plug-in's until its next call, copied at once.
        let status = unsafe {
            match function {
                Layer::Encode(f) => f(
                    context,
                    (&raw const iov).cast(),
                    1,
                    &raw mut out,
                    &raw mut outlen,
                ),
                Layer::Decode(f) => f(
                    context,
                    chunk.as_ptr().cast(),
                    len,
                    &raw mut out,
                    &raw mut outlen,
                ),
            }
        };
        if status != SASL_OK {
            return Err(status);
        }
        // SAFETY: as above.
        output.extend_from_slice(unsafe { crate::util::bytes(out, outlen) }.unwrap_or_default());
    }
    Ok(output)
}

/// `sasl_out_params_t.encode`.
pub(crate) type EncodeFn = unsafe extern "C" fn(
    *mut c_void,
    *const c_void,
    c_uint,
    *mut *const c_char,
    *mut c_uint,
) -> c_int;
/// `sasl_out_params_t.decode`.
pub(crate) type DecodeFn = unsafe extern "C" fn(
    *mut c_void,
    *const c_char,
    c_uint,
    *mut *const c_char,
    *mut c_uint,
) -> c_int;

enum Layer {
    Encode(
        unsafe extern "C" fn(
            *mut c_void,
            *const c_void,
            c_uint,
            *mut *const c_char,
            *mut c_uint,
        ) -> c_int,
    ),
    Decode(
        unsafe extern "C" fn(
            *mut c_void,
            *const c_char,
            c_uint,
            *mut *const c_char,
            *mut c_uint,
        ) -> c_int,
    ),
}

/// The name of the connection's plug-in mechanism (`SASL_MECHNAME`).
pub(crate) fn mech_name(conn: &sasl_conn_t) -> Option<*const c_char> {
    conn.utils
        .server_mech()
        .map(|s| s.mech_name.as_ptr())
        .or_else(|| crate::clientplug::mech_name(conn))
}
