//! The server calls: `sasl_server_new`, `sasl_server_start`, `sasl_server_step`, and the
//! configuration each server connection is built from (`<app>.conf`, GETOPT, the pwcheck chain).

#![allow(non_camel_case_types, reason = "the C names are the ABI")]

use std::ffi::{c_char, c_int, c_uint};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

use puresasl::crypt::PasswordFormat;
use puresasl::pwcheck::{Chain, Settings};
use puresasl::server::ServerConfigBuilder;
use puresasl::{Error, Identity, NameKind, ServerConfig, ServerSession, ServerStep, unstable};

use crate::callbacks::{
    Callback, CallbackList, CallbackLog, CanonUser, CheckpassCallback, ProxyPolicy, find_callback,
    option,
};
use crate::conn::{cstring, valid_ipport};
use crate::consts::*;
use crate::global::{ServerGlobal, global};
use crate::handles::{Outcome, ServerSide, Side, sasl_conn_t};
use crate::known_users::RememberingStore;
use crate::types::sasl_callback_t;
use crate::util::{bytes, conn, guard, nonnull, opt_string, put};

/// What a server configuration is built from, copied out of the connection so that no
/// reference to it is held while GETOPT and LOG callbacks run (they may call back into the
/// library on this connection).
pub(crate) struct ServerSnapshot {
    pub(crate) conn: usize,
    pub(crate) service: String,
    pub(crate) fqdn: String,
    pub(crate) user_realm: Option<String>,
    pub(crate) callbacks: CallbackList,
    pub(crate) canon_status: Arc<AtomicI32>,
    pub(crate) policy_status: Arc<AtomicI32>,
    pub(crate) global: Arc<ServerGlobal>,
}

impl ServerSnapshot {
    /// The snapshot of a server connection (`None` for a client).
    pub(crate) fn of(conn: &sasl_conn_t) -> Option<ServerSnapshot> {
        let Side::Server(side) = &conn.side else {
            return None;
        };
        Some(ServerSnapshot {
            conn: std::ptr::from_ref(conn) as usize,
            service: conn.service.to_string_lossy().into_owned(),
            fqdn: conn.fqdn.to_string_lossy().into_owned(),
            user_realm: conn.user_realm_str(),
            callbacks: conn.callbacks,
            canon_status: side.canon_status.clone(),
            policy_status: side.policy_status.clone(),
            global: side.global.clone(),
        })
    }
}

/// A server connection's configuration and what its failures are judged by.
pub(crate) struct BuiltServer {
    pub(crate) config: ServerConfig,
    /// Whether passwords are checked against the store alone (so an unknown user is known
    /// to be unknown).
    pub(crate) auxprop_only: bool,
    /// The configuration's store, remembering what the exchange's lookup found.
    pub(crate) lookups: Arc<RememberingStore>,
}

impl BuiltServer {
    /// Puts the configuration into the connection's server side.
    fn install(self, side: &mut ServerSide) {
        side.config = Arc::new(self.config);
        side.auxprop_only = self.auxprop_only;
        side.lookups = Some(self.lookups);
    }
}

/// Builds the configuration of a server connection: `<app>.conf` and GETOPT options, the
/// mechanism list, the application's callbacks, the `pwcheck_method` chain.
pub(crate) fn build_server_config(conn: &ServerSnapshot) -> Result<BuiltServer, c_int> {
    let global = &conn.global;
    let (conn_cbs, global_cbs) = (conn.callbacks.entries(), global.callbacks.entries());
    let lists: [&[Callback]; 2] = [&conn_cbs, &global_cbs];
    let opt = |name: &str| option(&lists, Some(&global.file), name);
    let service = conn.service.clone();
    let log_level = opt("log_level")
        .and_then(|v| v.trim().parse::<c_int>().ok())
        .unwrap_or(SASL_LOG_ERR);
    // The built-in stores (the options naming them read at each lookup, with this
    // connection's GETOPT), with the registered auxprop plug-ins when there are any.
    let lookups = RememberingStore::new(crate::plugins::connection_store(
        conn.conn,
        global.connection_store(conn.callbacks),
        opt("auxprop_plugin"),
    ));
    let store: Arc<dyn puresasl::Auxprop> = lookups.clone();
    let mut builder: ServerConfigBuilder = ServerConfig::builder(&service, &conn.fqdn)
        .store(store.clone())
        .server_secret(global.server_secret.duplicate())
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
            conn: conn.conn,
            user_realm: conn.user_realm.clone(),
            status: conn.policy_status.clone(),
        }));
    if let Some(realm) = &conn.user_realm {
        builder = builder.user_realm(realm);
    }
    let app_canon = find_callback(&lists, SASL_CB_CANON_USER).map(|callback| {
        Arc::new(CanonUser {
            callback,
            conn: conn.conn,
            user_realm: conn.user_realm.clone(),
            status: conn.canon_status.clone(),
        }) as Arc<dyn puresasl::CanonicalizeUser>
    });
    // A canon_user plug-in named by canon_user_plugin runs after the application's callback.
    if let Some(canon) = crate::plugins::connection_canon(
        conn.conn,
        app_canon.clone(),
        opt("canon_user_plugin"),
        false,
    )
    .or(app_canon)
    {
        builder = builder.canonicalize_user(canon);
    }
    if let Some(list) = opt("mech_list") {
        // Whitespace-separated; unknown names (including "plain,") are silently dropped.
        let names: Vec<&str> = list
            .split_ascii_whitespace()
            .filter(|name| unstable::find(name).is_some())
            .collect();
        builder = builder.mechanisms(names);
    }
    if let Some(iterations) = opt("scram_iteration_counter").and_then(|v| v.trim().parse().ok()) {
        builder = builder.scram_iterations(iterations);
    }
    // `password_format: crypt`: userPassword holds crypt(3) hashes (or Dovecot {SCHEME}
    // values). An unknown value is a configuration error, never "plaintext": a typo must not
    // turn hashes into passwords.
    if let Some(format) = opt("password_format") {
        match format.trim().parse::<PasswordFormat>() {
            Ok(format) => builder = builder.password_format(format),
            Err(error) => {
                CallbackLog {
                    lists: vec![conn.callbacks, global.callbacks],
                    log_level,
                }
                .log_text(SASL_LOG_ERR, &format!("password_format: {error}"));
                return Err(SASL_CONFIGERR);
            }
        }
    }
    let log = Arc::new(CallbackLog {
        lists: vec![conn.callbacks, global.callbacks],
        log_level,
    });
    let mut settings = Settings::new(store, &service, conn.user_realm.as_deref(), &conn.fqdn);
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
            conn: conn.conn,
        }));
    }
    let auxprop_only = chain.is_auxprop_only();
    // With the store alone, the core's own check runs (and its unknown-user decoy with it).
    if !auxprop_only {
        builder = builder.password_checker(Arc::new(chain));
    }
    builder
        .build()
        .map(|config| BuiltServer {
            config,
            auxprop_only,
            lookups,
        })
        .map_err(|_| SASL_CONFIGERR)
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
        // Replaced below by the configuration built from the options and callbacks.
        let placeholder = Arc::new(
            match ServerConfig::builder(&service, &fqdn)
                .store(server.store.clone())
                // Not a fresh random secret: a getrandom per connection, for nothing.
                .server_secret(server.server_secret.duplicate())
                .build()
            {
                Ok(config) => config,
                Err(_) => return SASL_FAIL,
            },
        );
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
                lookups: None,
                canon_status: Arc::new(AtomicI32::new(SASL_OK)),
                policy_status: Arc::new(AtomicI32::new(SASL_OK)),
            })),
        ));
        conn.user_realm = realm.filter(|r| !r.is_empty()).map(|r| cstring(&r));
        conn.iplocal = local.map(|s| cstring(&s));
        conn.ipremote = remote.map(|s| cstring(&s));
        let Some(snapshot) = ServerSnapshot::of(&conn) else {
            return SASL_FAIL;
        };
        let built = match build_server_config(&snapshot) {
            Ok(built) => built,
            Err(code) => return code,
        };
        if let Side::Server(side) = &mut conn.side {
            built.install(side);
        }
        // SAFETY: pconn is writable; ownership of the Box passes to the application until
        // sasl_dispose.
        unsafe { *pconn = Box::into_raw(conn) };
        SASL_OK
    })
}

/// The authentication identity as Cyrus names it (`oparams.authid`): the canonical name, with
/// the user realm appended when it has no realm of its own.
pub(crate) fn cyrus_authid(identity: &Identity, user_realm: Option<&str>) -> String {
    match user_realm {
        Some(realm) if !identity.canonical.contains('@') => {
            format!("{}@{realm}", identity.canonical)
        }
        _ => identity.canonical.clone(),
    }
}

pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".to_owned())
}

/// Writes a server step's result to the C out-parameters.
///
/// # Safety
/// `serverout`/`serveroutlen` NULL or writable.
pub(crate) unsafe fn server_result(
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
                let policy_status = side.policy_status.load(Ordering::Relaxed);
                if policy_status != SASL_OK {
                    return conn.error(
                        policy_status,
                        if policy_status == SASL_FAIL {
                            "the authorization identity's properties could not be read"
                        } else {
                            "proxy policy callback refused"
                        },
                    );
                }
                // Cyrus tells the application (not the peer) that the user does not exist.
                if error == Error::AuthenticationFailed
                    && side.auxprop_only
                    && let Some(user) = side
                        .session
                        .as_ref()
                        .and_then(ServerSession::attempted_user)
                {
                    unknown_user = !user_known(side, user);
                }
            }
            if unknown_user {
                return conn.error(SASL_NOUSER, "user not found");
            }
            conn.fail(&error)
        }
    }
}

/// Whether the store holds any credential of `user`: what the exchange's own lookup found,
/// else (no lookup of that user happened) the store asked again. A store that fails counts
/// as knowing the user: the failure, not the name, is what the log should show. The
/// application is not asked for options here.
fn user_known(side: &ServerSide, user: &str) -> bool {
    let (name, realm) = side.config.split_user(user);
    if let Some(known) = side.lookups.as_ref().and_then(|l| l.known(&name, &realm)) {
        return known;
    }
    // Auxprop plug-ins cannot be asked outside an exchange: their users count as known.
    if crate::plugins::any_auxprop() {
        return true;
    }
    let store = side.global.configured.opened();
    puresasl::credentials::CredentialView::new(store.as_ref(), &name, &realm)
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
        let conn_ptr = conn;
        let conn = conn!(conn);
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
        // A mechanism of a plug-in (built-in names never reach it).
        // SAFETY: the export's contract; no reference to the connection is used across it.
        if let Some(code) = unsafe {
            crate::mechplug::server_start(conn_ptr, &mech, initial, serverout, serveroutlen)
        } {
            return code;
        }
        let conn = conn!(conn_ptr);
        let props = conn.security_properties();
        let binding = conn.channel_binding.clone();
        let external_ssf = conn.external_ssf;
        let external = conn
            .auth_external
            .as_ref()
            .map(|id| id.to_string_lossy().into_owned());
        // An earlier exchange's layer goes with its session (even when this one is refused
        // at once); so does its strength.
        conn.ssf = 0;
        let Side::Server(side) = &mut conn.side else {
            return conn.error(SASL_BADPARAM, "not a server connection");
        };
        let mut session = ServerSession::new(side.config.clone());
        session.set_security_properties(props);
        session.set_external_ssf(external_ssf);
        session.set_channel_binding(binding);
        session.set_external_identity(external.clone());
        if let Some((code, message)) = refusal(&session, &mech, external_ssf) {
            side.session = None;
            side.outcome = Outcome::Failed;
            return conn.error(code, &message);
        }
        side.session = None;
        side.sent_last = false;
        side.canon_status.store(SASL_OK, Ordering::Relaxed);
        side.policy_status.store(SASL_OK, Ordering::Relaxed);
        // The exchange calls the application (CANON_USER, PROXY_POLICY, CHECKPASS, LOG), which
        // may call back into the library on this connection: no reference to it is held.
        let result = session.start(&mech, initial);
        let conn = conn!(conn_ptr);
        if let Side::Server(side) = &mut conn.side {
            side.session = Some(session);
        }
        // Cyrus's EXTERNAL refuses an external identity "anonymous" under noanonymous with
        // SASL_NOAUTHZ (not the policy's SASL_BADAUTH).
        if result == Err(Error::AuthorizationFailed)
            && mech.eq_ignore_ascii_case("EXTERNAL")
            && external.as_deref() == Some("anonymous")
            && props.flags.contains(puresasl::SecurityFlags::NOANONYMOUS)
        {
            if let Side::Server(side) = &mut conn.side {
                side.outcome = Outcome::Failed;
            }
            return conn.error(SASL_NOAUTHZ, "anonymous login not allowed");
        }
        // SAFETY: out-pointers NULL or writable.
        unsafe { server_result(conn, result, serverout, serveroutlen) }
    })
}

/// Why `sasl_server_start` refuses `name`, with Cyrus's codes (`lib/server.c`,
/// `mech_permitted`): `SASL_NOMECH` for a mechanism not in `mech_list` (or unknown),
/// `SASL_TOOWEAK` for one whose security layer (with the external one) is below `min_ssf`,
/// `SASL_ENCRYPT` for one that `noplaintext` excludes, `SASL_NOMECH` for any other missing
/// flag or an unavailable mechanism (EXTERNAL without `SASL_AUTH_EXTERNAL`). `None` if the
/// session offers it.
fn refusal(session: &ServerSession, name: &str, external_ssf: u32) -> Option<(c_int, String)> {
    if session
        .mechanisms()
        .iter()
        .any(|offered| offered.eq_ignore_ascii_case(name))
    {
        return None;
    }
    let base = name
        .get(..name.len().saturating_sub(5))
        .filter(|_| name.to_ascii_uppercase().ends_with("-PLUS"))
        .unwrap_or(name);
    let listed = session
        .config()
        .mechanism_names()
        .iter()
        .any(|listed| listed.eq_ignore_ascii_case(base));
    let Some(info) = unstable::find(name).filter(|_| listed) else {
        return Some((SASL_NOMECH, format!("Couldn't find mech {name}")));
    };
    let props = session.security_properties();
    if info.max_ssf.saturating_add(external_ssf) < props.min_ssf {
        return Some((SASL_TOOWEAK, format!("mech {} is too weak", info.name)));
    }
    let mut required = props.flags.bits();
    if props.min_ssf <= external_ssf && external_ssf > 1 {
        required &= !SASL_SEC_NOPLAINTEXT;
    }
    let missing = required & !info.provides.bits() & !SASL_SEC_PASS_CREDENTIALS;
    if missing & SASL_SEC_NOPLAINTEXT != 0 {
        return Some((
            SASL_ENCRYPT,
            "security flags do not match required".to_owned(),
        ));
    }
    if missing != 0 {
        return Some((
            SASL_NOMECH,
            "security flags do not match required".to_owned(),
        ));
    }
    Some((SASL_NOMECH, format!("mech {} is not available", info.name)))
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
        let conn_ptr = conn;
        // SAFETY: clientin is NULL or holds clientinlen bytes; the export's contract.
        if let Some(code) = unsafe {
            crate::mechplug::server_step(
                conn_ptr,
                bytes(clientin, clientinlen),
                serverout,
                serveroutlen,
            )
        } {
            return code;
        }
        let conn = conn!(conn);
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
        // The session leaves the connection while it runs: the application's callbacks may
        // call back into the library on this connection, and nothing of it may be borrowed.
        let Some(mut session) = side.session.take() else {
            return conn.error(SASL_BADPROT, "sasl_server_step before sasl_server_start");
        };
        let result = session.step(&input);
        let conn = conn!(conn_ptr);
        if let Side::Server(side) = &mut conn.side {
            side.session = Some(session);
        }
        // SAFETY: out-pointers NULL or writable.
        unsafe { server_result(conn, result, serverout, serveroutlen) }
    })
}

/// Rebuilds the configuration of the server connection `conn_ptr` after a property it
/// depends on changed (`SASL_DEFUSERREALM`); GETOPT runs with no reference to the connection.
///
/// # Safety
/// `conn_ptr` is a live connection (the caller's export contract).
pub(crate) unsafe fn rebuild_server_config(conn_ptr: *mut sasl_conn_t) -> c_int {
    let Some(snapshot) = ServerSnapshot::of(conn!(conn_ptr)) else {
        return SASL_OK;
    };
    let built = build_server_config(&snapshot);
    let conn = conn!(conn_ptr);
    match built {
        Ok(built) => {
            if let Side::Server(side) = &mut conn.side {
                built.install(side);
            }
            SASL_OK
        }
        Err(code) => code,
    }
}

/// What the user-database calls need of a server connection, owned, so that no reference to
/// the connection is held while they call the application (CANON_USER, CHECKPASS, SETPASS).
pub(crate) struct ServerParts {
    pub(crate) global: Arc<ServerGlobal>,
    pub(crate) config: Arc<ServerConfig>,
    canon_status: Arc<AtomicI32>,
}

/// The parts of a server connection (`None` for a client connection).
pub(crate) fn server_parts(conn: &sasl_conn_t) -> Option<ServerParts> {
    match &conn.side {
        Side::Server(side) => Some(ServerParts {
            global: side.global.clone(),
            config: side.config.clone(),
            canon_status: side.canon_status.clone(),
        }),
        Side::Client(_) => None,
    }
}

/// Runs `name` through the connection's canonicalisation (the `CANON_USER` callback) as
/// `sasl_checkpass` and `sasl_user_exists` do; on failure, the callback's own result code.
pub(crate) fn canonical_user(parts: &ServerParts, name: &str) -> Result<String, c_int> {
    parts.canon_status.store(SASL_OK, Ordering::Relaxed);
    parts
        .config
        .canonical_user(name, NameKind::AuthcidAndAuthzid)
        .map_err(
            |error| match parts.canon_status.swap(SASL_OK, Ordering::Relaxed) {
                SASL_OK => crate::errors::code_of(&error).0,
                code => code,
            },
        )
}
