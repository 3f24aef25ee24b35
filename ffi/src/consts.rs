//! The numeric constants of Cyrus's `sasl/sasl.h`, `sasl/prop.h` and `sasl/saslplug.h`, with
//! the same names and values (checked against the installed headers by `ffi/tests/c/abi.c`, run from
//! `ffi/tests/c_programs.rs`).

use std::ffi::{c_int, c_uint, c_ulong};

/// Another step is needed in authentication.
pub const SASL_CONTINUE: c_int = 1;
/// Successful result.
pub const SASL_OK: c_int = 0;
/// Generic failure.
pub const SASL_FAIL: c_int = -1;
/// Memory shortage failure.
pub const SASL_NOMEM: c_int = -2;
/// Overflowed buffer.
pub const SASL_BUFOVER: c_int = -3;
/// Mechanism not supported.
pub const SASL_NOMECH: c_int = -4;
/// Bad protocol / cancel.
pub const SASL_BADPROT: c_int = -5;
/// Can't request information until later in exchange.
pub const SASL_NOTDONE: c_int = -6;
/// Invalid parameter supplied.
pub const SASL_BADPARAM: c_int = -7;
/// Transient failure (e.g., weak key).
pub const SASL_TRYAGAIN: c_int = -8;
/// Integrity check failed.
pub const SASL_BADMAC: c_int = -9;
/// SASL library is not initialized.
pub const SASL_NOTINIT: c_int = -12;
/// Needs user interaction.
pub const SASL_INTERACT: c_int = 2;
/// Server failed mutual authentication step.
pub const SASL_BADSERV: c_int = -10;
/// Mechanism doesn't support requested feature.
pub const SASL_WRONGMECH: c_int = -11;
/// Authentication failure.
pub const SASL_BADAUTH: c_int = -13;
/// Authorization failure.
pub const SASL_NOAUTHZ: c_int = -14;
/// Mechanism too weak for this user.
pub const SASL_TOOWEAK: c_int = -15;
/// Encryption needed to use mechanism.
pub const SASL_ENCRYPT: c_int = -16;
/// One time use of a plaintext password will enable requested mechanism for user.
pub const SASL_TRANS: c_int = -17;
/// Passphrase expired, has to be reset.
pub const SASL_EXPIRED: c_int = -18;
/// Account disabled.
pub const SASL_DISABLED: c_int = -19;
/// User not found.
pub const SASL_NOUSER: c_int = -20;
/// Version mismatch with plug-in.
pub const SASL_BADVERS: c_int = -23;
/// Remote authentication server unavailable.
pub const SASL_UNAVAIL: c_int = -24;
/// User exists, but no verifier for user.
pub const SASL_NOVERIFY: c_int = -26;
/// Passphrase locked.
pub const SASL_PWLOCK: c_int = -21;
/// Requested change was not needed.
pub const SASL_NOCHANGE: c_int = -22;
/// Passphrase is too weak for security policy.
pub const SASL_WEAKPASS: c_int = -27;
/// User supplied passwords not permitted.
pub const SASL_NOUSERPASS: c_int = -28;
/// `sasl_setpass` needs the old password in order to perform a password change.
pub const SASL_NEED_OLD_PASSWD: c_int = -29;
/// A property can't be stored because of a constraint violation.
pub const SASL_CONSTRAINT_VIOLAT: c_int = -30;
/// Channel binding failure.
pub const SASL_BADBINDING: c_int = -32;
/// Error when parsing the configuration file.
pub const SASL_CONFIGERR: c_int = -100;

/// Major version of the Cyrus API this library implements.
pub const SASL_VERSION_MAJOR: c_int = 2;
/// Minor version.
pub const SASL_VERSION_MINOR: c_int = 1;
/// Step version.
pub const SASL_VERSION_STEP: c_int = 28;
/// The version as one number (`0x02011c`).
pub const SASL_VERSION_FULL: c_int = 0x02011c;

/// The longest mechanism name.
pub const SASL_MECHNAMEMAX: c_int = 20;

/// `sasl_set_path` type: the plugin directory.
pub const SASL_PATH_TYPE_PLUGIN: c_int = 0;
/// `sasl_set_path` type: the configuration directory.
pub const SASL_PATH_TYPE_CONFIG: c_int = 1;

/// Security flag: don't permit mechanisms susceptible to simple passive attack.
pub const SASL_SEC_NOPLAINTEXT: c_uint = 0x0001;
/// Security flag: protection from active (non-dictionary) attacks.
pub const SASL_SEC_NOACTIVE: c_uint = 0x0002;
/// Security flag: don't permit mechanisms susceptible to passive dictionary attack.
pub const SASL_SEC_NODICTIONARY: c_uint = 0x0004;
/// Security flag: require forward secrecy between sessions.
pub const SASL_SEC_FORWARD_SECRECY: c_uint = 0x0008;
/// Security flag: don't permit mechanisms that allow anonymous login.
pub const SASL_SEC_NOANONYMOUS: c_uint = 0x0010;
/// Security flag: require mechanisms which pass client credentials.
pub const SASL_SEC_PASS_CREDENTIALS: c_uint = 0x0020;
/// Security flag: require mechanisms which provide mutual authentication.
pub const SASL_SEC_MUTUAL_AUTH: c_uint = 0x0040;
/// Security flag: every flag.
pub const SASL_SEC_MAXIMUM: c_uint = 0xFFFF;

/// `sasl_*_new` flag: the protocol can carry additional data with success.
pub const SASL_SUCCESS_DATA: c_uint = 0x0004;
/// `sasl_*_new` flag: require a mechanism that allows proxying.
pub const SASL_NEED_PROXY: c_uint = 0x0008;
/// `sasl_*_new` flag: require a mechanism that can do HTTP.
pub const SASL_NEED_HTTP: c_uint = 0x0010;

/// Callback id: end of a callback list.
pub const SASL_CB_LIST_END: c_ulong = 0;
/// Callback id: get an option value.
pub const SASL_CB_GETOPT: c_ulong = 1;
/// Callback id: log a message.
pub const SASL_CB_LOG: c_ulong = 2;
/// Callback id: get the plugin path.
pub const SASL_CB_GETPATH: c_ulong = 3;
/// Callback id: verify a file before it is used.
pub const SASL_CB_VERIFYFILE: c_ulong = 4;
/// Callback id: get the configuration path.
pub const SASL_CB_GETCONFPATH: c_ulong = 5;
/// Callback id: the client's authorization identity.
pub const SASL_CB_USER: c_ulong = 0x4001;
/// Callback id: the client's authentication identity.
pub const SASL_CB_AUTHNAME: c_ulong = 0x4002;
/// Callback id: the language.
pub const SASL_CB_LANGUAGE: c_ulong = 0x4003;
/// Callback id: the client's password.
pub const SASL_CB_PASS: c_ulong = 0x4004;
/// Callback id: prompt with echo.
pub const SASL_CB_ECHOPROMPT: c_ulong = 0x4005;
/// Callback id: prompt without echo.
pub const SASL_CB_NOECHOPROMPT: c_ulong = 0x4006;
/// Callback id: the client nonce.
pub const SASL_CB_CNONCE: c_ulong = 0x4007;
/// Callback id: choose a realm.
pub const SASL_CB_GETREALM: c_ulong = 0x4008;
/// Callback id: the server's authorization policy.
pub const SASL_CB_PROXY_POLICY: c_ulong = 0x8001;
/// Callback id: the server application checks plaintext passwords.
pub const SASL_CB_SERVER_USERDB_CHECKPASS: c_ulong = 0x8005;
/// Callback id: the server application stores passwords.
pub const SASL_CB_SERVER_USERDB_SETPASS: c_ulong = 0x8006;
/// Callback id: user name canonicalisation.
pub const SASL_CB_CANON_USER: c_ulong = 0x8007;

/// Log level: log nothing.
pub const SASL_LOG_NONE: c_int = 0;
/// Log level: unusual errors.
pub const SASL_LOG_ERR: c_int = 1;
/// Log level: authentication failures.
pub const SASL_LOG_FAIL: c_int = 2;
/// Log level: non-fatal warnings.
pub const SASL_LOG_WARN: c_int = 3;
/// Log level: more verbose than WARN.
pub const SASL_LOG_NOTE: c_int = 4;
/// Log level: more verbose than NOTE.
pub const SASL_LOG_DEBUG: c_int = 5;
/// Log level: traces of internal protocols.
pub const SASL_LOG_TRACE: c_int = 6;
/// Log level: traces including passwords.
pub const SASL_LOG_PASS: c_int = 7;

/// `sasl_seterror` flag: don't log the message.
pub const SASL_NOLOG: c_uint = 0x01;

/// Property: the authorization identity (`const char *`).
pub const SASL_USERNAME: c_int = 0;
/// Property: the negotiated security strength factor (`const sasl_ssf_t *`).
pub const SASL_SSF: c_int = 1;
/// Property: the largest `sasl_encode` input (`const unsigned *`).
pub const SASL_MAXOUTBUF: c_int = 2;
/// Property: the default user realm.
pub const SASL_DEFUSERREALM: c_int = 3;
/// Property: the GETOPT context.
pub const SASL_GETOPTCTX: c_int = 4;
/// Property: the callback list.
pub const SASL_CALLBACK: c_int = 7;
/// Property: the local `address;port`.
pub const SASL_IPLOCALPORT: c_int = 8;
/// Property: the remote `address;port`.
pub const SASL_IPREMOTEPORT: c_int = 9;
/// Property: a plugin error.
pub const SASL_PLUGERR: c_int = 10;
/// Property: delegated credentials.
pub const SASL_DELEGATEDCREDS: c_int = 11;
/// Property: the service name.
pub const SASL_SERVICE: c_int = 12;
/// Property: the server's host name.
pub const SASL_SERVERFQDN: c_int = 13;
/// Property: the authentication source.
pub const SASL_AUTHSOURCE: c_int = 14;
/// Property: the mechanism in use.
pub const SASL_MECHNAME: c_int = 15;
/// Property: the authentication identity.
pub const SASL_AUTHUSER: c_int = 16;
/// Property: the application name.
pub const SASL_APPNAME: c_int = 17;
/// Property: GSSAPI credentials.
pub const SASL_GSS_CREDS: c_int = 18;
/// Property: the GSSAPI peer name.
pub const SASL_GSS_PEER_NAME: c_int = 19;
/// Property: the GSSAPI local name.
pub const SASL_GSS_LOCAL_NAME: c_int = 20;
/// Property: channel binding data (`const sasl_channel_binding_t *`).
pub const SASL_CHANNEL_BINDING: c_int = 21;
/// Property: the HTTP request.
pub const SASL_HTTP_REQUEST: c_int = 22;
/// Property: the external security strength factor (`const sasl_ssf_t *`).
pub const SASL_SSF_EXTERNAL: c_int = 100;
/// Property: the security properties (`const sasl_security_properties_t *`).
pub const SASL_SEC_PROPS: c_int = 101;
/// Property: the external authentication identity.
pub const SASL_AUTH_EXTERNAL: c_int = 102;

/// Canonicalisation flag: the authentication identity.
pub const SASL_CU_AUTHID: c_uint = 0x01;
/// Canonicalisation flag: the authorization identity.
pub const SASL_CU_AUTHZID: c_uint = 0x02;
/// Canonicalisation flag: the identity was verified externally.
pub const SASL_CU_EXTERNALLY_VERIFIED: c_uint = 0x04;
/// Canonicalisation flag: override.
pub const SASL_CU_OVERRIDE: c_uint = 0x08;
/// Canonicalisation flag: verify against a hash.
pub const SASL_CU_VERIFY_AGAINST_HASH: c_uint = 0x10;

/// `sasl_setpass` flag: create the user.
pub const SASL_SET_CREATE: c_uint = 0x01;
/// `sasl_setpass` flag: disable the account.
pub const SASL_SET_DISABLE: c_uint = 0x02;
/// `sasl_setpass` flag: store no plaintext password.
pub const SASL_SET_NOPLAIN: c_uint = 0x04;
/// `sasl_setpass` flag: only set the current mechanism's secret.
pub const SASL_SET_CURMECH_ONLY: c_uint = 0x08;

/// Auxprop flag: override existing values.
pub const SASL_AUXPROP_OVERRIDE: c_uint = 0x01;
/// Auxprop flag: the request is for the authorization identity.
pub const SASL_AUXPROP_AUTHZID: c_uint = 0x02;
/// Auxprop flag: verify against a hash.
pub const SASL_AUXPROP_VERIFY_AGAINST_HASH: c_uint = 0x10;
