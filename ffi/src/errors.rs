//! Result codes: the one table from core errors to Cyrus codes, and `sasl_errstring`'s texts.

use std::ffi::{CStr, c_char, c_int};

use puresasl::Error;

use crate::consts::*;
use crate::util::{guard, put};

/// The Cyrus result code of a core error, and the detail text `sasl_errdetail` shows.
pub fn code_of(error: &Error) -> (c_int, String) {
    let code = match error {
        Error::NoMechanism(_) => SASL_NOMECH,
        Error::AuthenticationFailed => SASL_BADAUTH,
        // Cyrus's default proxy policy reports a refused authzid as an authentication failure.
        Error::AuthorizationFailed => {
            return (
                SASL_BADAUTH,
                "Requested identity not authenticated identity".to_owned(),
            );
        }
        Error::Protocol(_) => SASL_BADPROT,
        Error::ServerAuthenticationFailed => SASL_BADSERV,
        Error::PeerError(_) => SASL_BADAUTH,
        Error::ChannelBinding(_) => SASL_BADBINDING,
        // A database or daemon that is down: a temporary failure, as Cyrus reports it (Postfix
        // answers 454 and the client retries), never "wrong password".
        Error::Store(_) => SASL_FAIL,
        Error::MissingCredential(_) => SASL_INTERACT,
        Error::NeedCredentials(_) => SASL_INTERACT,
        Error::Integrity => SASL_BADMAC,
        Error::TooWeak => SASL_TOOWEAK,
        Error::Config(_) => SASL_CONFIGERR,
        Error::State(_) => SASL_BADPROT,
        _ => SASL_FAIL,
    };
    (code, error.to_string())
}

/// The text of a result code, as Cyrus's `sasl_errstring` gives it (these appear verbatim in
/// SMTP replies and logs).
pub fn errstring(code: c_int) -> &'static CStr {
    match code {
        SASL_CONTINUE => c"another step is needed in authentication",
        SASL_OK => c"successful result",
        SASL_FAIL => c"generic failure",
        SASL_NOMEM => c"no memory available",
        SASL_BUFOVER => c"overflowed buffer",
        SASL_NOMECH => c"no mechanism available",
        SASL_BADPROT => c"bad protocol / cancel",
        SASL_NOTDONE => c"can't request information until later in exchange",
        SASL_BADPARAM => c"invalid parameter supplied",
        SASL_TRYAGAIN => c"transient failure (e.g., weak key)",
        SASL_BADMAC => c"integrity check failed",
        SASL_NOTINIT => c"SASL library is not initialized",
        SASL_INTERACT => c"needs user interaction",
        SASL_BADSERV => c"server failed mutual authentication step",
        SASL_WRONGMECH => c"mechanism doesn't support requested feature",
        SASL_BADAUTH => c"authentication failure",
        SASL_NOAUTHZ => c"authorization failure",
        SASL_TOOWEAK => c"mechanism too weak for this user",
        SASL_ENCRYPT => c"encryption needed to use mechanism",
        SASL_TRANS => {
            c"One time use of a plaintext password will enable requested mechanism for user"
        }
        SASL_EXPIRED => c"passphrase expired, has to be reset",
        SASL_DISABLED => c"account disabled",
        SASL_NOUSER => c"user not found",
        SASL_BADVERS => c"version mismatch with plug-in",
        SASL_UNAVAIL => c"remote authentication server unavailable",
        SASL_NOVERIFY => c"user exists, but no verifier for user",
        SASL_PWLOCK => c"passphrase locked",
        SASL_NOCHANGE => c"requested change was not needed",
        SASL_WEAKPASS => c"passphrase is too weak for security policy",
        SASL_NOUSERPASS => c"user supplied passwords are not permitted",
        SASL_NEED_OLD_PASSWD => {
            c"sasl_setpass needs old password in order to perform password change"
        }
        SASL_CONSTRAINT_VIOLAT => {
            c"sasl_setpass can't store a property because of a constraint violation"
        }
        SASL_BADBINDING => c"channel binding failure",
        SASL_CONFIGERR => c"error when parsing configuration file",
        _ => c"undefined error!",
    }
}

/// The text of a result code; `*outlang` is set to `"en-us"`.
///
/// # Safety
/// `outlang` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_errstring(
    saslerr: c_int,
    langlist: *const c_char,
    outlang: *mut *const c_char,
) -> *const c_char {
    let _ = langlist;
    guard!(c"undefined error!".as_ptr(), {
        // SAFETY: NULL or writable.
        unsafe { put(outlang, c"en-us".as_ptr()) };
        errstring(saslerr).as_ptr()
    })
}
