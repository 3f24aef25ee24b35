//! Connections: `sasl_server_*`, `sasl_client_*`, properties, `sasl_listmech`, the security
//! layer calls and `sasl_errdetail`. Every string handed back lives in the connection until
//! the next call on it (or until `sasl_dispose`).

#![allow(non_camel_case_types, reason = "the C names are the ABI")]

use std::ffi::{CStr, CString, c_char, c_int, c_uint, c_void};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, OnceLock};

use std::path::PathBuf;

use puresasl::pwcheck::{Chain, Settings};
use puresasl::server::ServerConfigBuilder;
use puresasl::{
    AuthorizationPolicy, CanonicalizeUser, ChannelBinding, ClientConfig, ClientSession, ClientStep,
    CredentialSource, Error, Identity, NameKind, SecurityFlags, SecurityProperties, ServerConfig,
    ServerSession, ServerStep, mech,
};

use crate::buffer::StableBuffer;
use crate::consts::*;
use crate::errors::code_of;
use crate::global::{
    Callback, CallbackList, CallbackLog, CheckpassCallback, ServerGlobal, find_callback, global,
    option,
};
use crate::props::propctx;
use crate::types::*;
use crate::util::{bytes, guard, nonnull, opt_string, put};

/// A connection (opaque to C).
pub struct sasl_conn {
    service: CString,
    fqdn: CString,
    user_realm: Option<CString>,
    iplocal: Option<CString>,
    ipremote: Option<CString>,
    callbacks: CallbackList,
    flags: c_uint,
    props: sasl_security_properties_t,
    external_ssf: sasl_ssf_t,
    auth_external: Option<CString>,
    channel_binding: Option<ChannelBinding>,
    /// `serverout`/`clientout` (valid until the next step; zeroed when replaced).
    out: StableBuffer,
    /// `sasl_encode`/`sasl_encodev` output (valid until the next call).
    encoded: StableBuffer,
    /// `sasl_decode` output (valid until the next call).
    decoded: StableBuffer,
    /// `SASL_USERNAME` (the address stays readable until `sasl_dispose`).
    username: StableBuffer,
    /// `SASL_AUTHUSER` (likewise).
    authuser: StableBuffer,
    /// `sasl_listmech`'s result (likewise; the contents change with the next call).
    mechlist: StableBuffer,
    ssf: sasl_ssf_t,
    maxoutbuf: c_uint,
    detail: String,
    detail_code: c_int,
    /// `sasl_errdetail`'s result (likewise).
    errdetail: StableBuffer,
    pub(crate) propctx: Box<propctx>,
    side: Side,
}

/// Cyrus's name for [`sasl_conn`].
pub type sasl_conn_t = sasl_conn;

enum Side {
    Server(Box<ServerSide>),
    Client(Box<ClientSide>),
}

enum Outcome {
    NotStarted,
    Running,
    Done,
    Failed,
}

struct ServerSide {
    global: Arc<ServerGlobal>,
    config: Arc<ServerConfig>,
    session: Option<ServerSession>,
    outcome: Outcome,
    sent_last: bool,
    /// Whether passwords are checked only against the store, so an unknown user is known.
    auxprop_only: bool,
    /// The result code of a failed `SASL_CB_CANON_USER` call in the current exchange
    /// (`SASL_OK` if none failed): the exchange fails with that code, as in Cyrus.
    canon_status: Arc<AtomicI32>,
}

struct ClientSide {
    global: Arc<CallbackList>,
    session: Option<ClientSession>,
    authcid: Option<String>,
    prompts: Vec<sasl_interact_t>,
    prompt_text: Vec<CString>,
}

impl sasl_conn {
    fn new(service: &str, fqdn: &str, callbacks: CallbackList, flags: c_uint, side: Side) -> Self {
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
            propctx: Box::new(propctx::default()),
            side,
        }
    }

    /// Records an error's detail for `sasl_errdetail` and returns the code.
    pub(crate) fn error(&mut self, code: c_int, detail: impl Into<String>) -> c_int {
        self.detail = detail.into();
        self.detail_code = code;
        code
    }

    fn fail(&mut self, error: &Error) -> c_int {
        let (code, detail) = code_of(error);
        self.error(code, detail)
    }

    /// Puts `data` in the output buffer (NUL-terminated) and returns its pointer and length.
    fn output(&mut self, data: &[u8]) -> (*const c_char, c_uint) {
        (
            self.out.publish(data),
            c_uint::try_from(data.len()).unwrap_or(c_uint::MAX),
        )
    }

    fn security_properties(&self) -> SecurityProperties {
        SecurityProperties {
            min_ssf: self.props.min_ssf,
            max_ssf: self.props.max_ssf,
            max_buf_size: self.props.maxbufsize,
            flags: SecurityFlags::from_bits(self.props.security_flags),
        }
    }

    fn user_realm_str(&self) -> Option<String> {
        self.user_realm
            .as_ref()
            .map(|r| r.to_string_lossy().into_owned())
    }

    /// The user name Cyrus reports for `identity`: the authzid if any, else the authcid, with
    /// `@realm` when the realm is not the default or `user_realm` is set.
    fn canonical_name(&self, identity: &Identity) -> String {
        if let Some(authzid) = &identity.authzid {
            return self.qualify(authzid);
        }
        let default_realm = self
            .user_realm_str()
            .unwrap_or_else(|| self.fqdn.to_string_lossy().into_owned());
        if identity.realm != default_realm || self.user_realm.is_some() {
            format!("{}@{}", identity.authcid, identity.realm)
        } else {
            identity.authcid.clone()
        }
    }

    fn qualify(&self, name: &str) -> String {
        let name = name.trim();
        match self.user_realm_str() {
            Some(realm) if !name.contains('@') => format!("{name}@{realm}"),
            _ => name.to_owned(),
        }
    }
}

fn cstring(text: &str) -> CString {
    CString::new(text.replace('\0', "")).unwrap_or_default()
}

/// The static, NUL-terminated name of a mechanism (valid for the life of the process).
fn static_mech_name(name: &str) -> *const c_char {
    static NAMES: OnceLock<Vec<CString>> = OnceLock::new();
    let names = NAMES.get_or_init(|| mech::MECHANISMS.iter().map(|m| cstring(m.name)).collect());
    mech::MECHANISMS
        .iter()
        .zip(names)
        .find(|(info, _)| info.name == name)
        .map_or(std::ptr::null(), |(_, c)| c.as_ptr())
}

/// Validates an `address;port` string as Cyrus does (numeric address, numeric port).
fn valid_ipport(text: &str) -> bool {
    let Some((address, port)) = text.rsplit_once(';').or_else(|| {
        // Cyrus also accepts the older `a.b.c.d:port` form for IPv4.
        text.rsplit_once(':').filter(|(a, _)| !a.contains(':'))
    }) else {
        return false;
    };
    address.parse::<std::net::IpAddr>().is_ok() && port.parse::<u16>().is_ok()
}

/// Borrows the connection behind a C pointer.
///
/// # Safety
/// `conn` is NULL or a pointer returned by `sasl_server_new`/`sasl_client_new` and not yet
/// disposed, used by one thread at a time.
unsafe fn conn_ref<'a>(conn: *mut sasl_conn_t) -> Option<&'a mut sasl_conn_t> {
    // SAFETY: per the contract above, a non-NULL pointer is a live, exclusively used Box.
    unsafe { conn.as_mut() }
}

/// The `SASL_CB_PROXY_POLICY` adapter; without the callback only the same user may be named.
struct ProxyPolicy {
    callback: Option<Callback>,
    conn: usize,
    user_realm: Option<String>,
}

impl AuthorizationPolicy for ProxyPolicy {
    fn authorize(&self, identity: &Identity, authzid: &str) -> bool {
        let Some(cb) = self.callback else {
            return false;
        };
        // SAFETY: PROXY_POLICY callbacks have the sasl_authorize_t prototype.
        let policy: sasl_authorize_t = unsafe { std::mem::transmute(cb.proc) };
        let Some(policy) = policy else {
            return false;
        };
        let requested = cstring(authzid);
        let auth = cstring(&format!("{}@{}", identity.authcid, identity.realm));
        let realm = self.user_realm.as_deref().map(cstring);
        let realm_ptr = realm.as_ref().map_or(std::ptr::null(), |r| r.as_ptr());
        let len = |s: &CString| c_uint::try_from(s.as_bytes().len()).unwrap_or(0);
        // SAFETY: valid strings with their lengths; the connection is the caller's own.
        let status = unsafe {
            policy(
                self.conn as *mut sasl_conn_t,
                cb.context,
                requested.as_ptr(),
                len(&requested),
                auth.as_ptr(),
                len(&auth),
                realm_ptr,
                realm.as_ref().map_or(0, len),
                std::ptr::null_mut(),
            )
        };
        status == SASL_OK
    }
}

/// The `SASL_CB_CANON_USER` adapter: the application's callback rewrites each name.
struct CanonUser {
    callback: Callback,
    conn: usize,
    user_realm: Option<String>,
    status: Arc<AtomicI32>,
}

/// Cyrus's `CANON_BUF_SIZE`: the room the callback gets for its output.
const CANON_BUF_SIZE: c_uint = 1024;

impl CanonicalizeUser for CanonUser {
    fn canonicalize(&self, name: &str, kind: NameKind) -> Result<String, Error> {
        let failed = |code: c_int| {
            self.status.store(code, Ordering::Relaxed);
            Err(Error::AuthenticationFailed)
        };
        // SAFETY: CANON_USER callbacks have the sasl_canon_user_t prototype.
        let canon: sasl_canon_user_t = unsafe { std::mem::transmute(self.callback.proc) };
        let Some(canon) = canon else {
            return Ok(name.to_owned());
        };
        let flags = match kind {
            NameKind::Authcid => SASL_CU_AUTHID,
            NameKind::Authzid => SASL_CU_AUTHZID,
            NameKind::AuthcidAndAuthzid => SASL_CU_AUTHID | SASL_CU_AUTHZID,
        };
        let input = cstring(name);
        let Ok(inlen) = c_uint::try_from(input.as_bytes().len()) else {
            return failed(SASL_BADPARAM);
        };
        let realm = self.user_realm.as_deref().map(cstring);
        let realm_ptr = realm.as_ref().map_or(std::ptr::null(), |r| r.as_ptr());
        // One spare byte, so a callback that NUL-terminates a full buffer stays inside it.
        let mut out = vec![0u8; CANON_BUF_SIZE as usize + 1];
        let mut out_len: c_uint = 0;
        // SAFETY: a NUL-terminated input of inlen bytes, a realm string or NULL, and an
        // output buffer of more than out_max bytes; the connection is the caller's own.
        let status = unsafe {
            canon(
                self.conn as *mut sasl_conn_t,
                self.callback.context,
                input.as_ptr(),
                inlen,
                flags,
                realm_ptr,
                out.as_mut_ptr().cast::<c_char>(),
                CANON_BUF_SIZE,
                &raw mut out_len,
            )
        };
        if status != SASL_OK {
            return failed(status);
        }
        let Some(output) = (out_len <= CANON_BUF_SIZE)
            .then(|| out.get(..out_len as usize))
            .flatten()
        else {
            return failed(SASL_BUFOVER);
        };
        match std::str::from_utf8(output) {
            Ok(text) => Ok(text.to_owned()),
            Err(_) => failed(SASL_BADPROT),
        }
    }
}

fn build_server_config(
    conn: &sasl_conn_t,
    global: &Arc<ServerGlobal>,
) -> Result<(ServerConfig, bool), c_int> {
    let (conn_cbs, global_cbs) = (conn.callbacks.entries(), global.callbacks.entries());
    let lists: [&[Callback]; 2] = [&conn_cbs, &global_cbs];
    let opt = |name: &str| option(&lists, Some(&global.file), name);
    let service = conn.service.to_string_lossy().into_owned();
    let log_level = opt("log_level")
        .and_then(|v| v.trim().parse::<c_int>().ok())
        .unwrap_or(SASL_LOG_ERR);
    let mut builder: ServerConfigBuilder =
        ServerConfig::builder(&service, &conn.fqdn.to_string_lossy())
            .store(global.store.clone())
            .server_secret(global.server_secret.clone())
            .decoys(global.decoys.clone())
            // Cyrus's DIGEST-MD5 accepts a digest-uri naming any host (clients that connect
            // by IP address send `smtp/127.0.0.1`); the service must still match.
            .digest_uri_any_host(true)
            .log(Arc::new(CallbackLog {
                lists: vec![conn.callbacks, global.callbacks],
                log_level,
            }))
            .authorization(Arc::new(ProxyPolicy {
                callback: find_callback(&lists, SASL_CB_PROXY_POLICY),
                conn: std::ptr::from_ref(conn) as usize,
                user_realm: conn.user_realm_str(),
            }));
    if let Some(realm) = conn.user_realm_str() {
        builder = builder.user_realm(&realm);
    }
    if let (Some(callback), Side::Server(side)) =
        (find_callback(&lists, SASL_CB_CANON_USER), &conn.side)
    {
        builder = builder.canonicalize_user(Arc::new(CanonUser {
            callback,
            conn: std::ptr::from_ref(conn) as usize,
            user_realm: conn.user_realm_str(),
            status: side.canon_status.clone(),
        }));
    }
    if let Some(list) = opt("mech_list") {
        // Whitespace-separated; unknown names (including "plain,") are silently dropped.
        let names: Vec<&str> = list
            .split_ascii_whitespace()
            .filter(|name| mech::find(name).is_some())
            .collect();
        builder = builder.mechanisms(names);
    }
    if let Some(iterations) = opt("scram_iteration_counter").and_then(|v| v.trim().parse().ok()) {
        builder = builder.scram_iterations(iterations);
    }
    let log = Arc::new(CallbackLog {
        lists: vec![conn.callbacks, global.callbacks],
        log_level,
    });
    let fqdn = conn.fqdn.to_string_lossy().into_owned();
    let user_realm = conn.user_realm_str();
    let mut settings = Settings::new(global.store.clone(), &service, user_realm.as_deref(), &fqdn);
    settings.decoys = global.decoys.clone();
    settings.saslauthd_path = opt("saslauthd_path").map(PathBuf::from);
    // Cyrus's documentation also spells it without the d.
    settings.authdaemond_path = opt("authdaemond_path")
        .or_else(|| opt("authdaemon_path"))
        .map(PathBuf::from);
    let pwcheck = opt("pwcheck_method").unwrap_or_else(|| "auxprop".to_owned());
    let mut chain = Chain::from_pwcheck_method(&pwcheck, &settings).log(log.clone());
    for method in chain.unknown_methods() {
        log.log_text(
            SASL_LOG_ERR,
            &format!("unsupported pwcheck_method {method}"),
        );
    }
    // Cyrus asks the application's own user database before the configured methods.
    if let Some(cb) = find_callback(&lists, SASL_CB_SERVER_USERDB_CHECKPASS) {
        chain.push_front(Arc::new(CheckpassCallback {
            callback: cb,
            conn: std::ptr::from_ref(conn) as usize,
        }));
    }
    let auxprop_only = chain.is_auxprop_only();
    // With the store alone, the core's own check runs (and its unknown-user decoy with it).
    if !auxprop_only {
        builder = builder.password_checker(Arc::new(chain));
    }
    builder
        .build()
        .map(|config| (config, auxprop_only))
        .map_err(|_| SASL_CONFIGERR)
}

impl CallbackLog {
    fn log_text(&self, level: c_int, message: &str) {
        use puresasl::LogSink;
        let level = match level {
            1 => puresasl::LogLevel::Error,
            2 => puresasl::LogLevel::Fail,
            3 => puresasl::LogLevel::Warn,
            4 => puresasl::LogLevel::Note,
            5 => puresasl::LogLevel::Debug,
            6 => puresasl::LogLevel::Trace,
            _ => puresasl::LogLevel::Pass,
        };
        self.log(level, message);
    }
}

/// Creates a server connection.
///
/// # Safety
/// Pointers as in Cyrus's `sasl.h`: strings NUL-terminated or NULL, `callbacks` NULL or a
/// terminated list, `pconn` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_server_new(
    service: *const c_char,
    server_fqdn: *const c_char,
    user_realm: *const c_char,
    iplocalport: *const c_char,
    ipremoteport: *const c_char,
    callbacks: *const sasl_callback_t,
    flags: c_uint,
    pconn: *mut *mut sasl_conn_t,
) -> c_int {
    guard!(SASL_FAIL, {
        nonnull!(pconn, service);
        // SAFETY: pconn is non-NULL and writable per the contract.
        unsafe { *pconn = std::ptr::null_mut() };
        let Some(server) = global().server.clone() else {
            return SASL_NOTINIT;
        };
        // SAFETY: the strings are NUL-terminated or NULL per the contract.
        let (service, fqdn, realm, local, remote) = unsafe {
            (
                opt_string(service).unwrap_or_default(),
                opt_string(server_fqdn),
                opt_string(user_realm),
                opt_string(iplocalport),
                opt_string(ipremoteport),
            )
        };
        for ip in [&local, &remote].into_iter().flatten() {
            if !valid_ipport(ip) {
                return SASL_BADPARAM;
            }
        }
        let fqdn = fqdn.unwrap_or_else(hostname);
        let callbacks = CallbackList::new(callbacks);
        let placeholder = Arc::new(match ServerConfig::builder(&service, &fqdn).build() {
            Ok(config) => config,
            Err(_) => return SASL_FAIL,
        });
        let mut conn = Box::new(sasl_conn_t::new(
            &service,
            &fqdn,
            callbacks,
            flags,
            Side::Server(Box::new(ServerSide {
                global: server.clone(),
                config: placeholder,
                session: None,
                outcome: Outcome::NotStarted,
                sent_last: false,
                auxprop_only: true,
                canon_status: Arc::new(AtomicI32::new(SASL_OK)),
            })),
        ));
        conn.user_realm = realm.filter(|r| !r.is_empty()).map(|r| cstring(&r));
        conn.iplocal = local.map(|s| cstring(&s));
        conn.ipremote = remote.map(|s| cstring(&s));
        let (config, auxprop_only) = match build_server_config(&conn, &server) {
            Ok(built) => built,
            Err(code) => return code,
        };
        if let Side::Server(side) = &mut conn.side {
            side.config = Arc::new(config);
            side.auxprop_only = auxprop_only;
        }
        // SAFETY: pconn is writable; ownership of the Box passes to the application until
        // sasl_dispose.
        unsafe { *pconn = Box::into_raw(conn) };
        SASL_OK
    })
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".to_owned())
}

/// Writes a server step's result to the C out-parameters.
///
/// # Safety
/// `serverout`/`serveroutlen` NULL or writable.
unsafe fn server_result(
    conn: &mut sasl_conn_t,
    result: Result<ServerStep, Error>,
    serverout: *mut *const c_char,
    serveroutlen: *mut c_uint,
) -> c_int {
    // SAFETY: (for every put below) the out-pointers are NULL or writable per the contract.
    unsafe {
        put(serverout, std::ptr::null());
        put(serveroutlen, 0);
    }
    let success_data = conn.flags & SASL_SUCCESS_DATA != 0;
    match result {
        Ok(ServerStep::Continue(challenge)) => {
            if let Side::Server(side) = &mut conn.side {
                side.outcome = Outcome::Running;
            }
            let (ptr, len) = conn.output(&challenge);
            // SAFETY: see above.
            unsafe {
                put(serverout, ptr);
                put(serveroutlen, len);
            }
            SASL_CONTINUE
        }
        Ok(ServerStep::Done {
            additional_data,
            identity: _,
        }) => {
            let mut code = SASL_OK;
            if let Side::Server(side) = &mut conn.side {
                side.outcome = Outcome::Done;
                if additional_data.is_some() && !success_data {
                    side.sent_last = true;
                    code = SASL_CONTINUE;
                }
            }
            if let Some(data) = additional_data {
                let (ptr, len) = conn.output(&data);
                // SAFETY: see above.
                unsafe {
                    put(serverout, ptr);
                    put(serveroutlen, len);
                }
            }
            if let Side::Server(side) = &conn.side {
                conn.ssf = side.session.as_ref().map_or(0, ServerSession::ssf);
                conn.maxoutbuf = side
                    .session
                    .as_ref()
                    .map_or(conn.props.maxbufsize, ServerSession::max_outbuf);
            }
            code
        }
        Err(error) => {
            let mut unknown_user = false;
            if let Side::Server(side) = &mut conn.side {
                side.outcome = Outcome::Failed;
                let canon_status = side.canon_status.load(Ordering::Relaxed);
                if canon_status != SASL_OK {
                    return conn.error(canon_status, "canon_user callback failed");
                }
                // Cyrus tells the application (not the peer) that the user does not exist.
                if error == Error::AuthenticationFailed
                    && side.auxprop_only
                    && let Some(user) = side
                        .session
                        .as_ref()
                        .and_then(ServerSession::attempted_user)
                {
                    unknown_user = !user_known(&side.global, &side.config, user);
                }
            }
            if unknown_user {
                return conn.error(SASL_NOUSER, "user not found");
            }
            conn.fail(&error)
        }
    }
}

/// Whether the store holds any credential of `user` (a store that fails counts as knowing
/// the user: the failure, not the name, is what the log should show).
pub(crate) fn user_known(global: &ServerGlobal, config: &ServerConfig, user: &str) -> bool {
    let (name, realm) = config.split_user(user);
    puresasl::credentials::CredentialView::new(global.store.as_ref(), &name, &realm)
        .exists()
        .unwrap_or(true)
}

/// Starts a server exchange with `mech` and the client's initial response, if any.
///
/// # Safety
/// `conn` from `sasl_server_new`; `mech` NUL-terminated; `clientin` NULL or `clientinlen`
/// bytes; out-pointers NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_server_start(
    conn: *mut sasl_conn_t,
    mech: *const c_char,
    clientin: *const c_char,
    clientinlen: c_uint,
    serverout: *mut *const c_char,
    serveroutlen: *mut c_uint,
) -> c_int {
    guard!(SASL_FAIL, {
        // SAFETY: per the contract.
        let Some(conn) = (unsafe { conn_ref(conn) }) else {
            return SASL_BADPARAM;
        };
        // SAFETY: the out-pointers are NULL or writable.
        unsafe {
            put(serverout, std::ptr::null());
            put(serveroutlen, 0);
        }
        if mech.is_null() {
            return conn.error(SASL_BADPARAM, "Parameter error: no mechanism");
        }
        // SAFETY: NUL-terminated per the contract.
        let mech = unsafe { opt_string(mech) }.unwrap_or_default();
        // SAFETY: clientin is NULL or holds clientinlen bytes.
        let initial = unsafe { bytes(clientin, clientinlen) };
        // No initial response is NULL; an empty one is a non-NULL pointer with length 0.
        let initial = if clientin.is_null() { None } else { initial };
        let props = conn.security_properties();
        let binding = conn.channel_binding.clone();
        let external_ssf = conn.external_ssf;
        let Side::Server(side) = &mut conn.side else {
            return conn.error(SASL_BADPARAM, "not a server connection");
        };
        let mut session = ServerSession::new(side.config.clone());
        session.set_security_properties(props);
        session.set_external_ssf(external_ssf);
        session.set_channel_binding(binding);
        side.sent_last = false;
        side.canon_status.store(SASL_OK, Ordering::Relaxed);
        let result = session.start(&mech, initial);
        side.session = Some(session);
        // SAFETY: out-pointers NULL or writable.
        unsafe { server_result(conn, result, serverout, serveroutlen) }
    })
}

/// Continues a server exchange with the client's answer.
///
/// # Safety
/// As `sasl_server_start`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_server_step(
    conn: *mut sasl_conn_t,
    clientin: *const c_char,
    clientinlen: c_uint,
    serverout: *mut *const c_char,
    serveroutlen: *mut c_uint,
) -> c_int {
    guard!(SASL_FAIL, {
        // SAFETY: per the contract.
        let Some(conn) = (unsafe { conn_ref(conn) }) else {
            return SASL_BADPARAM;
        };
        let Side::Server(side) = &mut conn.side else {
            return conn.error(SASL_BADPARAM, "not a server connection");
        };
        if side.sent_last {
            // The success data went out as a last challenge; its (empty) answer completes the
            // exchange, and the output parameters are left alone, as Cyrus does.
            side.sent_last = false;
            return SASL_OK;
        }
        // SAFETY: the out-pointers are NULL or writable.
        unsafe {
            put(serverout, std::ptr::null());
            put(serveroutlen, 0);
        }
        // SAFETY: clientin is NULL or holds clientinlen bytes.
        let Some(input) = (unsafe { bytes(clientin, clientinlen) }) else {
            return conn.error(SASL_BADPARAM, "Parameter error: clientin is NULL");
        };
        // A copy the application cannot change under us; it may hold a password.
        let input = zeroize::Zeroizing::new(input.to_vec());
        let Some(session) = side.session.as_mut() else {
            return conn.error(SASL_BADPROT, "sasl_server_step before sasl_server_start");
        };
        let result = session.step(&input);
        // SAFETY: out-pointers NULL or writable.
        unsafe { server_result(conn, result, serverout, serveroutlen) }
    })
}

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
        // SAFETY: per the contract.
        let Some(conn) = (unsafe { conn_ref(conn) }) else {
            return SASL_BADPARAM;
        };
        nonnull!(result);
        // SAFETY: NUL-terminated or NULL.
        let (prefix, sep, suffix) = unsafe {
            (
                opt_string(prefix).unwrap_or_default(),
                opt_string(sep).unwrap_or_else(|| " ".to_owned()),
                opt_string(suffix).unwrap_or_default(),
            )
        };
        let names: Vec<&str> = match &conn.side {
            Side::Server(side) => {
                let mut session = ServerSession::new(side.config.clone());
                session.set_security_properties(conn.security_properties());
                session.set_external_ssf(conn.external_ssf);
                session.set_channel_binding(conn.channel_binding.clone());
                session.mechanisms()
            }
            Side::Client(_) => mech::MECHANISMS
                .iter()
                .filter(|info| {
                    info.satisfies(SecurityFlags::from_bits(conn.props.security_flags))
                        && match &conn.channel_binding {
                            Some(binding) => info.channel_binding || !binding.required,
                            None => !info.channel_binding,
                        }
                })
                .map(|info| info.name)
                .collect(),
        };
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
        // SAFETY: per the contract.
        let Some(conn) = (unsafe { conn_ref(conn) }) else {
            return SASL_BADPARAM;
        };
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
                rebuild_server_config(conn)
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
                    kind: name,
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

fn rebuild_server_config(conn: &mut sasl_conn_t) -> c_int {
    let Side::Server(side) = &conn.side else {
        return SASL_OK;
    };
    let global = side.global.clone();
    match build_server_config(conn, &global) {
        Ok((config, auxprop_only)) => {
            if let Side::Server(side) = &mut conn.side {
                side.config = Arc::new(config);
                side.auxprop_only = auxprop_only;
            }
            SASL_OK
        }
        Err(code) => code,
    }
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
        // SAFETY: per the contract.
        let Some(conn) = (unsafe { conn_ref(conn) }) else {
            return SASL_BADPARAM;
        };
        let string = |s: &Option<CString>| s.as_ref().map(|s| s.as_ptr().cast::<c_void>());
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
                Side::Server(_) => Ok(string(&conn.user_realm).unwrap_or(std::ptr::null())),
            },
            SASL_IPLOCALPORT => string(&conn.iplocal).ok_or(SASL_NOTDONE),
            SASL_IPREMOTEPORT => string(&conn.ipremote).ok_or(SASL_NOTDONE),
            SASL_SERVICE => Ok(conn.service.as_ptr().cast()),
            SASL_SERVERFQDN => Ok(conn.fqdn.as_ptr().cast()),
            SASL_MECHNAME => {
                let name = match &conn.side {
                    Side::Server(side) => side.session.as_ref().and_then(ServerSession::mechanism),
                    Side::Client(side) => side.session.as_ref().and_then(ClientSession::mechanism),
                };
                name.map(|n| static_mech_name(n).cast()).ok_or(SASL_NOTDONE)
            }
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
            SASL_AUTH_EXTERNAL => Ok(string(&conn.auth_external).unwrap_or(std::ptr::null())),
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

fn user_prop(conn: &sasl_conn_t, authuser: bool) -> Option<String> {
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
        Side::Client(side) => {
            if side.session.as_ref().is_some_and(ClientSession::is_done) {
                side.authcid.clone()
            } else {
                None
            }
        }
    }
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
        // SAFETY: per the contract.
        let Some(conn) = (unsafe { conn_ref(conn) }) else {
            return std::ptr::null();
        };
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
        // SAFETY: per the contract.
        let Some(conn) = (unsafe { conn_ref(conn) }) else {
            return;
        };
        // SAFETY: NUL-terminated or NULL.
        let text = unsafe { opt_string(message) }.unwrap_or_default();
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
        conn.detail = text;
        if conn.detail_code == SASL_OK {
            conn.detail_code = SASL_FAIL;
        }
    })
}

/// Which way [`apply_layer`] goes.
#[derive(Clone, Copy)]
enum Direction {
    Encode,
    Decode,
}

/// The common part of `sasl_encode` and `sasl_decode`: applies the negotiated security layer
/// (a copy at SSF 0) of an authenticated connection and publishes the result, NUL-terminated,
/// in the connection's buffer for that direction (valid until the next call).
///
/// # Safety
/// `output` and `outputlen` are non-NULL and writable.
unsafe fn apply_layer(
    conn: &mut sasl_conn_t,
    data: &[u8],
    direction: Direction,
    output: *mut *const c_char,
    outputlen: *mut c_uint,
) -> c_int {
    // Only an authenticated connection has a security layer (or none) to apply. A client that
    // sent its last message may not have been told it is done, so any started client session
    // qualifies; its layer exists once negotiated.
    let result = match (&mut conn.side, direction) {
        (Side::Server(side), _) if !matches!(side.outcome, Outcome::Done) => None,
        (Side::Server(side), Direction::Encode) => side.session.as_mut().map(|s| s.encode(data)),
        (Side::Server(side), Direction::Decode) => side.session.as_mut().map(|s| s.decode(data)),
        (Side::Client(side), Direction::Encode) => side.session.as_mut().map(|s| s.encode(data)),
        (Side::Client(side), Direction::Decode) => side.session.as_mut().map(|s| s.decode(data)),
    };
    match result {
        None => conn.error(SASL_NOTDONE, "no authenticated session"),
        Some(Err(error)) => conn.fail(&error),
        Some(Ok(bytes)) => {
            let buffer = match direction {
                Direction::Encode => &mut conn.encoded,
                Direction::Decode => &mut conn.decoded,
            };
            let len = c_uint::try_from(bytes.len()).unwrap_or(c_uint::MAX);
            let ptr = buffer.publish(&bytes);
            // SAFETY: the caller checked both pointers non-NULL and writable.
            unsafe {
                *output = ptr;
                *outputlen = len;
            }
            SASL_OK
        }
    }
}

/// What `sasl_encode` and `sasl_encodev` share once they have the bytes: Cyrus's checks
/// (empty input, an application without security layers), then the layer.
///
/// # Safety
/// `output` and `outputlen` are non-NULL and writable.
unsafe fn encode_checked(
    conn: &mut sasl_conn_t,
    data: &[u8],
    output: *mut *const c_char,
    outputlen: *mut c_uint,
) -> c_int {
    if data.is_empty() {
        return conn.error(SASL_BADPARAM, "Parameter error: empty input");
    }
    if conn.props.maxbufsize == 0 {
        return conn.error(
            SASL_TOOWEAK,
            "called sasl_encode with application that does not support security layers",
        );
    }
    // SAFETY: the caller's contract.
    unsafe { apply_layer(conn, data, Direction::Encode, output, outputlen) }
}

/// Protects outgoing data with the negotiated security layer (a copy at SSF 0).
///
/// # Safety
/// `conn` live; `input` holds `inputlen` bytes; out-pointers writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_encode(
    conn: *mut sasl_conn_t,
    input: *const c_char,
    inputlen: c_uint,
    output: *mut *const c_char,
    outputlen: *mut c_uint,
) -> c_int {
    guard!(SASL_FAIL, {
        // SAFETY: per the contract.
        let Some(conn) = (unsafe { conn_ref(conn) }) else {
            return SASL_BADPARAM;
        };
        nonnull!(output, outputlen);
        // SAFETY: input holds inputlen bytes or is NULL.
        let Some(data) = (unsafe { bytes(input, inputlen) }) else {
            return conn.error(SASL_BADPARAM, "Parameter error: input is NULL");
        };
        // SAFETY: output and outputlen checked non-NULL, writable per the contract.
        unsafe { encode_checked(conn, data, output, outputlen) }
    })
}

/// Unwraps incoming data with the negotiated security layer (a copy at SSF 0).
///
/// # Safety
/// As `sasl_encode`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_decode(
    conn: *mut sasl_conn_t,
    input: *const c_char,
    inputlen: c_uint,
    output: *mut *const c_char,
    outputlen: *mut c_uint,
) -> c_int {
    guard!(SASL_FAIL, {
        // SAFETY: per the contract.
        let Some(conn) = (unsafe { conn_ref(conn) }) else {
            return SASL_BADPARAM;
        };
        nonnull!(output, outputlen);
        // SAFETY: input holds inputlen bytes or is NULL.
        let Some(data) = (unsafe { bytes(input, inputlen) }) else {
            return conn.error(SASL_BADPARAM, "Parameter error: input is NULL");
        };
        // SAFETY: output and outputlen checked non-NULL, writable per the contract.
        unsafe { apply_layer(conn, data, Direction::Decode, output, outputlen) }
    })
}

/// A C `struct iovec` (from the OS headers): `iov_len` bytes at `iov_base`.
#[repr(C)]
pub struct iovec {
    /// The bytes.
    pub iov_base: *mut c_void,
    /// Their number.
    pub iov_len: usize,
}

/// `sasl_encode` over the concatenation of `numiov` buffers (Cyrus's scatter form).
///
/// # Safety
/// `conn` live; `invec` `numiov` iovecs, each `iov_len` readable bytes; out-pointers writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_encodev(
    conn: *mut sasl_conn_t,
    invec: *const iovec,
    numiov: c_uint,
    output: *mut *const c_char,
    outputlen: *mut c_uint,
) -> c_int {
    guard!(SASL_FAIL, {
        // SAFETY: per the contract.
        let Some(conn) = (unsafe { conn_ref(conn) }) else {
            return SASL_BADPARAM;
        };
        nonnull!(output, outputlen);
        if invec.is_null() {
            return conn.error(SASL_BADPARAM, "Parameter error: invec is NULL");
        }
        // SAFETY: invec holds numiov iovecs per the contract.
        let vectors = unsafe { std::slice::from_raw_parts(invec, numiov as usize) };
        let mut data = Vec::new();
        for vector in vectors {
            if vector.iov_len == 0 {
                continue;
            }
            if vector.iov_base.is_null() {
                return conn.error(SASL_BADPARAM, "Parameter error: iov_base is NULL");
            }
            // SAFETY: iov_base holds iov_len readable bytes per the contract.
            data.extend_from_slice(unsafe {
                std::slice::from_raw_parts(vector.iov_base.cast::<u8>(), vector.iov_len)
            });
        }
        // SAFETY: output and outputlen checked non-NULL, writable per the contract.
        unsafe { encode_checked(conn, &data, output, outputlen) }
    })
}

/// APOP (RFC 1939) is not supported: returns `SASL_NOMECH` with that as the error detail, as
/// a Cyrus built without APOP does.
///
/// # Safety
/// `conn` NULL or live; the other pointers are not dereferenced.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_checkapop(
    conn: *mut sasl_conn_t,
    challenge: *const c_char,
    challen: c_uint,
    response: *const c_char,
    resplen: c_uint,
) -> c_int {
    guard!(SASL_FAIL, {
        let _ = (challenge, challen, response, resplen);
        // SAFETY: per the contract.
        match unsafe { conn_ref(conn) } {
            Some(conn) => conn.error(SASL_NOMECH, "APOP is not supported"),
            None => SASL_NOMECH,
        }
    })
}
/// Lets the library do background work between exchanges; there is none, so it returns 0.
///
/// # Safety
/// `conn` NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_idle(conn: *mut sasl_conn_t) -> c_int {
    guard!(0, {
        let _ = conn;
        0
    })
}

/// Writes a challenge `<random.time@fqdn>` (without `@fqdn` if `hostflag` is 0), NUL-terminated,
/// into `buf`; returns its length, or 0 if `maxlen` cannot hold the longest such string.
///
/// # Safety
/// `conn` NULL or live (needed when `hostflag` is set); `buf` writable for `maxlen` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_mkchal(
    conn: *mut sasl_conn_t,
    buf: *mut c_char,
    maxlen: c_uint,
    hostflag: c_uint,
) -> c_int {
    guard!(0, {
        if buf.is_null() {
            return 0;
        }
        // SAFETY: per the contract.
        let host = match (hostflag, unsafe { conn_ref(conn) }) {
            (0, _) => None,
            (_, Some(conn)) => Some(conn.fqdn.to_bytes().to_vec()),
            (_, None) => return 0,
        };
        // As Cyrus: room for "<" "." ">" NUL and two 20-digit numbers, plus "@host".
        let needed = 4 + 2 * 20 + host.as_ref().map_or(0, |h| h.len() + 1);
        if (maxlen as usize) < needed {
            return 0;
        }
        let mut random = [0u8; 8];
        puresasl::Random::fill(&puresasl::OsRandom, &mut random);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut text = format!("<{}.{}", u64::from_ne_bytes(random), now).into_bytes();
        if let Some(host) = host {
            text.push(b'@');
            text.extend_from_slice(&host);
        }
        text.extend_from_slice(b">\0");
        // SAFETY: buf is writable for maxlen >= needed >= text.len() bytes.
        unsafe { std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), text.len()) };
        c_int::try_from(text.len() - 1).unwrap_or(0)
    })
}

// ---------------------------------------------------------------------------------------
// Client side

/// The client's credentials, gathered from callbacks or prompts before the mechanism runs.
struct GatheredCredentials {
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
        // SAFETY: GETREALM callbacks have the sasl_getrealm_t prototype.
        let getrealm: sasl_getrealm_t = unsafe { std::mem::transmute(cb.proc) };
        let getrealm = getrealm?;
        let owned: Vec<CString> = offered.iter().map(|r| cstring(r)).collect();
        let mut list: Vec<*const c_char> = owned.iter().map(|r| r.as_ptr()).collect();
        list.push(std::ptr::null());
        let mut result: *const c_char = std::ptr::null();
        // SAFETY: a NULL-terminated array of valid strings, and a writable result.
        let status = unsafe { getrealm(cb.context, 0x4008, list.as_mut_ptr(), &mut result) };
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

enum Gathered<T> {
    Value(T),
    Prompt,
    Error(c_int),
}

/// Gets a simple client value (USER, AUTHNAME): a filled prompt, else the callback, else a
/// prompt.
///
/// # Safety
/// `conn_ptr` is the connection; `answers` are the application's filled prompts.
unsafe fn simple_value(
    lists: &[&[Callback]],
    answers: &[(u64, zeroize::Zeroizing<Vec<u8>>)],
    id: std::ffi::c_ulong,
) -> Gathered<String> {
    if let Some((_, value)) = answers.iter().find(|(i, _)| *i == id) {
        return Gathered::Value(String::from_utf8_lossy(value).into_owned());
    }
    let Some(cb) = find_callback(lists, id) else {
        return Gathered::Prompt;
    };
    // SAFETY: USER/AUTHNAME callbacks have the sasl_getsimple_t prototype.
    let getsimple: sasl_getsimple_t = unsafe { std::mem::transmute(cb.proc) };
    let Some(getsimple) = getsimple else {
        return Gathered::Prompt;
    };
    let mut result: *const c_char = std::ptr::null();
    let mut len: c_uint = 0;
    let id_int = c_int::try_from(id).unwrap_or(0);
    // SAFETY: valid out-pointers; the result belongs to the application.
    let status = unsafe { getsimple(cb.context, id_int, &mut result, &mut len) };
    if status != SASL_OK {
        return Gathered::Error(status);
    }
    if result.is_null() {
        return Gathered::Value(String::new());
    }
    // Some applications leave len at 0 and rely on the NUL.
    let value = if len > 0 {
        // SAFETY: the callback promises len bytes.
        unsafe { bytes(result, len) }.map(|b| String::from_utf8_lossy(b).into_owned())
    } else {
        // SAFETY: NUL-terminated.
        unsafe { opt_string(result) }
    };
    Gathered::Value(value.unwrap_or_default())
}

/// Gets the password: a filled prompt, else the PASS callback, else a prompt.
///
/// # Safety
/// `conn_ptr` is the live connection passed to the callback.
unsafe fn password_value(
    conn_ptr: *mut sasl_conn_t,
    lists: &[&[Callback]],
    answers: &[(u64, zeroize::Zeroizing<Vec<u8>>)],
) -> Gathered<puresasl::Secret> {
    if let Some((_, value)) = answers.iter().find(|(i, _)| *i == SASL_CB_PASS) {
        return Gathered::Value(puresasl::Secret::from(value.as_slice()));
    }
    let Some(cb) = find_callback(lists, SASL_CB_PASS) else {
        return Gathered::Prompt;
    };
    // SAFETY: PASS callbacks have the sasl_getsecret_t prototype.
    let getsecret: sasl_getsecret_t = unsafe { std::mem::transmute(cb.proc) };
    let Some(getsecret) = getsecret else {
        return Gathered::Prompt;
    };
    let mut secret: *mut sasl_secret_t = std::ptr::null_mut();
    // SAFETY: valid out-pointer; the secret stays the application's (never freed here).
    let status = unsafe { getsecret(conn_ptr, cb.context, 0x4004, &mut secret) };
    if status != SASL_OK {
        return Gathered::Error(status);
    }
    if secret.is_null() {
        return Gathered::Error(SASL_BADPARAM);
    }
    // SAFETY: a sasl_secret_t followed by `len` bytes of data, per the callback contract.
    let value = unsafe {
        let len = usize::try_from((*secret).len).unwrap_or(0).min(1 << 16);
        std::slice::from_raw_parts(std::ptr::addr_of!((*secret).data).cast::<u8>(), len).to_vec()
    };
    Gathered::Value(puresasl::Secret::new(value))
}

/// Reads the answers the application filled into the prompts of the last `SASL_INTERACT`.
///
/// # Safety
/// `prompt_need` NULL or readable; the prompts are this connection's.
unsafe fn prompt_answers(
    side: &ClientSide,
    prompt_need: *mut *mut sasl_interact_t,
) -> Vec<(u64, zeroize::Zeroizing<Vec<u8>>)> {
    let mut answers = Vec::new();
    if prompt_need.is_null() {
        return answers;
    }
    // SAFETY: readable per the contract.
    let given = unsafe { *prompt_need };
    if given.is_null() || given.cast_const() != side.prompts.as_ptr() {
        return answers;
    }
    for prompt in &side.prompts {
        if prompt.id == SASL_CB_LIST_END {
            break;
        }
        // SAFETY: the application stored `len` readable bytes at `result` (or NULL).
        if let Some(value) = unsafe { bytes(prompt.result.cast(), prompt.len) } {
            let value = if prompt.len == 0 && !prompt.result.is_null() {
                // SAFETY: with len 0, a non-NULL result is a NUL-terminated string.
                unsafe { CStr::from_ptr(prompt.result.cast()) }
                    .to_bytes()
                    .to_vec()
            } else {
                value.to_vec()
            };
            answers.push((prompt.id, value.into()));
        }
    }
    answers
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
        // SAFETY: per the contract.
        let Some(conn) = (unsafe { conn_ref(conn) }) else {
            return SASL_BADPARAM;
        };
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
        let client_mechs = option(&lists, None, "client_mech_list");
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
        // SAFETY: per the contract.
        let Some(conn) = (unsafe { conn_ref(conn) }) else {
            return SASL_BADPARAM;
        };
        // SAFETY: out-pointers NULL or writable.
        unsafe {
            put(clientout, std::ptr::null());
            put(clientoutlen, 0);
        }
        // SAFETY: NULL or serverinlen bytes.
        let Some(input) = (unsafe { bytes(serverin, serverinlen) }) else {
            return conn.error(SASL_BADPARAM, "Parameter error: serverin is NULL");
        };
        // A copy the application cannot change under us; it may hold a password.
        let input = zeroize::Zeroizing::new(input.to_vec());
        let Side::Client(side) = &mut conn.side else {
            return conn.error(SASL_BADPARAM, "not a client connection");
        };
        let Some(session) = side.session.as_mut() else {
            return conn.error(SASL_BADPROT, "sasl_client_step before sasl_client_start");
        };
        let result = session.step(&input);
        let (ssf, maxoutbuf) = (session.ssf(), session.max_outbuf());
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

/// The server-global state and store of a server connection (for checkpass, setpass...).
pub(crate) fn server_parts(conn: &sasl_conn_t) -> Option<(Arc<ServerGlobal>, Arc<ServerConfig>)> {
    match &conn.side {
        Side::Server(side) => Some((side.global.clone(), side.config.clone())),
        Side::Client(_) => None,
    }
}

/// Runs `name` through the connection's canonicalisation (the `CANON_USER` callback) as
/// `sasl_checkpass` and `sasl_user_exists` do; on failure, the callback's own result code.
pub(crate) fn canonical_user(conn: &sasl_conn_t, name: &str) -> Result<String, c_int> {
    let Side::Server(side) = &conn.side else {
        return Err(SASL_BADPARAM);
    };
    side.canon_status.store(SASL_OK, Ordering::Relaxed);
    side.config
        .canonical_user(name, NameKind::AuthcidAndAuthzid)
        .map_err(
            |error| match side.canon_status.swap(SASL_OK, Ordering::Relaxed) {
                SASL_OK => crate::errors::code_of(&error).0,
                code => code,
            },
        )
}

/// The callbacks of a connection (for option lookups).
pub(crate) fn conn_callbacks(conn: &sasl_conn_t) -> Vec<Callback> {
    conn.callbacks.entries()
}

/// `user_realm` of a connection.
pub(crate) fn conn_user_realm(conn: &sasl_conn_t) -> Option<String> {
    conn.user_realm_str()
}

/// Borrows a connection (for the other modules).
///
/// # Safety
/// As `conn_ref`.
pub(crate) unsafe fn conn_mut<'a>(conn: *mut sasl_conn_t) -> Option<&'a mut sasl_conn_t> {
    // SAFETY: forwarded contract.
    unsafe { conn_ref(conn) }
}
