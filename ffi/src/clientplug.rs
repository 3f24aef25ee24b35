//! Client mechanism plug-ins (`sasl_client_add_plugin`, and the `sasl_client_plug_init` of
//! Cyrus's plug-in modules loaded at `sasl_client_init`): `sasl_client_start` chooses a
//! plug-in mechanism from the server's list when it is stronger (a larger `max_ssf`) than
//! every built-in one the list offers, or when no built-in one is offered, as Cyrus picks the
//! strongest; the plug-in then runs as Cyrus runs it (`mech_new`, `mech_step`, its own
//! `SASL_INTERACT` prompts, its security layer under `sasl_encode`/`sasl_decode`), and
//! `*mech`, `SASL_USERNAME`, `SASL_SSF` and `SASL_MAXOUTBUF` report it. Built-in mechanisms win
//! over a plug-in offering the same name. No lock and no reference to the connection is held
//! while the plug-in runs.

use std::ffi::{CStr, CString, c_char, c_int, c_uint, c_void};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use crate::callbacks::Callback;
use crate::consts::*;
use crate::handles::{Side, sasl_conn_t};
use crate::plugin_abi::{
    ClientPlugInit, sasl_client_params_t, sasl_client_plug_t, sasl_out_params_t, sasl_utils_t,
};
use crate::types::sasl_interact_t;
use crate::util::{conn, put};

/// `SASL_CLIENT_PLUG_VERSION`.
const SASL_CLIENT_PLUG_VERSION: c_int = 4;
const FEAT_SERVER_FIRST: c_uint = 0x0010;

/// A registered client mechanism (the plug-in keeps its description alive).
pub(crate) struct ClientMech {
    pub(crate) plugname: String,
    pub(crate) name: String,
    plug: usize,
}

impl ClientMech {
    pub(crate) fn plug(&self) -> &sasl_client_plug_t {
        // SAFETY: the description the plug-in's init returned, kept alive while registered
        // (Cyrus's contract); only read.
        unsafe { &*(self.plug as *const sasl_client_plug_t) }
    }
}

fn mechanisms() -> MutexGuard<'static, Vec<Arc<ClientMech>>> {
    static MECHS: OnceLock<Mutex<Vec<Arc<ClientMech>>>> = OnceLock::new();
    MECHS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The registered client mechanisms.
pub(crate) fn client_mechanisms() -> Vec<Arc<ClientMech>> {
    mechanisms().clone()
}

fn builtin(name: &str) -> Option<&'static puresasl::unstable::MechanismInfo> {
    puresasl::unstable::MECHANISMS
        .iter()
        .find(|info| info.name.eq_ignore_ascii_case(name))
}

/// Registers the mechanisms `init` describes (built-in names skipped and their global
/// contexts freed unless shared with a registered entry); the code and how many were added.
///
/// # Safety
/// `plugname` NUL-terminated; `init` a `sasl_client_plug_init_t`.
pub(crate) unsafe fn add_client(plugname: *const c_char, init: ClientPlugInit) -> (c_int, usize) {
    // SAFETY: NUL-terminated per the contract.
    let name = unsafe { crate::util::opt_string(plugname) }.unwrap_or_default();
    let negotiated = crate::plugins::negotiate_mechanisms(
        "client",
        &name,
        SASL_CLIENT_PLUG_VERSION,
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
        let mut registered = mechanisms();
        if builtin(&mech).is_some()
            || registered
                .iter()
                .any(|m| m.name.eq_ignore_ascii_case(&mech))
        {
            // SAFETY: a description of the plug-in's array.
            skipped.push(unsafe { ((*plug).mech_free, (*plug).glob_context) });
            continue;
        }
        // SAFETY: as above.
        kept_globals.push(unsafe { (*plug).glob_context } as usize);
        registered.push(Arc::new(ClientMech {
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

/// Forgets every client mechanism plug-in, calling each one's `mech_free` (Cyrus's
/// `sasl_client_done`).
pub(crate) fn release_all() {
    let released = std::mem::take(&mut *mechanisms());
    for mech in released {
        if let Some(free) = mech.plug().mech_free {
            // SAFETY: the plug-in's own clean-up, once per registered mechanism; no lock held.
            unsafe { free(mech.plug().glob_context, crate::utils::global_utils()) };
        }
    }
}

// ---- the connection's side ----

/// A plug-in exchange on a client connection.
pub(crate) struct ClientMechSession {
    mech: Arc<ClientMech>,
    context: *mut c_void,
    params: Box<sasl_client_params_t>,
    _strings: Vec<CString>,
    oparams: Box<sasl_out_params_t>,
    utils: *const sasl_utils_t,
    state: State,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// `sasl_client_start` chose it; the first step has not run (server first, or no room
    /// for an initial response).
    Started,
    Running,
    Done,
    Failed,
}

impl Drop for ClientMechSession {
    fn drop(&mut self) {
        if let Some(dispose) = self.mech.plug().mech_dispose
            && !self.context.is_null()
        {
            // SAFETY: the context mech_new made, disposed once; the utils outlive it.
            unsafe { dispose(self.context, self.utils) };
        }
    }
}

/// Whether `plug` meets `conn`'s security properties (Cyrus's client-side check).
fn permitted(conn: &sasl_conn_t, max_ssf: c_uint, security_flags: c_uint) -> bool {
    if conn.props.min_ssf > max_ssf.saturating_add(conn.external_ssf) {
        return false;
    }
    let mut wanted = conn.props.security_flags & 0xff;
    if conn.external_ssf > 1 && conn.external_ssf >= conn.props.min_ssf {
        wanted &= !(SASL_SEC_NOPLAINTEXT | SASL_SEC_NOACTIVE);
    }
    wanted & !security_flags == 0
}

/// The client plug-in mechanisms `conn` can use (for `sasl_listmech` on a client connection).
pub(crate) fn offered(conn: &sasl_conn_t) -> Vec<String> {
    client_mechanisms()
        .iter()
        .filter(|m| permitted(conn, m.plug().max_ssf, m.plug().security_flags))
        .map(|m| m.name.clone())
        .collect()
}

/// The plug-in mechanism `sasl_client_start` should run for the server's `list`, if any.
fn choose(conn: &sasl_conn_t, list: &str) -> Option<Arc<ClientMech>> {
    let plugins = client_mechanisms();
    if plugins.is_empty() {
        return None;
    }
    let (callbacks, global) = match &conn.side {
        Side::Client(side) => (conn.callbacks.entries(), side.global.entries()),
        Side::Server(_) => return None,
    };
    let lists: [&[Callback]; 2] = [&callbacks, &global];
    let allowed = crate::callbacks::option(&lists, None, "client_mech_list");
    let allowed = |name: &str| {
        allowed.as_ref().is_none_or(|l| {
            l.split_ascii_whitespace()
                .any(|w| w.eq_ignore_ascii_case(name))
        })
    };
    let offered: Vec<&str> = list
        .split(|c: char| c.is_ascii_whitespace() || c == ',')
        .filter(|n| !n.is_empty())
        .collect();
    let best_plugin = plugins
        .iter()
        .filter(|m| offered.iter().any(|o| o.eq_ignore_ascii_case(&m.name)))
        .filter(|m| allowed(&m.name))
        .filter(|m| permitted(conn, m.plug().max_ssf, m.plug().security_flags))
        .max_by_key(|m| m.plug().max_ssf)?;
    let best_builtin = offered
        .iter()
        .filter_map(|o| builtin(o))
        .filter(|info| !info.channel_binding || conn.channel_binding.is_some())
        .filter(|info| allowed(info.name))
        .filter(|info| permitted(conn, info.max_ssf, info.provides.bits()))
        .map(|info| info.max_ssf)
        .max();
    match best_builtin {
        Some(ssf) if ssf >= best_plugin.plug().max_ssf => None,
        _ => Some(best_plugin.clone()),
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

/// `sasl_idle` for the client plug-in mechanisms, as Cyrus's `client_idle`: each one with an
/// `idle` function is called with the connection and its parameters (NULL and NULL for
/// `sasl_idle(NULL)`); 1 as soon as one did work.
///
/// # Safety
/// `conn_ptr` NULL or a live client connection, not borrowed.
pub(crate) unsafe fn idle(conn_ptr: *mut sasl_conn_t) -> c_int {
    for mech in client_mechanisms() {
        let Some(idle) = mech.plug().idle else {
            continue;
        };
        let mut params = if conn_ptr.is_null() {
            None
        } else {
            // SAFETY: the caller's contract.
            match unsafe { client_params(conn_ptr) } {
                Some(params) => Some(params),
                None => return 0,
            }
        };
        let params_ptr = params
            .as_mut()
            .map_or(std::ptr::null_mut(), |(p, _)| &raw mut **p);
        // SAFETY: the plug-in's function with valid (or NULL) parameters; no lock or
        // reference held.
        if unsafe { idle(mech.plug().glob_context, conn_ptr.cast(), params_ptr) } != 0 {
            return 1;
        }
    }
    0
}

/// The client parameters for `conn` (and the strings they point to).
///
/// # Safety
/// `conn_ptr` a live client connection not borrowed elsewhere.
pub(crate) unsafe fn client_params(
    conn_ptr: *mut sasl_conn_t,
) -> Option<(Box<sasl_client_params_t>, Vec<CString>)> {
    // SAFETY: the caller's contract.
    let utils = unsafe { crate::utils::conn_utils(conn_ptr) };
    // SAFETY: as above; the reference ends in this function.
    let c = unsafe { conn_ptr.as_ref() }?;
    let strings = vec![
        c.service.clone(),
        c.fqdn.clone(),
        CString::new(crate::server::hostname()).unwrap_or_default(),
        c.iplocal.clone().unwrap_or_default(),
        c.ipremote.clone().unwrap_or_default(),
    ];
    let len = |s: &CString| c_uint::try_from(s.as_bytes().len()).unwrap_or(0);
    let opt = |s: &CString| {
        if s.as_bytes().is_empty() {
            std::ptr::null()
        } else {
            s.as_ptr()
        }
    };
    let params = Box::new(sasl_client_params_t {
        service: strings[0].as_ptr(),
        serverFQDN: strings[1].as_ptr(),
        clientFQDN: strings[2].as_ptr(),
        utils,
        prompt_supp: c.callbacks.as_ptr(),
        iplocalport: opt(&strings[3]),
        ipremoteport: opt(&strings[4]),
        servicelen: len(&strings[0]),
        slen: len(&strings[1]),
        clen: len(&strings[2]),
        iploclen: len(&strings[3]),
        ipremlen: len(&strings[4]),
        props: c.props,
        external_ssf: c.external_ssf,
        gss_creds: std::ptr::null(),
        cbinding: std::ptr::null(),
        http_request: std::ptr::null(),
        spare_ptr4: std::ptr::null_mut(),
        canon_user: Some(client_canon_user),
        spare_fptr1: None,
        cbindingdisp: 0,
        log_level: SASL_LOG_ERR,
        spare_int3: 0,
        flags: c.flags,
        param_version: 0,
    });
    Some((params, strings))
}

/// `cparams->canon_user`: the client's names canonicalised as Cyrus does on a client
/// ([`crate::interact::client_canonical`]), stored in the out parameters (`SASL_USERNAME`
/// reports them).
unsafe extern "C" fn client_canon_user(
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
        // SAFETY: `ulen` bytes, or a NUL-terminated string when 0.
        let name = unsafe {
            if ulen == 0 {
                CStr::from_ptr(user).to_bytes().to_vec()
            } else {
                std::slice::from_raw_parts(user.cast::<u8>(), ulen as usize).to_vec()
            }
        };
        let kind = match (flags & SASL_CU_AUTHID != 0, flags & SASL_CU_AUTHZID != 0) {
            (true, true) => puresasl::NameKind::AuthcidAndAuthzid,
            (false, true) => puresasl::NameKind::Authzid,
            _ => puresasl::NameKind::Authcid,
        };
        let (connection, global) = {
            let conn = conn!(conn_ptr);
            let Side::Client(side) = &conn.side else {
                return SASL_BADPARAM;
            };
            (conn.callbacks.entries(), side.global.entries())
        };
        // The application's callback and canon_user plug-ins run here: no reference held.
        // (A name that is not UTF-8 passes as given: the canonicalisation works on text.)
        let name = match std::str::from_utf8(&name) {
            Ok(text) => {
                match crate::interact::client_canonical(
                    conn_ptr,
                    [&connection, &global],
                    text,
                    kind,
                ) {
                    Ok(name) => name.into_bytes(),
                    Err(code) => return code,
                }
            }
            Err(_) => name,
        };
        let conn = conn!(conn_ptr);
        let len = c_uint::try_from(name.len()).unwrap_or(c_uint::MAX);
        if flags & SASL_CU_AUTHID != 0 {
            let ptr = conn.authuser.publish(&name);
            // SAFETY: the plug-in's out parameters.
            unsafe {
                (*oparams).authid = ptr;
                (*oparams).alen = len;
            }
        }
        if flags & SASL_CU_AUTHZID != 0 {
            let ptr = conn.username.publish(&name);
            // SAFETY: as above.
            unsafe {
                (*oparams).user = ptr;
                (*oparams).ulen = len;
            }
        }
        SASL_OK
    })
}

/// `sasl_client_start` for a plug-in mechanism: `None` when the core's built-in mechanisms
/// should run (any earlier plug-in exchange on the connection ends then), else the result.
///
/// # Safety
/// `conn_ptr` live and not borrowed; out-pointers NULL or writable; `prompt_need` NULL or
/// readable and writable.
pub(crate) unsafe fn client_start(
    conn_ptr: *mut sasl_conn_t,
    list: &str,
    prompt_need: *mut *mut sasl_interact_t,
    clientout: *mut *const c_char,
    clientoutlen: *mut c_uint,
    mech: *mut *const c_char,
) -> Option<c_int> {
    let conn = conn!(conn_ptr, None);
    // A start repeated after SASL_INTERACT carries on with the same mechanism, as in Cyrus.
    if let Some(session) = conn.utils.client_mech()
        && session.state == State::Running
        && !prompt_need.is_null()
        // SAFETY: readable per the contract.
        && !unsafe { *prompt_need }.is_null()
    {
        let name = session.mech.plug().mech_name;
        // SAFETY: out-pointer NULL or writable; the name is the plug-in's.
        unsafe { put(mech, name) };
        // SAFETY: the caller's contract.
        return Some(unsafe { step(conn_ptr, None, prompt_need, clientout, clientoutlen) });
    }
    drop(conn.utils.take_client_mech());
    let chosen = choose(conn, list)?;
    // SAFETY: a live connection, not borrowed.
    let (mut params, strings) = unsafe { client_params(conn_ptr) }?;
    let plug = chosen.plug();
    // SAFETY: out-pointer NULL or writable; the name is the plug-in's, alive while registered.
    unsafe { put(mech, plug.mech_name) };
    let Some(mech_new) = plug.mech_new else {
        return Some(SASL_BADPROT);
    };
    let utils = params.utils;
    let mut context: *mut c_void = std::ptr::null_mut();
    // SAFETY: the plug-in's mech_new with valid parameters; no lock or reference held.
    let status = unsafe { mech_new(plug.glob_context, &raw mut *params, &raw mut context) };
    let conn = conn!(conn_ptr, None);
    if status != SASL_OK {
        return Some(conn.error(status, format!("{}: mech_new failed", chosen.name)));
    }
    conn.ssf = 0;
    conn.utils.put_client_mech(Box::new(ClientMechSession {
        mech: chosen.clone(),
        context,
        params,
        _strings: strings,
        oparams: zeroed_oparams(),
        utils,
        state: State::Started,
    }));
    if plug.features & FEAT_SERVER_FIRST != 0 || clientout.is_null() {
        // The server speaks first (or the protocol has no initial response).
        return Some(SASL_CONTINUE);
    }
    // SAFETY: the caller's contract.
    Some(unsafe { step(conn_ptr, None, prompt_need, clientout, clientoutlen) })
}

/// `sasl_client_step` for a plug-in exchange: `None` when the connection has none.
///
/// # Safety
/// As [`client_start`].
pub(crate) unsafe fn client_step(
    conn_ptr: *mut sasl_conn_t,
    serverin: Option<&[u8]>,
    prompt_need: *mut *mut sasl_interact_t,
    clientout: *mut *const c_char,
    clientoutlen: *mut c_uint,
) -> Option<c_int> {
    conn!(conn_ptr, None).utils.client_mech()?;
    // SAFETY: the caller's contract.
    Some(unsafe { step(conn_ptr, serverin, prompt_need, clientout, clientoutlen) })
}

unsafe fn step(
    conn_ptr: *mut sasl_conn_t,
    serverin: Option<&[u8]>,
    prompt_need: *mut *mut sasl_interact_t,
    clientout: *mut *const c_char,
    clientoutlen: *mut c_uint,
) -> c_int {
    let conn = conn!(conn_ptr);
    // SAFETY: out-pointers NULL or writable.
    unsafe {
        put(clientout, std::ptr::null());
        put(clientoutlen, 0);
    }
    // The session leaves the connection while the plug-in runs (its boxes do not move).
    let Some(mut session) = conn.utils.take_client_mech() else {
        return SASL_BADPROT;
    };
    if matches!(session.state, State::Done | State::Failed) {
        conn.utils.put_client_mech(session);
        return conn.error(SASL_BADPROT, "the exchange is over");
    }
    let Some(mech_step) = session.mech.plug().mech_step else {
        conn.utils.put_client_mech(session);
        return SASL_BADPROT;
    };
    session.state = State::Running;
    let context = session.context;
    let params: *mut sasl_client_params_t = &raw mut *session.params;
    let oparams: *mut sasl_out_params_t = &raw mut *session.oparams;
    let input = serverin.map(<[u8]>::to_vec);
    let (data, len) = match &input {
        Some(bytes) => (
            bytes.as_ptr().cast::<c_char>(),
            c_uint::try_from(bytes.len()).unwrap_or(c_uint::MAX),
        ),
        None => (std::ptr::null(), 0),
    };
    let mut out: *const c_char = std::ptr::null();
    let mut outlen: c_uint = 0;
    let mut local_prompts: *mut sasl_interact_t = std::ptr::null_mut();
    let prompts = if prompt_need.is_null() {
        &raw mut local_prompts
    } else {
        prompt_need
    };
    // SAFETY: the plug-in's step with its context and pointers into the session's boxes; no
    // reference to the connection is held across the call.
    let status = unsafe {
        mech_step(
            context,
            params,
            data,
            len,
            prompts,
            &raw mut out,
            &raw mut outlen,
            oparams,
        )
    };
    // SAFETY: NULL or `outlen` bytes the plug-in owns until its next call.
    let output = unsafe { crate::util::bytes(out, outlen) }
        .filter(|_| !out.is_null())
        .map(|bytes| zeroize::Zeroizing::new(bytes.to_vec()));
    let conn = conn!(conn_ptr);
    session.state = match status {
        SASL_OK => State::Done,
        SASL_CONTINUE | SASL_INTERACT => State::Running,
        _ => State::Failed,
    };
    if status == SASL_OK {
        // SAFETY: filled by the plug-in.
        let (ssf, maxoutbuf) = unsafe { ((*oparams).mech_ssf, (*oparams).maxoutbuf) };
        conn.ssf = ssf;
        conn.maxoutbuf = if ssf > 0 {
            maxoutbuf
        } else {
            conn.props.maxbufsize
        };
    }
    conn.utils.put_client_mech(session);
    if let Some(data) = output
        && matches!(status, SASL_OK | SASL_CONTINUE)
    {
        let (ptr, len) = conn.output(&data);
        // SAFETY: out-pointers NULL or writable.
        unsafe {
            put(clientout, ptr);
            put(clientoutlen, len);
        }
    }
    match status {
        SASL_OK | SASL_CONTINUE | SASL_INTERACT => status,
        code => {
            if conn.detail_code == SASL_OK {
                return conn.error(code, "mechanism plug-in failed");
            }
            conn.detail_code = code;
            code
        }
    }
}

/// `SASL_USERNAME`/`SASL_AUTHUSER` of a finished client plug-in exchange.
pub(crate) fn user_prop(conn: &sasl_conn_t, authuser: bool) -> Option<String> {
    let session = conn.utils.client_mech()?;
    if session.state != State::Done {
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

/// The layer of a finished client plug-in exchange (see `mechplug::layer`).
pub(crate) fn layer(
    conn: &sasl_conn_t,
    data: &[u8],
    encode: bool,
) -> Option<Result<Vec<u8>, c_int>> {
    let session = conn.utils.client_mech()?;
    if session.state != State::Done {
        return Some(Err(SASL_NOTDONE));
    }
    let oparams = &session.oparams;
    Some(crate::mechplug::run_layer(
        session.context,
        if encode { oparams.encode } else { None },
        if encode { None } else { oparams.decode },
        oparams.maxoutbuf,
        data,
    ))
}

/// The name of the connection's client plug-in mechanism (`SASL_MECHNAME`).
pub(crate) fn mech_name(conn: &sasl_conn_t) -> Option<*const c_char> {
    conn.utils.client_mech().map(|s| s.mech.plug().mech_name)
}
