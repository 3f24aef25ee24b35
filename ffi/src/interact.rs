//! The client's credentials as Cyrus's plug-ins get them: a filled `SASL_INTERACT` prompt,
//! else the callback found first in the connection's list then the global list of
//! `sasl_client_init` (an entry with a NULL procedure means "ask through `SASL_INTERACT`"),
//! else Cyrus's default (`$USER` for `SASL_CB_AUTHNAME`). The mechanism asks, through
//! `ClientSource`, only for what it needs when it needs it; what must be asked pauses the
//! exchange (`Error::NeedCredentials`), and `prompts` turns that into the prompt array.

#![allow(non_camel_case_types, reason = "the C names are the ABI")]

use std::ffi::{CStr, CString, c_char, c_int, c_uint, c_ulong};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};

use puresasl::{CanonicalizeUser, CredentialKind, CredentialSource, NameKind, Secret};
use zeroize::Zeroizing;

use crate::callbacks::{Callback, CanonUser, find_callback, option};
use crate::conn::cstring;
use crate::consts::*;
use crate::handles::sasl_conn_t;
use crate::types::{sasl_interact_t, sasl_secret_t};
use crate::util::{bytes, opt_string};

/// How a callback id is provided, as Cyrus's `_sasl_getcallback` finds it.
enum Provided {
    /// A procedure to call.
    Procedure(Callback),
    /// Listed with a NULL procedure: ask through `SASL_INTERACT`.
    Interact,
    /// Not listed.
    Absent,
}

/// The connection pointer handed to the application's PASS callback.
#[derive(Clone, Copy)]
struct ConnPointer(*mut sasl_conn_t);

// SAFETY: the pointer is never dereferenced here, only passed to the application's callback,
// which receives it on the thread that is using the connection (the source lives inside it).
unsafe impl Send for ConnPointer {}
// SAFETY: as above.
unsafe impl Sync for ConnPointer {}

/// What one client connection's mechanism gets its credentials from.
pub(crate) struct ClientSource {
    conn: ConnPointer,
    /// The connection's callbacks, then the global ones.
    connection: Vec<Callback>,
    global: Vec<Callback>,
    /// DIGEST-MD5's realm when none is offered or chosen (Cyrus: the server's name).
    server_fqdn: String,
    state: Mutex<SourceState>,
}

#[derive(Default)]
struct SourceState {
    /// Answers to earlier prompts, by callback id.
    answers: Vec<(c_ulong, Zeroizing<Vec<u8>>)>,
    /// The first code a callback failed with.
    failure: Option<c_int>,
    authcid: Option<String>,
    authzid: Option<String>,
}

impl ClientSource {
    /// A source for the connection at `conn` with these callback lists.
    pub(crate) fn new(
        conn: *mut sasl_conn_t,
        connection: Vec<Callback>,
        global: Vec<Callback>,
        server_fqdn: String,
    ) -> Self {
        ClientSource {
            conn: ConnPointer(conn),
            connection,
            global,
            server_fqdn,
            state: Mutex::new(SourceState::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, SourceState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn provided(&self, id: c_ulong) -> Provided {
        [&self.connection, &self.global]
            .into_iter()
            .flat_map(|list| list.iter())
            .find(|cb| cb.id == id)
            .map_or(Provided::Absent, |cb| {
                if cb.proc.is_some() {
                    Provided::Procedure(*cb)
                } else {
                    Provided::Interact
                }
            })
    }

    /// Whether the application can supply `id` at all (a callback or prompts): Cyrus's
    /// `have_prompts` test of a mechanism's required ids.
    pub(crate) fn can_supply(&self, id: c_ulong) -> bool {
        !matches!(self.provided(id), Provided::Absent) || id == SASL_CB_AUTHNAME
    }

    fn answer(&self, id: c_ulong) -> Option<Zeroizing<Vec<u8>>> {
        self.state()
            .answers
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, v)| v.clone())
    }

    fn fail(&self, code: c_int) {
        self.state().failure.get_or_insert(code);
    }

    /// The code of the first callback that failed, if any: the call fails with it.
    pub(crate) fn failure(&self) -> Option<c_int> {
        self.state().failure
    }

    /// Stores the answers the application put in `prompts` (ours, from the last call).
    ///
    /// # Safety
    /// Each prompt's `result` is NULL or holds `len` readable bytes (a NUL-terminated string
    /// when `len` is 0).
    pub(crate) unsafe fn take_answers(&self, prompts: &[sasl_interact_t]) {
        let mut state = self.state();
        for prompt in prompts.iter().take_while(|p| p.id != SASL_CB_LIST_END) {
            if prompt.result.is_null() {
                // Cyrus: an unanswered authorization name is none; any other unanswered
                // prompt is a parameter error (asking again would loop forever).
                if prompt.id == SASL_CB_USER {
                    state.answers.retain(|(id, _)| *id != prompt.id);
                    state.answers.push((prompt.id, Zeroizing::new(Vec::new())));
                } else {
                    state.failure.get_or_insert(SASL_BADPARAM);
                }
                continue;
            }
            let value = if prompt.len == 0 {
                // SAFETY: with len 0, a non-NULL result is a NUL-terminated string.
                unsafe { CStr::from_ptr(prompt.result.cast()) }
                    .to_bytes()
                    .to_vec()
            } else {
                // SAFETY: the application stored `len` readable bytes at `result`.
                unsafe { bytes(prompt.result.cast(), prompt.len) }
                    .map(<[u8]>::to_vec)
                    .unwrap_or_default()
            };
            state.answers.retain(|(id, _)| *id != prompt.id);
            state.answers.push((prompt.id, value.into()));
        }
    }

    /// The name the client authenticates as, once the mechanism has it: the authorization
    /// identity if one was given, else the authentication identity (Cyrus's client
    /// `SASL_USERNAME`).
    pub(crate) fn username(&self) -> Option<String> {
        let state = self.state();
        state
            .authzid
            .clone()
            .filter(|z| !z.is_empty())
            .or_else(|| state.authcid.clone())
    }

    /// USER or AUTHNAME: an answer, else the callback, else (AUTHNAME) `$USER`.
    fn simple(&self, id: c_ulong) -> Option<String> {
        if let Some(value) = self.answer(id) {
            return Some(String::from_utf8_lossy(&value).into_owned());
        }
        let cb = match self.provided(id) {
            Provided::Procedure(cb) => cb,
            Provided::Interact => return None,
            Provided::Absent if id == SASL_CB_AUTHNAME => {
                let value = std::env::var("USER").or_else(|_| std::env::var("USERNAME"));
                if value.is_err() {
                    self.fail(SASL_FAIL);
                }
                return value.ok();
            }
            Provided::Absent => return None,
        };
        let getsimple = cb.getsimple()?;
        let mut result: *const c_char = std::ptr::null();
        let mut len: c_uint = 0;
        let id_int = c_int::try_from(id).unwrap_or(0);
        // SAFETY: valid out-pointers; the result belongs to the application. No lock is held.
        let status = unsafe { getsimple(cb.context, id_int, &mut result, &mut len) };
        if status != SASL_OK {
            self.fail(status);
            return None;
        }
        if result.is_null() {
            // Cyrus: a required value (AUTHNAME) that comes back NULL is a parameter error.
            if id == SASL_CB_AUTHNAME {
                self.fail(SASL_BADPARAM);
                return None;
            }
            return Some(String::new());
        }
        // Some applications leave len at 0 and rely on the NUL.
        let value = if len > 0 {
            // SAFETY: the callback promises len bytes.
            unsafe { bytes(result, len) }.map(|b| String::from_utf8_lossy(b).into_owned())
        } else {
            // SAFETY: NUL-terminated.
            unsafe { opt_string(result) }
        };
        Some(value.unwrap_or_default())
    }
}

/// Cyrus's client canonicalisation of a name the application gave (`_sasl_canon_user` on a
/// client connection): the application's `SASL_CB_CANON_USER` (no user realm), then the
/// canon_user plug-in `canon_user_plugin` names (its `canon_user_client`), else the built-in
/// one, which strips surrounding white space. It gives what the mechanism sends and what
/// `SASL_USERNAME` reports; on failure, the callback's code (else `SASL_FAIL`).
pub(crate) fn client_canonical(
    conn: *mut sasl_conn_t,
    lists: [&[Callback]; 2],
    name: &str,
    kind: NameKind,
) -> Result<String, c_int> {
    let status = Arc::new(AtomicI32::new(SASL_OK));
    let app = find_callback(&lists, SASL_CB_CANON_USER).map(|callback| {
        Arc::new(CanonUser {
            callback,
            conn: conn as usize,
            user_realm: None,
            status: status.clone(),
        }) as Arc<dyn CanonicalizeUser>
    });
    let plugin = crate::plugins::connection_canon(
        conn as usize,
        app.clone(),
        option(&lists, None, "canon_user_plugin"),
        true,
    );
    let trim = |n: String| n.trim_matches(|c: char| c.is_ascii_whitespace()).to_owned();
    let result = match (plugin, app) {
        (Some(plugin), _) => plugin.canonicalize(name, kind),
        (None, Some(app)) => app.canonicalize(name, kind).map(trim),
        (None, None) => Ok(trim(name.to_owned())),
    };
    result.map_err(|_| match status.load(Ordering::Relaxed) {
        SASL_OK => SASL_FAIL,
        code => code,
    })
}

impl ClientSource {
    /// [`client_canonical`] of `name` on this connection; `None` (the failure recorded) when
    /// it fails.
    fn canonical(&self, name: String, kind: NameKind) -> Option<String> {
        client_canonical(self.conn.0, [&self.connection, &self.global], &name, kind)
            .map_err(|code| self.fail(code))
            .ok()
    }
}

impl CredentialSource for ClientSource {
    fn authcid(&self) -> Option<String> {
        // Also the authorization identity (SASL_CU_AUTHZID) unless one was already given on
        // this connection: the mechanisms ask for the authentication id first, so on a first
        // exchange an authorization id that follows is not known yet (Cyrus's PLAIN asks for
        // it first; only the flags the application's callback sees differ).
        let alone = self.state().authzid.as_deref().is_none_or(str::is_empty);
        let kind = if alone {
            NameKind::AuthcidAndAuthzid
        } else {
            NameKind::Authcid
        };
        let value = self
            .simple(SASL_CB_AUTHNAME)
            .and_then(|name| self.canonical(name, kind));
        if value.is_some() {
            self.state().authcid.clone_from(&value);
        }
        value
    }

    fn authzid(&self) -> Option<String> {
        let value = self.simple(SASL_CB_USER).and_then(|name| {
            if name.is_empty() {
                Some(name)
            } else {
                self.canonical(name, NameKind::Authzid)
            }
        });
        if value.is_some() {
            self.state().authzid.clone_from(&value);
        }
        value
    }

    fn password(&self) -> Option<Secret> {
        if let Some(value) = self.answer(SASL_CB_PASS) {
            return Some(Secret::from(value.as_slice()));
        }
        let Provided::Procedure(cb) = self.provided(SASL_CB_PASS) else {
            return None;
        };
        let getsecret = cb.getsecret()?;
        let mut secret: *mut sasl_secret_t = std::ptr::null_mut();
        // SAFETY: valid out-pointer; the secret stays the application's (never freed here).
        let status = unsafe {
            getsecret(
                self.conn.0,
                cb.context,
                c_int::try_from(SASL_CB_PASS).unwrap_or(0),
                &mut secret,
            )
        };
        if status != SASL_OK {
            self.fail(status);
            return None;
        }
        if secret.is_null() {
            self.fail(SASL_BADPARAM);
            return None;
        }
        // SAFETY: a sasl_secret_t followed by `len` bytes of data, per the callback contract.
        let value = unsafe {
            let len = usize::try_from((*secret).len).unwrap_or(0).min(1 << 16);
            std::slice::from_raw_parts(std::ptr::addr_of!((*secret).data).cast::<u8>(), len)
                .to_vec()
        };
        Some(Secret::new(value))
    }

    /// Cyrus's DIGEST-MD5 client: the only realm offered; with several, the GETREALM answer
    /// or callback; else (none offered, or no way to choose) the server's name.
    fn realm(&self, offered: &[String]) -> Option<String> {
        if let [only] = offered {
            return Some(only.clone());
        }
        if offered.is_empty() {
            return Some(self.server_fqdn.clone());
        }
        if let Some(value) = self.answer(SASL_CB_GETREALM) {
            return Some(String::from_utf8_lossy(&value).into_owned());
        }
        let cb = match self.provided(SASL_CB_GETREALM) {
            Provided::Procedure(cb) => cb,
            Provided::Interact => return None,
            Provided::Absent => return Some(self.server_fqdn.clone()),
        };
        let getrealm = cb.getrealm()?;
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
            self.fail(status);
            return None;
        }
        // SAFETY: the callback returned a NUL-terminated string or NULL.
        let realm = unsafe { opt_string(result) };
        if realm.is_none() {
            self.fail(SASL_BADPARAM);
        }
        realm
    }

    fn asks(&self, kind: CredentialKind) -> bool {
        let id = match kind {
            CredentialKind::Authcid => SASL_CB_AUTHNAME,
            CredentialKind::Password => SASL_CB_PASS,
            CredentialKind::Authzid => SASL_CB_USER,
            CredentialKind::Realm => SASL_CB_GETREALM,
            _ => return false,
        };
        self.failure().is_none()
            && self.answer(id).is_none()
            && matches!(self.provided(id), Provided::Interact)
    }
}

/// The prompts for `kinds`, in Cyrus's order (USER, AUTHNAME, PASS, GETREALM), with their
/// texts; the array ends with a `SASL_CB_LIST_END` entry. The texts live in `texts`, which
/// must outlive the prompts.
pub(crate) fn prompts(kinds: &[CredentialKind], texts: &mut Vec<CString>) -> Vec<sasl_interact_t> {
    const ORDER: [(CredentialKind, c_ulong, &str, &str); 4] = [
        (
            CredentialKind::Authzid,
            SASL_CB_USER,
            "Authorization Name",
            "Please enter your authorization name",
        ),
        (
            CredentialKind::Authcid,
            SASL_CB_AUTHNAME,
            "Authentication Name",
            "Please enter your authentication name",
        ),
        (
            CredentialKind::Password,
            SASL_CB_PASS,
            "Password",
            "Please enter your password",
        ),
        (
            CredentialKind::Realm,
            SASL_CB_GETREALM,
            "Realm",
            "Please enter your realm",
        ),
    ];
    texts.clear();
    let wanted: Vec<_> = ORDER
        .iter()
        .filter(|(kind, ..)| kinds.contains(kind))
        .collect();
    for (_, _, challenge, prompt) in &wanted {
        texts.push(cstring(challenge));
        texts.push(cstring(prompt));
    }
    let mut prompts: Vec<sasl_interact_t> = wanted
        .iter()
        .zip(texts.chunks_exact(2))
        .map(|((_, id, ..), text)| sasl_interact_t {
            id: *id,
            challenge: text.first().map_or(std::ptr::null(), |t| t.as_ptr()),
            prompt: text.get(1).map_or(std::ptr::null(), |t| t.as_ptr()),
            defresult: std::ptr::null(),
            result: std::ptr::null(),
            len: 0,
        })
        .collect();
    prompts.push(sasl_interact_t {
        id: SASL_CB_LIST_END,
        challenge: std::ptr::null(),
        prompt: std::ptr::null(),
        defresult: std::ptr::null(),
        result: std::ptr::null(),
        len: 0,
    });
    prompts
}
