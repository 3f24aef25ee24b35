//! Debian's extra exports from Cyrus's `lib/config.c` and `lib/common.c` (declared in no
//! installed header): a process-wide key/value list read from one configuration file, and
//! the common part of `sasl_done`.

use std::ffi::{CString, c_char, c_int};
use std::sync::{Mutex, MutexGuard, OnceLock};

use puresasl::config::Config;

use crate::consts::*;
use crate::global::global;
use crate::util::{guard, nonnull, opt_string};

/// The list `sasl_config_init` read, and every string `sasl_config_getstring` handed out
/// (kept until `sasl_config_done`, as Cyrus keeps its list).
#[derive(Default)]
struct ConfigList {
    file: Option<Config>,
    handed_out: Vec<(String, CString)>,
}

fn config_list() -> MutexGuard<'static, ConfigList> {
    static LIST: OnceLock<Mutex<ConfigList>> = OnceLock::new();
    LIST.get_or_init(|| Mutex::new(ConfigList::default()))
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Reads the configuration file at `filename` (a path, as in Cyrus) into the process-wide
/// list, replacing what was there: `SASL_CONTINUE` if it cannot be opened, `SASL_CONFIGERR`
/// if a line is malformed.
///
/// # Safety
/// `filename` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_config_init(filename: *const c_char) -> c_int {
    guard!(SASL_FAIL, {
        nonnull!(filename);
        // SAFETY: NUL-terminated per the contract.
        let Some(filename) = (unsafe { opt_string(filename) }) else {
            return SASL_BADPARAM;
        };
        let Ok(bytes) = std::fs::read(&filename) else {
            return SASL_CONTINUE;
        };
        let Ok(file) = Config::parse(&String::from_utf8_lossy(&bytes)) else {
            return SASL_CONFIGERR;
        };
        let mut list = config_list();
        list.file = Some(file);
        list.handed_out.clear();
        SASL_OK
    })
}

/// The value of `key` in the list `sasl_config_init` read (else in the file `sasl_server_init`
/// read), or `def`. The string stays valid until `sasl_config_done`.
///
/// # Safety
/// `key` NULL or NUL-terminated; `def` is returned as is.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_config_getstring(
    key: *const c_char,
    def: *const c_char,
) -> *const c_char {
    guard!(def, {
        // SAFETY: NUL-terminated per the contract.
        let Some(key) = (unsafe { opt_string(key) }) else {
            return def;
        };
        let mut list = config_list();
        let value = match &list.file {
            Some(file) => file.get(&key).map(str::to_owned),
            None => global()
                .server
                .as_ref()
                .and_then(|server| server.file.get(&key).map(str::to_owned)),
        };
        let Some(value) = value else {
            return def;
        };
        if let Some((_, kept)) = list
            .handed_out
            .iter()
            .find(|(k, kept)| *k == key && kept.to_bytes() == value.as_bytes())
        {
            return kept.as_ptr();
        }
        let Ok(kept) = CString::new(value) else {
            return def;
        };
        // The CString's heap buffer does not move when the Vec grows.
        let ptr = kept.as_ptr();
        list.handed_out.push((key, kept));
        ptr
    })
}

/// Frees the list `sasl_config_init` read (strings from `sasl_config_getstring` die with it).
#[unsafe(no_mangle)]
pub extern "C" fn sasl_config_done() {
    guard!((), {
        *config_list() = ConfigList::default();
    })
}

/// The part of `sasl_done` common to both sides: forgets the paths set with `sasl_set_path`
/// (the caller sets them again before the next `sasl_*_init`, as with Cyrus) and the
/// configuration list.
#[unsafe(no_mangle)]
pub extern "C" fn sasl_common_done() {
    guard!((), {
        {
            let mut state = global();
            state.config_path = None;
            state.plugin_path = None;
        }
        *config_list() = ConfigList::default();
    })
}
