//! Cyrus's plug-in registration calls (`sasl/saslplug.h`).
//!
//! Auxiliary-property and canonicalisation plug-ins are registered with Cyrus's version
//! negotiation: the init function gets the global utilities (`sasl_global_utils`), the
//! library's plug-in version as `max_version`, and must answer an `out_version` at least as
//! new (auxprop 8, canon_user 5), else `SASL_BADVERS`; an init that fails is logged and its
//! code returned. A registered auxprop plug-in is asked for credentials as Cyrus asks (see
//! `connection_store`); a canon_user plug-in named by `canon_user_plugin` runs after the
//! application's `SASL_CB_CANON_USER` (see `connection_canon`).
//!
//! Mechanism plug-ins (`sasl_server_add_plugin`, `sasl_client_add_plugin`) are still refused
//! with `SASL_BADVERS` without calling their init function, and the server and client
//! `*_plugin_info` calls report `SASL_NOMECH`; `auxprop_plugin_info` lists the registered
//! auxprop plug-ins.
//!
//! Nothing here holds a lock or a reference to a connection while a plug-in runs: a plug-in
//! calls back through its utilities (`prop_*`, `getopt`, `log`, `getcallback`...).

use std::ffi::{CStr, CString, c_char, c_int, c_uint, c_void};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use puresasl::{Auxprop, CanonicalizeUser, Error, NameKind, Secret, StoreError};

use crate::callbacks::CallbackLog;
use crate::consts::*;
use crate::handles::{Side, sasl_conn_t};
use crate::plugin_abi::{
    AuxpropInit, CanonuserInit, ClientPlugInit, SASL_AUXPROP_PLUG_VERSION,
    SASL_CANONUSER_PLUG_VERSION, ServerPlugInit, sasl_auxprop_plug_t, sasl_canonuser_plug_t,
    sasl_server_params_t,
};
use crate::util::{guard, opt_string};

/// A registered auxprop plug-in (its description belongs to the plug-in, which keeps it
/// alive until `auxprop_free`; the library never frees it).
struct AuxpropPlugin {
    /// The name it was registered under.
    plugname: String,
    /// The description the init function returned.
    plug: usize,
}

/// A registered canon_user plug-in.
struct CanonPlugin {
    plugname: String,
    plug: usize,
}

#[derive(Default)]
struct Registry {
    /// Newest first, as Cyrus keeps them.
    auxprop: Vec<Arc<AuxpropPlugin>>,
    canon: Vec<Arc<CanonPlugin>>,
}

fn registry() -> MutexGuard<'static, Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    REGISTRY
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl AuxpropPlugin {
    fn plug(&self) -> &sasl_auxprop_plug_t {
        // SAFETY: the description the plug-in's init returned, which it keeps alive while
        // it is registered (Cyrus's contract); the library only reads it.
        unsafe { &*(self.plug as *const sasl_auxprop_plug_t) }
    }

    /// Its own name (`plug->name`), else the registration name.
    fn name(&self) -> String {
        let name = self.plug().name;
        if name.is_null() {
            return self.plugname.clone();
        }
        // SAFETY: a NUL-terminated name owned by the plug-in.
        unsafe { CStr::from_ptr(name) }
            .to_string_lossy()
            .into_owned()
    }
}

impl CanonPlugin {
    fn plug(&self) -> &sasl_canonuser_plug_t {
        // SAFETY: as AuxpropPlugin::plug.
        unsafe { &*(self.plug as *const sasl_canonuser_plug_t) }
    }

    fn name(&self) -> String {
        let name = self.plug().name;
        if name.is_null() {
            return self.plugname.clone();
        }
        // SAFETY: a NUL-terminated name owned by the plug-in.
        unsafe { CStr::from_ptr(name) }
            .to_string_lossy()
            .into_owned()
    }
}

/// Logs a plug-in problem through the global callbacks (or syslog), as Cyrus does at load.
pub(crate) fn log_error(message: &str) {
    // SAFETY: NULL selects the global lists.
    let lists = unsafe { crate::utils::callback_lists(std::ptr::null_mut()) };
    CallbackLog {
        lists,
        log_level: SASL_LOG_ERR,
    }
    .log_text(SASL_LOG_ERR, message);
}

/// Forgets every auxprop and canon_user plug-in, calling their `auxprop_free` and
/// `canon_user_free` (Cyrus's `sasl_done`).
pub(crate) fn release_all() {
    let (auxprop, canon) = {
        let mut registry = registry();
        (
            std::mem::take(&mut registry.auxprop),
            std::mem::take(&mut registry.canon),
        )
    };
    for plugin in auxprop {
        if let Some(free) = plugin.plug().auxprop_free {
            // SAFETY: the plug-in's own clean-up, once; no lock held.
            unsafe { free(plugin.plug().glob_context, crate::utils::global_utils()) };
        }
    }
    for plugin in canon {
        if let Some(free) = plugin.plug().canon_user_free {
            // SAFETY: as above.
            unsafe { free(plugin.plug().glob_context, crate::utils::global_utils()) };
        }
    }
}

/// Whether any auxprop plug-in is registered.
pub(crate) fn any_auxprop() -> bool {
    !registry().auxprop.is_empty()
}

/// Whether an auxprop plug-in is registered under `name` (its own name or the registration
/// name, case-insensitively).
pub(crate) fn has_auxprop(name: &str) -> bool {
    let plugins = registry().auxprop.clone();
    plugins
        .iter()
        .any(|p| p.name().eq_ignore_ascii_case(name) || p.plugname.eq_ignore_ascii_case(name))
}

/// Registers an auxiliary-property plug-in: `auxpropfunc(sasl_global_utils,
/// SASL_AUXPROP_PLUG_VERSION, &out_version, &plug, plugname)`. `SASL_BADVERS` when the
/// plug-in's version is older than ours, `SASL_BADPROT` when it has no lookup function, the
/// init's own code (logged) when it fails.
///
/// # Safety
/// `plugname` NUL-terminated; `auxpropfunc` NULL or a `sasl_auxprop_init_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_auxprop_add_plugin(
    plugname: *const c_char,
    auxpropfunc: Option<AuxpropInit>,
) -> c_int {
    guard!(SASL_FAIL, {
        let Some(init) = auxpropfunc else {
            return SASL_BADPARAM;
        };
        if plugname.is_null() {
            return SASL_BADPARAM;
        }
        // SAFETY: the caller's contract.
        unsafe { add_auxprop(plugname, init, false) }
    })
}

/// The stores built in (a module offering one of these is not registered).
const BUILTIN_AUXPROPS: [&str; 2] = ["sasldb", "sql"];

/// Registers an auxprop plug-in (see [`sasl_auxprop_add_plugin`]); with `skip_builtin` (a
/// module from the plug-in path), one named like a built-in store is let go instead.
///
/// # Safety
/// `plugname` NUL-terminated; `init` a `sasl_auxprop_init_t`.
pub(crate) unsafe fn add_auxprop(
    plugname: *const c_char,
    init: AuxpropInit,
    skip_builtin: bool,
) -> c_int {
    // SAFETY: NUL-terminated per the contract.
    let name = unsafe { opt_string(plugname) }.unwrap_or_default();
    let mut out_version: c_int = 0;
    let mut plug: *mut sasl_auxprop_plug_t = std::ptr::null_mut();
    // SAFETY: the plug-in's init with Cyrus's arguments; no lock is held (it may call
    // back through the utilities).
    let result = unsafe {
        init(
            crate::utils::global_utils(),
            SASL_AUXPROP_PLUG_VERSION,
            &raw mut out_version,
            &raw mut plug,
            plugname,
        )
    };
    if result != SASL_OK {
        log_error(&format!("auxpropfunc error {}", errtext(result)));
        return result;
    }
    if out_version < SASL_AUXPROP_PLUG_VERSION {
        log_error(&format!(
            "version mismatch with auxprop plug-in {name}: {out_version}, want {SASL_AUXPROP_PLUG_VERSION}"
        ));
        return SASL_BADVERS;
    }
    // SAFETY: NULL or the plug-in's description.
    if plug.is_null() || unsafe { (*plug).auxprop_lookup.is_none() } {
        return SASL_BADPROT;
    }
    let plugin = AuxpropPlugin {
        plugname: name,
        plug: plug as usize,
    };
    if skip_builtin
        && BUILTIN_AUXPROPS
            .iter()
            .any(|b| plugin.name().eq_ignore_ascii_case(b))
    {
        if let Some(free) = plugin.plug().auxprop_free {
            // SAFETY: the plug-in's own clean-up, called once; it is not registered.
            unsafe { free(plugin.plug().glob_context, crate::utils::global_utils()) };
        }
        return SASL_NOMECH;
    }
    registry().auxprop.insert(0, Arc::new(plugin));
    SASL_OK
}

/// Registers a canonicalisation plug-in: `canonuserfunc(sasl_global_utils,
/// SASL_CANONUSER_PLUG_VERSION, &out_version, &plug, plugname)`, with the checks of
/// [`sasl_auxprop_add_plugin`] (a plug-in with neither a server nor a client function is
/// `SASL_BADPROT`).
///
/// # Safety
/// `plugname` NUL-terminated; `canonuserfunc` NULL or a `sasl_canonuser_init_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_canonuser_add_plugin(
    plugname: *const c_char,
    canonuserfunc: Option<CanonuserInit>,
) -> c_int {
    guard!(SASL_FAIL, {
        let Some(init) = canonuserfunc else {
            return SASL_BADPARAM;
        };
        if plugname.is_null() {
            return SASL_BADPARAM;
        }
        // SAFETY: the caller's contract.
        unsafe { add_canonuser(plugname, init) }
    })
}

/// Registers a canon_user plug-in (see [`sasl_canonuser_add_plugin`]).
///
/// # Safety
/// `plugname` NUL-terminated; `init` a `sasl_canonuser_init_t`.
pub(crate) unsafe fn add_canonuser(plugname: *const c_char, init: CanonuserInit) -> c_int {
    {
        // SAFETY: NUL-terminated per the contract.
        let name = unsafe { opt_string(plugname) }.unwrap_or_default();
        let mut out_version: c_int = 0;
        let mut plug: *mut sasl_canonuser_plug_t = std::ptr::null_mut();
        // SAFETY: as in sasl_auxprop_add_plugin.
        let result = unsafe {
            init(
                crate::utils::global_utils(),
                SASL_CANONUSER_PLUG_VERSION,
                &raw mut out_version,
                &raw mut plug,
                plugname,
            )
        };
        if result != SASL_OK {
            log_error(&format!("canonuserfunc error {}", errtext(result)));
            return result;
        }
        if out_version < SASL_CANONUSER_PLUG_VERSION {
            log_error(&format!(
                "version mismatch with canon_user plug-in {name}: {out_version}, want {SASL_CANONUSER_PLUG_VERSION}"
            ));
            return SASL_BADVERS;
        }
        if plug.is_null()
            // SAFETY: the plug-in's description (non-NULL).
            || unsafe { (*plug).canon_user_server.is_none() && (*plug).canon_user_client.is_none() }
        {
            return SASL_BADPROT;
        }
        registry().canon.insert(
            0,
            Arc::new(CanonPlugin {
                plugname: name,
                plug: plug as usize,
            }),
        );
        SASL_OK
    }
}

/// A mechanism description's clean-up and the global context it frees.
pub(crate) type MechFree = (
    Option<unsafe extern "C" fn(*mut c_void, *const crate::plugin_abi::sasl_utils_t)>,
    *mut c_void,
);

/// Frees the global contexts of the mechanism descriptions a plug-in offered but that were
/// not registered (built-in names, duplicates), as Cyrus frees what it does not keep: each
/// context once, and none that a registered description (`kept`) shares.
///
/// # Safety
/// Each pair is a description's own `mech_free` and `glob_context`, not used afterwards.
pub(crate) unsafe fn free_unkept(skipped: Vec<MechFree>, kept: &[usize]) {
    let mut freed: Vec<(usize, usize)> = Vec::new();
    for (free, glob) in skipped {
        let Some(free) = free else {
            continue;
        };
        let key = (free as usize, glob as usize);
        if kept.contains(&(glob as usize)) || freed.contains(&key) {
            continue;
        }
        freed.push(key);
        // SAFETY: the plug-in's own clean-up of a context nothing registered uses.
        unsafe { free(glob, crate::utils::global_utils()) };
    }
}

/// Calls a mechanism plug-in's init function (`init`, given Cyrus's version and the three
/// out-pointers) and checks what it returns, as Cyrus does: a failing init is logged and
/// its code returned, an older `out_version` is `SASL_BADVERS`, an empty list
/// `SASL_BADPROT`; else the plug-in's array of descriptions and its length (at most 256).
pub(crate) fn negotiate_mechanisms<T>(
    side: &str,
    name: &str,
    version: c_int,
    init: impl FnOnce(c_int, *mut c_int, *mut *mut T, *mut c_int) -> c_int,
) -> Result<(*mut T, usize), c_int> {
    let mut out_version: c_int = 0;
    let mut list: *mut T = std::ptr::null_mut();
    let mut count: c_int = 0;
    let result = init(version, &raw mut out_version, &raw mut list, &raw mut count);
    if result != SASL_OK {
        log_error(&format!(
            "{side} plug-in {name} failed to initialise: {}",
            errtext(result)
        ));
        return Err(result);
    }
    if out_version < version {
        log_error(&format!(
            "version mismatch with {side} plug-in {name}: {out_version}, want {version}"
        ));
        return Err(SASL_BADVERS);
    }
    let count = usize::try_from(count).unwrap_or(0).min(256);
    if list.is_null() || count == 0 {
        return Err(SASL_BADPROT);
    }
    Ok((list, count))
}

pub(crate) fn errtext(code: c_int) -> String {
    crate::errors::errstring(code)
        .to_string_lossy()
        .into_owned()
}

// ---- the server parameters a plug-in is called with ----

/// `sasl_server_params_t` for one call into a plug-in on connection `conn`, and the strings
/// it points to. The property context is the connection's own (the one
/// `sasl_auxprop_getctx` returns and the application's canon_user callback fills).
pub(crate) struct ServerParams {
    params: Box<sasl_server_params_t>,
    _strings: Vec<CString>,
}

impl ServerParams {
    /// The parameters and the strings they point to (keep both alive together).
    pub(crate) fn into_parts(self) -> (Box<sasl_server_params_t>, Vec<CString>) {
        (self.params, self._strings)
    }
}

/// # Safety
/// `conn` is a live server connection, not borrowed elsewhere during the call.
pub(crate) unsafe fn server_params(conn: *mut sasl_conn_t) -> Option<ServerParams> {
    // SAFETY: the caller's contract; the reference ends before the plug-in runs.
    let utils = unsafe { crate::utils::conn_utils(conn) };
    // SAFETY: as above.
    let c = unsafe { conn.as_ref() }?;
    let Side::Server(side) = &c.side else {
        return None;
    };
    let appname = side.global.appname.clone().unwrap_or_default();
    let strings = vec![
        c.service.clone(),
        appname,
        c.fqdn.clone(),
        c.user_realm.clone().unwrap_or_default(),
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
    let params = Box::new(sasl_server_params_t {
        service: strings[0].as_ptr(),
        appname: strings[1].as_ptr(),
        serverFQDN: strings[2].as_ptr(),
        user_realm: opt(&strings[3]),
        iplocalport: opt(&strings[4]),
        ipremoteport: opt(&strings[5]),
        servicelen: len(&strings[0]),
        applen: len(&strings[1]),
        slen: len(&strings[2]),
        urlen: len(&strings[3]),
        iploclen: len(&strings[4]),
        ipremlen: len(&strings[5]),
        log_level: SASL_LOG_ERR,
        utils,
        callbacks: c.callbacks.as_ptr(),
        props: c.props,
        external_ssf: c.external_ssf,
        transition: None,
        canon_user: None,
        propctx: conn_propctx(conn),
        gss_creds: std::ptr::null(),
        cbinding: std::ptr::null(),
        http_request: std::ptr::null(),
        spare_ptr4: std::ptr::null_mut(),
        spare_fptr1: None,
        spare_fptr2: None,
        spare_int1: 0,
        spare_int2: 0,
        spare_int3: 0,
        flags: c.flags,
        param_version: 0,
    });
    Some(ServerParams {
        params,
        _strings: strings,
    })
}

/// The property context of connection `conn` (NULL for NULL), for callbacks and plug-ins
/// that get it as an argument; no reference to the connection outlives the call.
pub(crate) fn conn_propctx(conn: *mut sasl_conn_t) -> *mut crate::handles::propctx {
    if conn.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: a live connection (the exchange that calls this runs on it); only the address
    // of its context is taken.
    unsafe { &raw mut *(*conn).propctx }
}

// ---- auxprop plug-ins as a credential store ----

/// The credential store of server connection `conn`: `base` (the built-in stores of
/// `auxprop_plugin`) and the registered auxprop plug-ins, asked as Cyrus asks them: the ones
/// `auxprop_plugin` names, in its order, else every registered one (newest first) before the
/// built-in store. Without registered plug-ins it is `base` itself.
pub(crate) fn connection_store(
    conn: usize,
    base: Arc<dyn Auxprop>,
    auxprop_plugin: Option<String>,
) -> Arc<dyn Auxprop> {
    if registry().auxprop.is_empty() {
        return base;
    }
    let chosen = chosen_plugins(auxprop_plugin.as_deref());
    if chosen.is_empty() {
        return base;
    }
    Arc::new(PluginStore {
        conn,
        plugins: chosen,
        base,
    })
}

/// The registered auxprop plug-ins `auxprop_plugin` names (in its order), else all of them.
fn chosen_plugins(auxprop_plugin: Option<&str>) -> Vec<Arc<AuxpropPlugin>> {
    let plugins = registry().auxprop.clone();
    match auxprop_plugin {
        Some(list) => list
            .split_ascii_whitespace()
            .filter_map(|wanted| {
                plugins
                    .iter()
                    .find(|p| {
                        p.name().eq_ignore_ascii_case(wanted)
                            || p.plugname.eq_ignore_ascii_case(wanted)
                    })
                    .cloned()
            })
            .collect(),
        None => plugins,
    }
}

/// An option as connection `conn` sees it: its GETOPT callbacks, then the configuration file.
fn conn_option(conn: *mut sasl_conn_t, name: &str) -> Option<String> {
    // SAFETY: a live connection (the caller's export contract); the references end here.
    let lists = unsafe { crate::utils::callback_lists(conn) };
    // SAFETY: as above.
    let file = match unsafe { conn.as_ref() }.map(|c| &c.side) {
        Some(Side::Server(side)) => Some(side.global.clone()),
        _ => None,
    };
    let owned: Vec<Vec<crate::callbacks::Callback>> = lists.iter().map(|l| l.entries()).collect();
    let lists: Vec<&[crate::callbacks::Callback]> = owned.iter().map(Vec::as_slice).collect();
    crate::callbacks::option(&lists, file.as_ref().map(|g| &g.file), name)
}

/// The name an auxprop plug-in is asked about: Cyrus hands plug-ins the canonical name, which
/// has `@realm` only when the realm is not the default one (no user_realm: the server's name).
fn plugin_user_name(conn: *mut sasl_conn_t, user: &str, realm: &str) -> String {
    // SAFETY: the connection is live while its exchange runs; the reference ends here.
    let default_realm = unsafe { conn.as_ref() }.map(|c| {
        c.user_realm
            .as_ref()
            .unwrap_or(&c.fqdn)
            .to_string_lossy()
            .into_owned()
    });
    if realm.is_empty() || default_realm.as_deref() == Some(realm) {
        user.to_owned()
    } else {
        format!("{user}@{realm}")
    }
}

/// The values of the authorization-id properties `properties` of `user` (in their order),
/// from the auxprop plug-ins (asked once, with `SASL_AUXPROP_AUTHZID`), what they leave
/// empty from `base`; an error when a store failed and nothing was found.
pub(crate) fn lookup_authzid(
    conn: *mut sasl_conn_t,
    base: &Arc<dyn Auxprop>,
    user: &str,
    realm: &str,
    properties: &[&str],
) -> Result<Vec<Vec<Secret>>, StoreError> {
    let store = PluginStore {
        conn: conn as usize,
        plugins: chosen_plugins(conn_option(conn, "auxprop_plugin").as_deref()),
        base: base.clone(),
    };
    store.lookup_as(user, realm, properties, true)
}

/// `sasl_auxprop_store` through the auxprop plug-ins that can store (those `auxprop_plugin`
/// names, else all): `None` when there is none (the built-in store takes it); else `SASL_OK`
/// (a NULL `ctx` asks only whether one exists) or the first plug-in error.
///
/// # Safety
/// `conn` a live server connection, not borrowed; `ctx` NULL or a live context; `user`
/// NUL-terminated.
pub(crate) unsafe fn store_through_plugins(
    conn: *mut sasl_conn_t,
    ctx: *mut crate::handles::propctx,
    user: *const c_char,
) -> Option<c_int> {
    if registry().auxprop.is_empty() || conn.is_null() {
        return None;
    }
    let plugins: Vec<Arc<AuxpropPlugin>> =
        chosen_plugins(conn_option(conn, "auxprop_plugin").as_deref())
            .into_iter()
            .filter(|p| p.plug().auxprop_store.is_some())
            .collect();
    if plugins.is_empty() {
        return None;
    }
    if ctx.is_null() {
        return Some(SASL_OK);
    }
    // SAFETY: NUL-terminated per the contract.
    let name = unsafe { opt_string(user) }?;
    let ulen = c_uint::try_from(name.len()).unwrap_or(0);
    // SAFETY: a live server connection, not borrowed.
    let params = unsafe { server_params(conn) }?;
    for plugin in plugins {
        let Some(store) = plugin.plug().auxprop_store else {
            continue;
        };
        let mut copy = sasl_server_params_t { ..*params.params };
        // SAFETY: the plug-in's store with valid parameters and the caller's context; no
        // lock or reference held.
        let status = unsafe { store(plugin.plug().glob_context, &raw mut copy, ctx, user, ulen) };
        if status != SASL_OK {
            return Some(status);
        }
    }
    Some(SASL_OK)
}

/// See [`connection_store`].
struct PluginStore {
    conn: usize,
    plugins: Vec<Arc<AuxpropPlugin>>,
    base: Arc<dyn Auxprop>,
}

// SAFETY: the connection is used by one thread at a time (Cyrus's contract), the thread that
// runs the exchange this store serves; the plug-in descriptions are immutable.
unsafe impl Send for PluginStore {}
// SAFETY: as above.
unsafe impl Sync for PluginStore {}

impl PluginStore {
    /// Asks the plug-ins for `properties` of `user`, each plug-in once for all of them (as
    /// Cyrus's `_sasl_auxprop_lookup` asks), in order until every property has a value: for
    /// an authentication id the properties are requested as `*property` and the flags are 0;
    /// for an authorization id as `property` with `SASL_AUXPROP_AUTHZID`. The values in the
    /// order of `properties`; a plug-in's failure is the answer only when nothing was found.
    fn ask_plugins(
        &self,
        user: &str,
        properties: &[&str],
        authzid: bool,
    ) -> Result<Vec<Vec<Secret>>, StoreError> {
        let conn = self.conn as *mut sasl_conn_t;
        let nothing = || empty_slots(properties.len());
        let names: Vec<CString> = properties
            .iter()
            .filter_map(|property| {
                let name = if authzid {
                    (*property).to_owned()
                } else {
                    format!("*{property}")
                };
                CString::new(name).ok()
            })
            .collect();
        let Ok(cuser) = CString::new(user) else {
            return Ok(nothing());
        };
        if names.len() != properties.len() {
            return Ok(nothing());
        }
        let flags = if authzid { SASL_AUXPROP_AUTHZID } else { 0 };
        // SAFETY: the connection is live while its exchange runs (the store belongs to its
        // configuration), and no reference to it is held here.
        let Some(params) = (unsafe { server_params(conn) }) else {
            return Ok(nothing());
        };
        let propctx = params.params.propctx;
        // Fresh values for this lookup: an earlier exchange's must not answer for this one.
        // SAFETY: the connection's live context; NUL-terminated names.
        unsafe {
            let mut list: Vec<*const c_char> = names.iter().map(|n| n.as_ptr()).collect();
            for name in &list {
                crate::propctx::prop_erase(propctx, *name);
            }
            list.push(std::ptr::null());
            crate::propctx::prop_request(propctx, list.as_mut_ptr());
        }
        let read = || -> Vec<Vec<Secret>> {
            names
                .iter()
                // SAFETY: the connection's live context.
                .map(|name| unsafe { values_of(propctx, &name.to_string_lossy()) })
                .collect()
        };
        let mut failure = None;
        for plugin in &self.plugins {
            let plug = plugin.plug();
            let Some(lookup) = plug.auxprop_lookup else {
                continue;
            };
            // The plug-in may write to its parameters: it gets a private copy each time.
            let mut copy = sasl_server_params_t { ..*params.params };
            let ulen = c_uint::try_from(user.len()).unwrap_or(0);
            // SAFETY: the plug-in's lookup with valid parameters; no lock or reference held.
            let status = unsafe {
                lookup(
                    plug.glob_context,
                    &raw mut copy,
                    flags,
                    cuser.as_ptr(),
                    ulen,
                )
            };
            if status != SASL_OK && status != SASL_NOUSER {
                failure = Some(StoreError::Unavailable(format!(
                    "auxprop plug-in {}: {}",
                    plugin.name(),
                    errtext(status)
                )));
            }
            if read().iter().all(|values| !values.is_empty()) {
                break;
            }
        }
        let found = read();
        match failure {
            Some(error) if found.iter().all(Vec::is_empty) => Err(error),
            _ => Ok(found),
        }
    }
}

/// `count` empty value lists (`Secret` is not `Clone`, so no `vec![..; n]`).
fn empty_slots(count: usize) -> Vec<Vec<Secret>> {
    std::iter::repeat_with(Vec::new).take(count).collect()
}

/// The values of `name` in `ctx`.
///
/// # Safety
/// `ctx` a live context.
unsafe fn values_of(ctx: *mut crate::handles::propctx, name: &str) -> Vec<Secret> {
    // SAFETY: the caller's contract; the reference ends here.
    let Some(ctx) = (unsafe { ctx.as_ref() }) else {
        return Vec::new();
    };
    ctx.entries
        .iter()
        .find(|e| e.name.to_bytes() == name.as_bytes())
        .map(|e| {
            e.values
                .iter()
                .map(|v| Secret::new(v.as_bytes().to_vec()))
                .collect()
        })
        .unwrap_or_default()
}

impl PluginStore {
    /// The plug-ins first (each asked once for every property), what they leave empty from
    /// the built-in store in one batch; `authzid` as in [`ask_plugins`](Self::ask_plugins).
    fn lookup_as(
        &self,
        user: &str,
        realm: &str,
        properties: &[&str],
        authzid: bool,
    ) -> Result<Vec<Vec<Secret>>, StoreError> {
        let qualified = plugin_user_name(self.conn as *mut sasl_conn_t, user, realm);
        let (mut found, mut failure) = if self.plugins.is_empty() {
            (empty_slots(properties.len()), None)
        } else {
            match self.ask_plugins(&qualified, properties, authzid) {
                Ok(found) => (found, None),
                Err(error) => (empty_slots(properties.len()), Some(error)),
            }
        };
        if let Err(error) =
            puresasl::auxprop::fill_missing(self.base.as_ref(), user, realm, properties, &mut found)
        {
            failure = Some(error);
        }
        match failure {
            Some(error) if found.iter().all(Vec::is_empty) => Err(error),
            _ => Ok(found),
        }
    }
}

impl Auxprop for PluginStore {
    fn lookup(&self, user: &str, realm: &str, property: &str) -> Result<Vec<Secret>, StoreError> {
        Ok(self
            .lookup_as(user, realm, &[property], false)?
            .pop()
            .unwrap_or_default())
    }

    fn lookup_many(
        &self,
        user: &str,
        realm: &str,
        properties: &[&str],
    ) -> Result<Vec<Vec<Secret>>, StoreError> {
        self.lookup_as(user, realm, properties, false)
    }

    fn store(
        &self,
        user: &str,
        realm: &str,
        property: &str,
        values: &[Secret],
    ) -> Result<(), StoreError> {
        self.base.store(user, realm, property, values)
    }

    fn store_many(
        &self,
        user: &str,
        realm: &str,
        changes: &[(String, Vec<Secret>)],
    ) -> Result<(), StoreError> {
        self.base.store_many(user, realm, changes)
    }

    fn entries(&self) -> Result<Vec<puresasl::auxprop::Entry>, StoreError> {
        self.base.entries()
    }
}

// ---- canon_user plug-ins ----

/// The canonicalisation of connection `conn` when `canon_user_plugin` names a registered
/// canon_user plug-in with a function for that side (`client`: `canon_user_client`, else
/// `canon_user_server`): the application's callback first (`app`), then the plug-in's, as
/// Cyrus orders them. `None` when there is no such plug-in (the built-in canonicalisation
/// stays).
pub(crate) fn connection_canon(
    conn: usize,
    app: Option<Arc<dyn CanonicalizeUser>>,
    canon_user_plugin: Option<String>,
    client: bool,
) -> Option<Arc<dyn CanonicalizeUser>> {
    let wanted = canon_user_plugin?;
    let plugins = registry().canon.clone();
    let plugin = plugins.into_iter().find(|p| {
        p.name().eq_ignore_ascii_case(wanted.trim())
            || p.plugname.eq_ignore_ascii_case(wanted.trim())
    })?;
    if client {
        plugin.plug().canon_user_client?;
    } else {
        plugin.plug().canon_user_server?;
    }
    Some(Arc::new(PluginCanon {
        conn,
        app,
        plugin,
        client,
    }))
}

struct PluginCanon {
    conn: usize,
    app: Option<Arc<dyn CanonicalizeUser>>,
    plugin: Arc<CanonPlugin>,
    client: bool,
}

// SAFETY: as PluginStore.
unsafe impl Send for PluginCanon {}
// SAFETY: as PluginStore.
unsafe impl Sync for PluginCanon {}

impl PluginCanon {
    /// Calls the plug-in's function for this side on `input` with `flags`: its output, or
    /// `None` when the connection's parameters cannot be made.
    fn call(&self, input: &CStr, inlen: c_uint, flags: c_uint) -> Option<(c_int, Vec<u8>)> {
        let plug = self.plugin.plug();
        let conn = self.conn as *mut sasl_conn_t;
        let size = crate::callbacks::CANON_BUF_SIZE;
        let mut out = vec![0u8; size as usize + 1];
        let mut out_len: c_uint = 0;
        let status = if self.client {
            let canon = plug.canon_user_client?;
            // SAFETY: the connection is live while its exchange runs; no reference held.
            let (mut params, _strings) = unsafe { crate::clientplug::client_params(conn) }?;
            // SAFETY: valid parameters, an input of inlen bytes and an output of more than
            // `size` bytes; no lock or reference held.
            unsafe {
                canon(
                    plug.glob_context,
                    &raw mut *params,
                    input.as_ptr(),
                    inlen,
                    flags,
                    out.as_mut_ptr().cast(),
                    size,
                    &raw mut out_len,
                )
            }
        } else {
            let canon = plug.canon_user_server?;
            // SAFETY: as above.
            let mut params = unsafe { server_params(conn) }?;
            // SAFETY: as above.
            unsafe {
                canon(
                    plug.glob_context,
                    &raw mut *params.params,
                    input.as_ptr(),
                    inlen,
                    flags,
                    out.as_mut_ptr().cast(),
                    size,
                    &raw mut out_len,
                )
            }
        };
        if status == SASL_OK && out_len > size {
            return Some((SASL_BUFOVER, Vec::new()));
        }
        out.truncate(out_len as usize);
        Some((status, out))
    }
}

impl CanonicalizeUser for PluginCanon {
    fn canonicalize(&self, name: &str, kind: NameKind) -> Result<String, Error> {
        let name = match &self.app {
            Some(app) => app.canonicalize(name, kind)?,
            None => name.to_owned(),
        };
        let flags = match kind {
            NameKind::Authcid => SASL_CU_AUTHID,
            NameKind::Authzid => SASL_CU_AUTHZID,
            NameKind::AuthcidAndAuthzid => SASL_CU_AUTHID | SASL_CU_AUTHZID,
        };
        let input = CString::new(name.as_str()).map_err(|_| Error::AuthenticationFailed)?;
        let inlen = c_uint::try_from(name.len()).map_err(|_| Error::AuthenticationFailed)?;
        let Some((status, output)) = self.call(&input, inlen, flags) else {
            return Ok(name);
        };
        if status != SASL_OK {
            return Err(Error::AuthenticationFailed);
        }
        String::from_utf8(output).map_err(|_| Error::AuthenticationFailed)
    }
}

// ---- client mechanism plug-ins and the auxprop info call ----

/// Registers a server mechanism plug-in: `splugfunc(sasl_global_utils,
/// SASL_SERVER_PLUG_VERSION, &out_version, &pluglist, &plugcount)`; each mechanism whose
/// name is not built in joins the server's mechanisms (see [`crate::mechplug`]).
/// `SASL_BADVERS` for an older plug-in, the init's code (logged) when it fails.
///
/// # Safety
/// `plugname` NUL-terminated; `splugfunc` NULL or a `sasl_server_plug_init_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_server_add_plugin(
    plugname: *const c_char,
    splugfunc: Option<ServerPlugInit>,
) -> c_int {
    guard!(SASL_FAIL, {
        let Some(init) = splugfunc else {
            return SASL_BADPARAM;
        };
        if plugname.is_null() {
            return SASL_BADPARAM;
        }
        // SAFETY: the caller's contract.
        unsafe { crate::mechplug::add_server(plugname, init) }.0
    })
}

/// Registers a client mechanism plug-in: `cplugfunc(sasl_global_utils,
/// SASL_CLIENT_PLUG_VERSION, &out_version, &pluglist, &plugcount)`; each mechanism whose
/// name is not built in joins the client's mechanisms (see [`crate::clientplug`]).
///
/// # Safety
/// `plugname` NUL-terminated; `cplugfunc` NULL or a `sasl_client_plug_init_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_client_add_plugin(
    plugname: *const c_char,
    cplugfunc: Option<ClientPlugInit>,
) -> c_int {
    guard!(SASL_FAIL, {
        let Some(init) = cplugfunc else {
            return SASL_BADPARAM;
        };
        if plugname.is_null() {
            return SASL_BADPARAM;
        }
        // SAFETY: the caller's contract.
        unsafe { crate::clientplug::add_client(plugname, init) }.0
    })
}

/// `auxprop_info_callback_t`.
type AuxpropInfo = unsafe extern "C" fn(*mut sasl_auxprop_plug_t, c_int, *mut c_void);

/// Describes the auxprop plug-ins: the built-in `sasldb` and `sql` stores, described as
/// Cyrus describes its modules, then the registered plug-ins (those named in the
/// space-separated `mech_list`, or all). `info_cb` gets `SASL_INFO_LIST_START`, each with
/// `SASL_INFO_LIST_MECH`, then `SASL_INFO_LIST_END`; with a NULL callback the list is printed
/// in Cyrus's format.
///
/// # Safety
/// `mech_list` NULL or NUL-terminated; `info_cb` NULL or an `auxprop_info_callback_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn auxprop_plugin_info(
    mech_list: *const c_char,
    info_cb: Option<AuxpropInfo>,
    info_cb_rock: *mut c_void,
) -> c_int {
    guard!(SASL_FAIL, {
        struct Builtins(Vec<(CString, sasl_auxprop_plug_t)>);
        // SAFETY: immutable after creation; the names are the CStrings beside them.
        unsafe impl Send for Builtins {}
        // SAFETY: as above.
        unsafe impl Sync for Builtins {}
        static BUILTINS: OnceLock<Builtins> = OnceLock::new();
        let builtins = BUILTINS.get_or_init(|| {
            Builtins(
                BUILTIN_AUXPROPS
                    .iter()
                    .map(|name| {
                        let name = CString::new(*name).unwrap_or_default();
                        let plug = sasl_auxprop_plug_t {
                            features: 0,
                            spare_int1: 0,
                            glob_context: std::ptr::null_mut(),
                            auxprop_free: None,
                            auxprop_lookup: None,
                            name: name.as_ptr().cast_mut(),
                            auxprop_store: None,
                        };
                        (name, plug)
                    })
                    .collect(),
            )
        });
        let plugins = registry().auxprop.clone();
        let mut entries: Vec<(String, *mut sasl_auxprop_plug_t, bool)> = builtins
            .0
            .iter()
            .map(|(name, plug)| {
                (
                    name.to_string_lossy().into_owned(),
                    std::ptr::from_ref(plug).cast_mut(),
                    true,
                )
            })
            .collect();
        entries.extend(plugins.iter().map(|p| {
            let store = p.plug().auxprop_store.is_some();
            (p.name(), p.plug as *mut sasl_auxprop_plug_t, store)
        }));
        // SAFETY: NULL or NUL-terminated.
        let wanted = unsafe { opt_string(mech_list) };
        let listed = |name: &str| {
            wanted.as_ref().is_none_or(|list| {
                list.split_ascii_whitespace()
                    .any(|w| w.eq_ignore_ascii_case(name))
            })
        };
        let Some(info_cb) = info_cb else {
            crate::pluginfo::print("List of auxprop plugins follows\n");
            for (name, _, store) in entries.iter().filter(|(n, _, _)| listed(n)) {
                crate::pluginfo::print(&format!(
                    "Plugin \"{name}\" , \tAPI version: {SASL_AUXPROP_PLUG_VERSION}\n\tsupports store: {}\n",
                    if *store { "yes" } else { "no" }
                ));
            }
            return SASL_OK;
        };
        // SAFETY: the application's callback; descriptions valid for the call (built-ins:
        // the process; plug-ins: while registered); NULL for the start and end stages.
        unsafe { info_cb(std::ptr::null_mut(), 0, info_cb_rock) };
        for (name, plug, _) in &entries {
            if listed(name) {
                // SAFETY: as above.
                unsafe { info_cb(*plug, 1, info_cb_rock) };
            }
        }
        // SAFETY: as above.
        unsafe { info_cb(std::ptr::null_mut(), 2, info_cb_rock) };
        SASL_OK
    })
}
