//! The `ffi_api` fuzz target's body: drives the exported C functions of `libsasl2.so.2` as an
//! application would, in fuzzer-chosen sequences, through their C symbols only (so the same
//! body also runs against older revisions of the library).
//!
//! The input is a little program: each operation is a byte choosing what to call, followed by
//! the bytes its arguments are read from. The body holds on to every pointer the library hands
//! out (`SASL_USERNAME` and the other string properties, `sasl_listmech` lists,
//! `sasl_errdetail` texts, step and layer outputs, `prop_get` arrays) for as long as the
//! library documents it readable, and reads them all after every operation, so that under
//! AddressSanitizer a pointer freed too early is a crash. Oracles besides: no panic across the
//! boundary, `sasl_dispose` clears the handle, a negotiated security layer decodes what the
//! peer encoded, byte for byte, and the base64 helpers round-trip and respect `outmax`.
//!
//! Included with `#[path]` by `fuzz/fuzz_targets/ffi_api.rs` and by the corpus replay test
//! (`ffi/tests/fuzz_corpus.rs`); the crate that includes it must link `puresasl-ffi`.

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::as_conversions,
    clippy::cast_possible_truncation,
    reason = "fuzz harness: a broken invariant is reported by panicking"
)]
#![allow(
    clippy::undocumented_unsafe_blocks,
    reason = "every unsafe block is a call into the C API, as an application makes it, with \
              pointers to memory this harness owns and keeps alive as the API documents"
)]

use std::ffi::{CStr, CString, c_char, c_int, c_uint, c_ulong, c_void};
use std::ptr::{self, null, null_mut};
use std::sync::Once;

type Conn = c_void;
type PropCtx = c_void;
type Proc = Option<unsafe extern "C" fn() -> c_int>;

#[repr(C)]
struct Callback {
    id: c_ulong,
    proc_: Proc,
    context: *mut c_void,
}

#[repr(C)]
struct Interact {
    id: c_ulong,
    challenge: *const c_char,
    prompt: *const c_char,
    defresult: *const c_char,
    result: *const c_void,
    len: c_uint,
}

#[repr(C)]
struct SecProps {
    min_ssf: c_uint,
    max_ssf: c_uint,
    maxbufsize: c_uint,
    security_flags: c_uint,
    property_names: *const *const c_char,
    property_values: *const *const c_char,
}

#[repr(C)]
struct ChannelBinding {
    name: *const c_char,
    critical: c_int,
    len: c_ulong,
    data: *const u8,
}

#[repr(C)]
struct Propval {
    name: *const c_char,
    values: *const *const c_char,
    nvalues: c_uint,
    valsize: c_uint,
}

#[repr(C)]
struct Iovec {
    base: *const c_void,
    len: usize,
}

type Out = *mut *const c_char;

unsafe extern "C" {
    fn sasl_server_init(callbacks: *const Callback, appname: *const c_char) -> c_int;
    fn sasl_client_init(callbacks: *const Callback) -> c_int;
    fn sasl_server_new(
        service: *const c_char,
        fqdn: *const c_char,
        user_realm: *const c_char,
        iplocalport: *const c_char,
        ipremoteport: *const c_char,
        callbacks: *const Callback,
        flags: c_uint,
        pconn: *mut *mut Conn,
    ) -> c_int;
    fn sasl_client_new(
        service: *const c_char,
        fqdn: *const c_char,
        iplocalport: *const c_char,
        ipremoteport: *const c_char,
        callbacks: *const Callback,
        flags: c_uint,
        pconn: *mut *mut Conn,
    ) -> c_int;
    fn sasl_server_start(
        conn: *mut Conn,
        mech: *const c_char,
        clientin: *const c_char,
        clientinlen: c_uint,
        serverout: Out,
        serveroutlen: *mut c_uint,
    ) -> c_int;
    fn sasl_server_step(
        conn: *mut Conn,
        clientin: *const c_char,
        clientinlen: c_uint,
        serverout: Out,
        serveroutlen: *mut c_uint,
    ) -> c_int;
    fn sasl_client_start(
        conn: *mut Conn,
        mechlist: *const c_char,
        prompt_need: *mut *mut Interact,
        clientout: Out,
        clientoutlen: *mut c_uint,
        mech: Out,
    ) -> c_int;
    fn sasl_client_step(
        conn: *mut Conn,
        serverin: *const c_char,
        serverinlen: c_uint,
        prompt_need: *mut *mut Interact,
        clientout: Out,
        clientoutlen: *mut c_uint,
    ) -> c_int;
    fn sasl_setprop(conn: *mut Conn, propnum: c_int, value: *const c_void) -> c_int;
    fn sasl_getprop(conn: *mut Conn, propnum: c_int, pvalue: *mut *const c_void) -> c_int;
    fn sasl_listmech(
        conn: *mut Conn,
        user: *const c_char,
        prefix: *const c_char,
        sep: *const c_char,
        suffix: *const c_char,
        result: Out,
        plen: *mut c_uint,
        pcount: *mut c_int,
    ) -> c_int;
    fn sasl_errdetail(conn: *mut Conn) -> *const c_char;
    fn sasl_encode(
        conn: *mut Conn,
        input: *const c_char,
        inputlen: c_uint,
        output: Out,
        outputlen: *mut c_uint,
    ) -> c_int;
    fn sasl_encodev(
        conn: *mut Conn,
        invec: *const Iovec,
        numiov: c_uint,
        output: Out,
        outputlen: *mut c_uint,
    ) -> c_int;
    fn sasl_decode(
        conn: *mut Conn,
        input: *const c_char,
        inputlen: c_uint,
        output: Out,
        outputlen: *mut c_uint,
    ) -> c_int;
    fn sasl_dispose(pconn: *mut *mut Conn);
    fn sasl_checkpass(
        conn: *mut Conn,
        user: *const c_char,
        userlen: c_uint,
        pass: *const c_char,
        passlen: c_uint,
    ) -> c_int;
    fn sasl_user_exists(
        conn: *mut Conn,
        service: *const c_char,
        user_realm: *const c_char,
        user: *const c_char,
    ) -> c_int;
    fn sasl_setpass(
        conn: *mut Conn,
        user: *const c_char,
        pass: *const c_char,
        passlen: c_uint,
        oldpass: *const c_char,
        oldpasslen: c_uint,
        flags: c_uint,
    ) -> c_int;
    fn sasl_encode64(
        input: *const c_char,
        inlen: c_uint,
        out: *mut c_char,
        outmax: c_uint,
        outlen: *mut c_uint,
    ) -> c_int;
    fn sasl_decode64(
        input: *const c_char,
        inlen: c_uint,
        out: *mut c_char,
        outmax: c_uint,
        outlen: *mut c_uint,
    ) -> c_int;
    fn sasl_auxprop_getctx(conn: *mut Conn) -> *mut PropCtx;
    fn sasl_auxprop_request(conn: *mut Conn, names: *const *const c_char) -> c_int;
    fn sasl_auxprop_add_plugin(
        plugname: *const c_char,
        init: puresasl_ffi::plugin_abi::AuxpropInit,
    ) -> c_int;
    fn prop_new(estimate: c_uint) -> *mut PropCtx;
    fn prop_request(ctx: *mut PropCtx, names: *const *const c_char) -> c_int;
    fn prop_get(ctx: *mut PropCtx) -> *const Propval;
    fn prop_set(ctx: *mut PropCtx, name: *const c_char, value: *const c_char, len: c_int) -> c_int;
    fn prop_clear(ctx: *mut PropCtx, requests: c_int);
    fn prop_erase(ctx: *mut PropCtx, name: *const c_char);
    fn prop_dispose(pctx: *mut *mut PropCtx);
    fn prop_format(
        ctx: *mut PropCtx,
        sep: *const c_char,
        seplen: c_int,
        outbuf: *mut c_char,
        outmax: c_uint,
        outlen: *mut c_uint,
    ) -> c_int;
}

const SASL_OK: c_int = 0;
const SASL_CONTINUE: c_int = 1;
const SASL_INTERACT: c_int = 2;
const SASL_CB_LIST_END: c_ulong = 0;
const SASL_CB_GETOPT: c_ulong = 1;
const SASL_CB_LOG: c_ulong = 2;
const SASL_CB_USER: c_ulong = 0x4001;
const SASL_CB_AUTHNAME: c_ulong = 0x4002;
const SASL_CB_PASS: c_ulong = 0x4004;
const SASL_CB_GETREALM: c_ulong = 0x4008;
const SASL_SET_CREATE: c_uint = 1;

/// The user every fuzz server knows, and that user's password.
const USER: &CStr = c"user";
const PASSWORD: &[u8] = b"pencil";
const SERVICE: &CStr = c"imap";
const FQDN: &CStr = c"localhost";
const REALM: &CStr = c"example.org";

const MECHANISMS: &[&CStr] = &[
    c"PLAIN",
    c"LOGIN",
    c"CRAM-MD5",
    c"DIGEST-MD5",
    c"SCRAM-SHA-1",
    c"SCRAM-SHA-256",
    c"SCRAM-SHA-256-PLUS",
    c"ANONYMOUS",
    c"EXTERNAL",
    c"GSSAPI",
    c"",
];

/// Properties whose value is a NUL-terminated string (readable until `sasl_dispose`).
const STRING_PROPERTIES: &[c_int] = &[0, 3, 8, 9, 12, 13, 14, 15, 16, 17];
/// Properties whose value is an `unsigned` (`SASL_SSF`, `SASL_MAXOUTBUF`).
const NUMBER_PROPERTIES: &[c_int] = &[1, 2];
/// Properties to set: external SSF, security properties, external identity, channel
/// binding, the default realm, the addresses, the application name.
const SETTABLE: &[c_int] = &[100, 101, 102, 21, 3, 8, 9, 17, 0, 1, 2, 7, 22, 999];

/// The fuzz input, read front to back; reads past the end give zeros.
struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&first, rest)) => {
                self.data = rest;
                first
            }
            None => 0,
        }
    }

    fn choose<T: Copy>(&mut self, items: &[T]) -> T {
        items[usize::from(self.byte()) % items.len()]
    }

    /// Reads a byte: true one time in `n`.
    fn one_in(&mut self, n: u8) -> bool {
        self.byte().is_multiple_of(n)
    }

    fn number(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    /// A length-prefixed byte string (at most 255 bytes).
    fn bytes(&mut self) -> &'a [u8] {
        let len = usize::from(self.byte()).min(self.data.len());
        let (taken, rest) = self.data.split_at(len);
        self.data = rest;
        taken
    }

    /// A C string (bytes up to the first NUL).
    fn text(&mut self) -> CString {
        let bytes = self.bytes();
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        CString::new(&bytes[..end]).unwrap()
    }

    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// What a client connection's callbacks answer, and the memory they hand out.
struct Answers {
    user: CString,
    authname: CString,
    password: Vec<u8>,
    /// Every `sasl_secret_t` handed out, kept until `sasl_dispose` (a mechanism may keep
    /// the pointer across steps).
    secrets: Vec<Vec<c_ulong>>,
}

/// A pointer the library handed out, with what it points to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Held {
    Text(*const c_char),
    Bytes(*const c_char, c_uint),
    Number(*const c_uint),
}

impl Held {
    /// Reads every byte the pointer covers (under ASan, a freed one is a crash).
    unsafe fn touch(self) -> u64 {
        match self {
            Held::Text(text) if !text.is_null() => unsafe { CStr::from_ptr(text) }
                .to_bytes()
                .iter()
                .map(|&b| u64::from(b))
                .sum(),
            Held::Bytes(bytes, len) if !bytes.is_null() => {
                unsafe { std::slice::from_raw_parts(bytes.cast::<u8>(), len as usize) }
                    .iter()
                    .map(|&b| u64::from(b))
                    .sum()
            }
            Held::Number(number) if !number.is_null() => u64::from(unsafe { *number }),
            _ => 0,
        }
    }
}

/// One connection and everything the body keeps for it.
struct Connection {
    conn: *mut Conn,
    server: bool,
    /// Pointers readable until `sasl_dispose`: string and number properties, and (under
    /// our library's guarantee) everything in `recent` too.
    held: Vec<Held>,
    /// Pointers Cyrus keeps readable only until the next call on the connection (step and
    /// layer outputs, `sasl_errdetail`, `sasl_listmech`). With
    /// `PURESASL_FUZZ_CYRUS_LIFETIMES` set they are forgotten at the next call, so the body
    /// holds an implementation only to Cyrus's promise (to run it against older revisions
    /// or other libraries); otherwise they join `held`, as our library promises.
    recent: Vec<Held>,
    /// The client's callbacks and their answers (boxed: the library keeps the pointers).
    callbacks: Option<Box<[Callback]>>,
    answers: Option<Box<Answers>>,
    /// Interaction answers: alive until the next client call.
    prompt_answers: Vec<CString>,
    /// Channel-binding data (the library may keep the pointer, as Cyrus does).
    bindings: Vec<(Box<ChannelBinding>, CString, Vec<u8>)>,
    /// The exchange (numbered by `World::exchanges`) this connection last finished with
    /// `SASL_OK`, with the peer that has the same number; `None` once it starts or steps
    /// another (a new exchange replaces the layer).
    exchange: Option<u32>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        unsafe { sasl_dispose(&mut self.conn) };
        assert!(self.conn.is_null(), "sasl_dispose left the handle set");
    }
}

/// A property context made by `prop_new`, with the `prop_get` array held.
struct Props {
    ctx: *mut PropCtx,
    names: Vec<CString>,
    held: Option<*const Propval>,
}

impl Drop for Props {
    fn drop(&mut self) {
        unsafe { prop_dispose(&mut self.ctx) };
        assert!(self.ctx.is_null(), "prop_dispose left the handle set");
    }
}

unsafe extern "C" fn getopt(
    _context: *mut c_void,
    _plugin: *const c_char,
    option: *const c_char,
    result: *mut *const c_char,
    len: *mut c_uint,
) -> c_int {
    let option = unsafe { CStr::from_ptr(option) };
    let value: &CStr = match option.to_bytes() {
        b"sasldb_path" => sasldb_path(),
        b"server_secret" => c"fuzz-secret",
        b"log_level" => c"7",
        // Cheap SCRAM: users written by sasl_setpass get 2 iterations (PBKDF2 at 4096 was
        // three quarters of the run time), and the client accepts them.
        b"scram_iteration_counter" | b"scram_min_iteration_counter" => c"2",
        // Our code only: Cyrus's plug-in modules (GSSAPI and the rest) are not loaded.
        b"plugin_modules" => c"no",
        _ => return -1,
    };
    unsafe {
        *result = value.as_ptr();
        if !len.is_null() {
            *len = value.to_bytes().len() as c_uint;
        }
    }
    SASL_OK
}

unsafe extern "C" fn log(_context: *mut c_void, _level: c_int, message: *const c_char) -> c_int {
    if !message.is_null() {
        let _ = unsafe { CStr::from_ptr(message) }.to_bytes().len();
    }
    SASL_OK
}

unsafe extern "C" fn get_simple(
    context: *mut c_void,
    id: c_int,
    result: *mut *const c_char,
    len: *mut c_uint,
) -> c_int {
    let answers = unsafe { &*context.cast::<Answers>() };
    let value = if id as c_ulong == SASL_CB_USER {
        &answers.user
    } else {
        &answers.authname
    };
    unsafe {
        *result = value.as_ptr();
        if !len.is_null() {
            *len = value.as_bytes().len() as c_uint;
        }
    }
    SASL_OK
}

unsafe extern "C" fn get_secret(
    _conn: *mut Conn,
    context: *mut c_void,
    _id: c_int,
    secret: *mut *mut c_void,
) -> c_int {
    let answers = unsafe { &mut *context.cast::<Answers>() };
    // A `sasl_secret_t`: the length, then the bytes; c_ulong-aligned storage.
    let words = 2 + answers.password.len() / size_of::<c_ulong>();
    answers.secrets.push(vec![0; words]);
    let Some(storage) = answers.secrets.last_mut() else {
        return -1;
    };
    let base = storage.as_mut_ptr();
    unsafe {
        *base = answers.password.len() as c_ulong;
        let data = base.add(1).cast::<u8>();
        ptr::copy_nonoverlapping(answers.password.as_ptr(), data, answers.password.len());
        *secret = base.cast();
    }
    SASL_OK
}

/// Whether only Cyrus's pointer lifetimes are assumed (see `Connection::recent`).
fn cyrus_lifetimes() -> bool {
    static CYRUS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *CYRUS.get_or_init(|| std::env::var_os("PURESASL_FUZZ_CYRUS_LIFETIMES").is_some())
}

fn sasldb_path() -> &'static CStr {
    static PATH: std::sync::OnceLock<CString> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        // In memory when it can be: every sasl_setpass rewrites and syncs the file.
        let shm = std::path::Path::new("/dev/shm");
        let base = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("puresasl-fuzz-api-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        CString::new(dir.join("sasldb2").to_str().unwrap()).unwrap()
    })
}

fn as_proc<T>(function: T) -> Proc {
    assert_eq!(size_of::<T>(), size_of::<unsafe extern "C" fn() -> c_int>());
    // SAFETY: `function` is an `extern "C"` function pointer; the library casts it back to
    // the type its callback id names, as Cyrus's API requires.
    Some(unsafe { std::mem::transmute_copy::<T, unsafe extern "C" fn() -> c_int>(&function) })
}

/// The global callbacks (`sasl_server_init`/`sasl_client_init` keep the pointer).
fn global_callbacks() -> *const Callback {
    struct Shared(Box<[Callback]>);
    // SAFETY: the list is immutable after creation and holds only function pointers.
    unsafe impl Sync for Shared {}
    unsafe impl Send for Shared {}
    static CALLBACKS: std::sync::OnceLock<Shared> = std::sync::OnceLock::new();
    CALLBACKS
        .get_or_init(|| {
            let getopt_fn: unsafe extern "C" fn(
                *mut c_void,
                *const c_char,
                *const c_char,
                *mut *const c_char,
                *mut c_uint,
            ) -> c_int = getopt;
            let log_fn: unsafe extern "C" fn(*mut c_void, c_int, *const c_char) -> c_int = log;
            Shared(Box::new([
                Callback {
                    id: SASL_CB_GETOPT,
                    proc_: as_proc(getopt_fn),
                    context: null_mut(),
                },
                Callback {
                    id: SASL_CB_LOG,
                    proc_: as_proc(log_fn),
                    context: null_mut(),
                },
                Callback {
                    id: SASL_CB_LIST_END,
                    proc_: None,
                    context: null_mut(),
                },
            ]))
        })
        .0
        .as_ptr()
}

fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| unsafe {
        assert_eq!(
            sasl_server_init(global_callbacks(), c"fuzz".as_ptr()),
            SASL_OK
        );
        assert_eq!(sasl_client_init(global_callbacks()), SASL_OK);
        // An application auxprop plug-in beside the sasldb2 file (see `plugin`).
        assert_eq!(
            sasl_auxprop_add_plugin(c"fuzzaux".as_ptr(), plugin::init),
            SASL_OK
        );
        // The user every exchange can log in as.
        let mut conn = null_mut();
        let code = sasl_server_new(
            SERVICE.as_ptr(),
            FQDN.as_ptr(),
            REALM.as_ptr(),
            null(),
            null(),
            null(),
            0,
            &mut conn,
        );
        assert_eq!(code, SASL_OK);
        let code = sasl_setpass(
            conn,
            USER.as_ptr(),
            PASSWORD.as_ptr().cast(),
            PASSWORD.len() as c_uint,
            null(),
            0,
            SASL_SET_CREATE,
        );
        assert_eq!(code, SASL_OK, "setpass of the fuzz user");
        sasl_dispose(&mut conn);
        PRISTINE_SASLDB
            .set(std::fs::read(sasldb_path().to_str().unwrap()).unwrap())
            .unwrap();
    });
}

/// Removes this process's sasldb2 directory (for the replay test; a fuzzer process leaves it,
/// a dozen kilobytes, since libFuzzer exits without unwinding).
#[allow(
    dead_code,
    reason = "called by the replay test, not by the fuzz target"
)]
pub fn remove_sasldb() {
    if let Some(directory) = std::path::Path::new(sasldb_path().to_str().unwrap()).parent() {
        let _ = std::fs::remove_dir_all(directory);
    }
}

/// The sasldb2 file as `init` left it (the fuzz user only).
static PRISTINE_SASLDB: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();

/// Puts the sasldb2 file back as `init` left it, after a run that changed it: every run starts
/// from the same file (a finding replays alone), and the file does not grow run after run with
/// the users of every realm the fuzzer invents (it reached half a megabyte, which every lookup
/// then read and zeroized: the target slowed from 500 to 200 runs a second).
fn restore_sasldb() {
    let path = std::path::Path::new(sasldb_path().to_str().unwrap());
    let fresh = path.with_extension("fuzz-restore");
    std::fs::write(&fresh, PRISTINE_SASLDB.get().unwrap()).unwrap();
    // A new inode, so the library's cache of the file sees the change.
    std::fs::rename(&fresh, path).unwrap();
}

/// The state of one run.
struct World {
    connections: Vec<Connection>,
    props: Vec<Props>,
    /// `sasl_setpass` calls left in this run: each rewrites and syncs the sasldb2 file, which
    /// made it most of the run time (the `sasldb_writer` target fuzzes the file itself).
    setpass_left: u8,
    /// Exchanges finished with `SASL_OK` on both sides so far.
    exchanges: u32,
}

impl World {
    fn touch_all(&self) -> u64 {
        let mut sum = 0u64;
        for connection in &self.connections {
            for held in connection.held.iter().chain(&connection.recent) {
                sum = sum.wrapping_add(unsafe { held.touch() });
            }
        }
        for props in &self.props {
            if let Some(array) = props.held {
                sum = sum.wrapping_add(unsafe { touch_propvals(array) });
            }
        }
        sum
    }

    fn connection(&mut self, input: &mut Input) -> Option<&mut Connection> {
        if self.connections.is_empty() {
            return None;
        }
        let at = usize::from(input.byte()) % self.connections.len();
        self.connections.get_mut(at)
    }

    /// A server and a client connection, by index.
    fn pair(&mut self, input: &mut Input) -> Option<(usize, usize)> {
        let servers: Vec<usize> = (0..self.connections.len())
            .filter(|&i| self.connections[i].server)
            .collect();
        let clients: Vec<usize> = (0..self.connections.len())
            .filter(|&i| !self.connections[i].server)
            .collect();
        if servers.is_empty() || clients.is_empty() {
            return None;
        }
        Some((input.choose(&servers), input.choose(&clients)))
    }
}

unsafe fn touch_propvals(mut array: *const Propval) -> u64 {
    let mut sum = 0u64;
    unsafe {
        while !array.is_null() && !(*array).name.is_null() {
            sum = sum.wrapping_add(CStr::from_ptr((*array).name).to_bytes().len() as u64);
            let mut values = (*array).values;
            while !values.is_null() && !(*values).is_null() {
                sum = sum.wrapping_add(Held::Text(*values).touch());
                values = values.add(1);
            }
            array = array.add(1);
        }
    }
    sum
}

fn new_server(input: &mut Input) -> Option<Connection> {
    let realm = match input.byte() % 3 {
        0 => None,
        1 => Some(REALM.to_owned()),
        _ => Some(input.text()),
    };
    let addresses = input.one_in(2);
    let flags = c_uint::from(input.byte() & 0x0f);
    let mut conn = null_mut();
    let code = unsafe {
        sasl_server_new(
            SERVICE.as_ptr(),
            FQDN.as_ptr(),
            realm.as_ref().map_or(null(), |r| r.as_ptr()),
            if addresses {
                c"127.0.0.1;143".as_ptr()
            } else {
                null()
            },
            if addresses {
                c"127.0.0.1;40000".as_ptr()
            } else {
                null()
            },
            null(),
            flags,
            &mut conn,
        )
    };
    (code == SASL_OK).then(|| Connection::new(conn, true))
}

fn new_client(input: &mut Input) -> Option<Connection> {
    let right = !input.one_in(4);
    // The user only the auxprop plug-in knows.
    let plugin_user = input.one_in(4);
    let answers = Box::new(Answers {
        user: if input.one_in(3) {
            input.text()
        } else {
            CString::default()
        },
        authname: match (right, plugin_user) {
            (true, true) => plugin::USER.to_owned(),
            (true, false) => USER.to_owned(),
            _ => input.text(),
        },
        password: match (right, plugin_user) {
            (true, true) => plugin::PASSWORD.to_vec(),
            (true, false) => PASSWORD.to_vec(),
            _ => input.bytes().to_vec(),
        },
        secrets: Vec::new(),
    });
    // Which callbacks the application lists: with a procedure, with none (ask through
    // SASL_INTERACT), or not at all.
    let style = input.byte();
    let context = ptr::from_ref::<Answers>(&answers)
        .cast_mut()
        .cast::<c_void>();
    let simple: unsafe extern "C" fn(*mut c_void, c_int, *mut *const c_char, *mut c_uint) -> c_int =
        get_simple;
    let secret: unsafe extern "C" fn(*mut Conn, *mut c_void, c_int, *mut *mut c_void) -> c_int =
        get_secret;
    let mut list = Vec::new();
    for (bit, id, proc_) in [
        (0, SASL_CB_USER, as_proc(simple)),
        (1, SASL_CB_AUTHNAME, as_proc(simple)),
        (2, SASL_CB_PASS, as_proc(secret)),
        (3, SASL_CB_GETREALM, None),
    ] {
        let listed = style & (1 << bit) == 0;
        let interactive = style & (0x10 << bit) != 0;
        if listed {
            list.push(Callback {
                id,
                proc_: if interactive { None } else { proc_ },
                context,
            });
        }
    }
    list.push(Callback {
        id: SASL_CB_LIST_END,
        proc_: None,
        context: null_mut(),
    });
    let callbacks = list.into_boxed_slice();
    let mut conn = null_mut();
    let code = unsafe {
        sasl_client_new(
            SERVICE.as_ptr(),
            FQDN.as_ptr(),
            null(),
            null(),
            callbacks.as_ptr(),
            0,
            &mut conn,
        )
    };
    (code == SASL_OK).then(|| {
        let mut connection = Connection::new(conn, false);
        connection.callbacks = Some(callbacks);
        connection.answers = Some(answers);
        connection
    })
}

impl Connection {
    fn new(conn: *mut Conn, server: bool) -> Self {
        Connection {
            conn,
            server,
            held: Vec::new(),
            recent: Vec::new(),
            callbacks: None,
            answers: None,
            prompt_answers: Vec::new(),
            bindings: Vec::new(),
            exchange: None,
        }
    }

    /// Holds `pointer` as long as the library promises it readable (see `recent`).
    fn hold_recent(&mut self, pointer: Held) {
        if cyrus_lifetimes() {
            self.recent.push(pointer);
        } else {
            self.hold(pointer);
        }
    }

    /// Holds `pointer` until `sasl_dispose`, once (a property polled again returns the same
    /// address).
    fn hold(&mut self, pointer: Held) {
        if !self.held.contains(&pointer) {
            self.held.push(pointer);
        }
    }

    /// Forgets what the next call may free (Cyrus's lifetimes only).
    fn before_call(&mut self) {
        self.recent.clear();
    }

    fn hold_output(&mut self, out: *const c_char, len: c_uint) -> Vec<u8> {
        if out.is_null() {
            return Vec::new();
        }
        self.hold_recent(Held::Bytes(out, len));
        unsafe { std::slice::from_raw_parts(out.cast::<u8>(), len as usize) }.to_vec()
    }

    /// Answers every prompt of `prompts`: the right answers, or (`mode` 0 mod 4) fuzz-chosen
    /// ones read from `input`.
    fn answer(&mut self, prompts: *mut Interact, mode: u8, input: &mut Input) {
        self.prompt_answers.clear();
        let mut prompt = prompts;
        let mut guard = 0;
        while !prompt.is_null() && guard < 16 {
            guard += 1;
            let id = unsafe { (*prompt).id };
            if id == SASL_CB_LIST_END {
                break;
            }
            let answer = match (mode % 4, id) {
                (0, _) => input.text(),
                (_, SASL_CB_AUTHNAME) => USER.to_owned(),
                (_, SASL_CB_PASS) => CString::new(PASSWORD).unwrap(),
                (_, SASL_CB_GETREALM) => REALM.to_owned(),
                _ => CString::default(),
            };
            unsafe {
                (*prompt).result = answer.as_ptr().cast();
                (*prompt).len = answer.as_bytes().len() as c_uint;
            }
            self.prompt_answers.push(answer);
            prompt = unsafe { prompt.add(1) };
        }
    }

    fn client_start(&mut self, mechlist: &CStr, mode: u8, input: &mut Input) -> (c_int, Vec<u8>) {
        self.before_call();
        self.exchange = None;
        let mut prompts: *mut Interact = null_mut();
        for _ in 0..3 {
            let (mut out, mut len, mut mech) = (null(), 0, null());
            let code = unsafe {
                sasl_client_start(
                    self.conn,
                    mechlist.as_ptr(),
                    &mut prompts,
                    &mut out,
                    &mut len,
                    &mut mech,
                )
            };
            if !mech.is_null() {
                self.hold(Held::Text(mech));
            }
            if code == SASL_INTERACT {
                self.answer(prompts, mode, input);
                continue;
            }
            return (code, self.hold_output(out, len));
        }
        (SASL_INTERACT, Vec::new())
    }

    fn client_step(&mut self, challenge: &[u8], mode: u8, input: &mut Input) -> (c_int, Vec<u8>) {
        self.before_call();
        self.exchange = None;
        let mut prompts: *mut Interact = null_mut();
        let mut serverin = challenge;
        for _ in 0..3 {
            let (mut out, mut len) = (null(), 0);
            let code = unsafe {
                sasl_client_step(
                    self.conn,
                    serverin.as_ptr().cast(),
                    serverin.len() as c_uint,
                    &mut prompts,
                    &mut out,
                    &mut len,
                )
            };
            if code == SASL_INTERACT {
                self.answer(prompts, mode, input);
                serverin = &[];
                continue;
            }
            return (code, self.hold_output(out, len));
        }
        (SASL_INTERACT, Vec::new())
    }

    fn server_start(&mut self, mech: &CStr, clientin: Option<&[u8]>) -> (c_int, Vec<u8>) {
        self.before_call();
        self.exchange = None;
        let (mut out, mut len) = (null(), 0);
        let code = unsafe {
            sasl_server_start(
                self.conn,
                mech.as_ptr(),
                clientin.map_or(null(), |c| c.as_ptr().cast()),
                clientin.map_or(0, |c| c.len() as c_uint),
                &mut out,
                &mut len,
            )
        };
        (code, self.hold_output(out, len))
    }

    fn server_step(&mut self, clientin: &[u8]) -> (c_int, Vec<u8>) {
        self.before_call();
        self.exchange = None;
        let (mut out, mut len) = (null(), 0);
        let code = unsafe {
            sasl_server_step(
                self.conn,
                clientin.as_ptr().cast(),
                clientin.len() as c_uint,
                &mut out,
                &mut len,
            )
        };
        (code, self.hold_output(out, len))
    }

    fn encode(&mut self, data: &[u8], vectored: bool) -> Option<Vec<u8>> {
        self.before_call();
        let (mut out, mut len) = (null(), 0);
        let code = unsafe {
            if vectored {
                let half = data.len() / 2;
                let parts = [
                    Iovec {
                        base: data.as_ptr().cast(),
                        len: half,
                    },
                    Iovec {
                        base: data[half..].as_ptr().cast(),
                        len: data.len() - half,
                    },
                ];
                sasl_encodev(self.conn, parts.as_ptr(), 2, &mut out, &mut len)
            } else {
                sasl_encode(
                    self.conn,
                    data.as_ptr().cast(),
                    data.len() as c_uint,
                    &mut out,
                    &mut len,
                )
            }
        };
        let encoded = (code == SASL_OK).then(|| self.hold_output(out, len))?;
        // A connection that reports a security layer (SASL_SSF above 0) never sends data
        // as it was given: every layer frames it (length, MAC, cipher).
        let ssf = self.ssf();
        assert!(
            ssf == 0 || encoded != data,
            "SASL_SSF is {ssf} but sasl_encode passed the data through"
        );
        Some(encoded)
    }

    /// `SASL_SSF` (0 when unset).
    fn ssf(&self) -> c_uint {
        let mut ssf: *const c_void = null();
        unsafe { sasl_getprop(self.conn, 1, &mut ssf) };
        if ssf.is_null() {
            0
        } else {
            unsafe { *ssf.cast::<c_uint>() }
        }
    }

    fn decode(&mut self, data: &[u8]) -> Option<Vec<u8>> {
        self.before_call();
        let (mut out, mut len) = (null(), 0);
        let code = unsafe {
            sasl_decode(
                self.conn,
                data.as_ptr().cast(),
                data.len() as c_uint,
                &mut out,
                &mut len,
            )
        };
        (code == SASL_OK).then(|| self.hold_output(out, len))
    }

    fn set_property(&mut self, input: &mut Input) {
        self.before_call();
        let propnum = input.choose(SETTABLE);
        let number = input.number() % 300;
        let text = input.text();
        let props = SecProps {
            min_ssf: input.number() % 300,
            max_ssf: input.number() % 300,
            maxbufsize: input.number(),
            security_flags: input.number() & 0x3ff,
            property_names: null(),
            property_values: null(),
        };
        let value: *const c_void = match propnum {
            100 | 1 | 2 => ptr::from_ref(&number).cast(),
            101 => ptr::from_ref(&props).cast(),
            21 => {
                let name = input.choose(&[
                    c"tls-unique",
                    c"tls-server-end-point",
                    c"tls-exporter",
                    c"bogus",
                ]);
                let data = input.bytes().to_vec();
                let binding = Box::new(ChannelBinding {
                    name: name.as_ptr(),
                    critical: c_int::from(input.byte() % 2),
                    len: data.len() as c_ulong,
                    data: data.as_ptr(),
                });
                let pointer = ptr::from_ref::<ChannelBinding>(&binding).cast();
                self.bindings.push((binding, name.to_owned(), data));
                pointer
            }
            7 | 22 | 999 => null(),
            _ if input.one_in(8) => null(),
            _ => text.as_ptr().cast(),
        };
        unsafe { sasl_setprop(self.conn, propnum, value) };
    }

    fn get_property(&mut self, input: &mut Input) {
        self.before_call();
        let propnum = c_int::from(input.byte() % 24) + if input.one_in(4) { 100 } else { 0 };
        let mut value: *const c_void = null();
        let code = unsafe { sasl_getprop(self.conn, propnum, &mut value) };
        if code != SASL_OK || value.is_null() {
            return;
        }
        if STRING_PROPERTIES.contains(&propnum) {
            self.hold(Held::Text(value.cast()));
        } else if NUMBER_PROPERTIES.contains(&propnum) || propnum == 100 {
            self.hold(Held::Number(value.cast()));
        }
    }

    fn list_mechanisms(&mut self, input: &mut Input) {
        self.before_call();
        let parts = [input.text(), input.text(), input.text()];
        let user = input.text();
        let nulls = input.byte();
        let pick = |i: usize, text: &CString| {
            if nulls & (1 << i) != 0 {
                null()
            } else {
                text.as_ptr()
            }
        };
        let (mut result, mut len, mut count) = (null(), 0, 0);
        let code = unsafe {
            sasl_listmech(
                self.conn,
                pick(3, &user),
                pick(0, &parts[0]),
                pick(1, &parts[1]),
                pick(2, &parts[2]),
                &mut result,
                &mut len,
                &mut count,
            )
        };
        if code == SASL_OK && !result.is_null() {
            let text = unsafe { CStr::from_ptr(result) };
            assert_eq!(text.to_bytes().len(), len as usize, "sasl_listmech length");
            self.hold_recent(Held::Text(result));
        }
    }
}

/// A full exchange between a server and a client connection: the client picks from the
/// offered list, the server answers, until one side stops. Reads five bytes (mechanism, list,
/// initial response, tampering mask, prompt answers), then prompt answers only when they are
/// fuzz-chosen. Returns the final codes.
fn exchange(world: &mut World, server: usize, client: usize, input: &mut Input) -> (c_int, c_int) {
    let mech = input.choose(MECHANISMS);
    let list = if input.one_in(4) {
        c"SCRAM-SHA-256 DIGEST-MD5 CRAM-MD5 PLAIN LOGIN".to_owned()
    } else {
        mech.to_owned()
    };
    let send_initial = input.one_in(2);
    let tampering = input.byte();
    let mode = input.byte();
    let (mut client_code, mut message) = world.connections[client].client_start(&list, mode, input);
    if client_code != SASL_OK && client_code != SASL_CONTINUE {
        return (client_code, client_code);
    }
    let mut mechname: *const c_void = null();
    unsafe { sasl_getprop(world.connections[client].conn, 15, &mut mechname) };
    let chosen = if mechname.is_null() {
        mech.to_owned()
    } else {
        unsafe { CStr::from_ptr(mechname.cast()) }.to_owned()
    };
    let initial = !message.is_empty() || send_initial;
    let (mut server_code, mut challenge) =
        world.connections[server].server_start(&chosen, initial.then_some(message.as_slice()));
    for round in 0..8 {
        if server_code != SASL_CONTINUE {
            break;
        }
        if tampering & (1 << round) != 0
            && let Some(byte) = challenge.first_mut()
        {
            *byte ^= 0x20; // a tampered challenge
        }
        (client_code, message) = world.connections[client].client_step(&challenge, mode, input);
        if client_code != SASL_OK && client_code != SASL_CONTINUE {
            break;
        }
        (server_code, challenge) = world.connections[server].server_step(&message);
    }
    if server_code == SASL_OK && !challenge.is_empty() && client_code == SASL_CONTINUE {
        // Success data (SCRAM's server signature) still to be checked by the client.
        (client_code, _) = world.connections[client].client_step(&challenge, mode, input);
    }
    if server_code == SASL_OK && client_code == SASL_OK {
        world.exchanges += 1;
        world.connections[server].exchange = Some(world.exchanges);
        world.connections[client].exchange = Some(world.exchanges);
    }
    (server_code, client_code)
}

/// Both directions of the security layer (or none) two peers negotiated: what one side
/// encodes, the other decodes to the same bytes.
fn layer_round_trip(world: &mut World, server: usize, client: usize, input: &mut Input) {
    let exchange = world.connections[server].exchange;
    if exchange.is_none() || exchange != world.connections[client].exchange {
        return;
    }
    let data = input.bytes().to_vec();
    let vectored = input.one_in(2);
    let (from, to) = if input.one_in(2) {
        (server, client)
    } else {
        (client, server)
    };
    let Some(encoded) = world.connections[from].encode(&data, vectored) else {
        return;
    };
    if input.one_in(8) {
        // A tampered packet: never decoded into something else silently.
        let mut tampered = encoded.clone();
        if let Some(byte) = tampered.last_mut() {
            *byte ^= 1;
        }
        if let Some(decoded) = world.connections[to].decode(&tampered) {
            let layered = world.connections[to].ssf() > 1;
            assert!(
                !layered || decoded.is_empty() || decoded == data,
                "a tampered packet decoded to different data"
            );
        }
        return;
    }
    if let Some(decoded) = world.connections[to].decode(&encoded) {
        // The layer may hold back a partial packet (empty output); a complete one must
        // decode to exactly what was encoded.
        assert!(
            decoded.is_empty() || decoded == data,
            "sasl_decode(sasl_encode(x)) != x"
        );
    }
}

fn base64(input: &mut Input) {
    let data = input.bytes();
    let outmax = c_uint::from(input.byte());
    let mut out = vec![0u8; outmax as usize + 1];
    let mut len: c_uint = 0;
    let code = unsafe {
        sasl_encode64(
            data.as_ptr().cast(),
            data.len() as c_uint,
            out.as_mut_ptr().cast(),
            outmax,
            &mut len,
        )
    };
    if code != SASL_OK {
        return;
    }
    assert!(len < outmax, "sasl_encode64 wrote past outmax");
    let mut back = vec![0u8; data.len() + 1];
    let mut back_len: c_uint = 0;
    let code = unsafe {
        sasl_decode64(
            out.as_ptr().cast(),
            len,
            back.as_mut_ptr().cast(),
            back.len() as c_uint,
            &mut back_len,
        )
    };
    assert_eq!(code, SASL_OK, "sasl_decode64 of sasl_encode64's output");
    assert_eq!(&back[..back_len as usize], data, "base64 round trip");
    // And arbitrary input with an arbitrary outmax.
    let text = input.bytes();
    let outmax = c_uint::from(input.byte());
    let mut out = vec![0u8; outmax as usize];
    let _ = unsafe {
        sasl_decode64(
            text.as_ptr().cast(),
            text.len() as c_uint,
            if out.is_empty() {
                null_mut()
            } else {
                out.as_mut_ptr().cast()
            },
            outmax,
            &mut len,
        )
    };
}

fn property_context(world: &mut World, input: &mut Input) {
    match input.byte() % 8 {
        0 if world.props.len() < 4 => {
            let ctx = unsafe { prop_new(c_uint::from(input.byte())) };
            if !ctx.is_null() {
                world.props.push(Props {
                    ctx,
                    names: Vec::new(),
                    held: None,
                });
            }
        }
        _ if world.props.is_empty() => {}
        op => {
            let at = usize::from(input.byte()) % world.props.len();
            let props = &mut world.props[at];
            let ctx = props.ctx;
            match op {
                1 => {
                    let names = [input.text(), input.text()];
                    let list = [names[0].as_ptr(), names[1].as_ptr(), null()];
                    unsafe { prop_request(ctx, list.as_ptr()) };
                    props.names.extend(names); // prop_request may keep the pointers
                    props.held = None;
                }
                2 => {
                    let name = input.text();
                    let mut value = input.bytes().to_vec();
                    // A length of 0 means a C string: then the value ends at a NUL.
                    let len = if input.one_in(4) {
                        value.truncate(value.iter().position(|&b| b == 0).unwrap_or(value.len()));
                        value.push(0);
                        0
                    } else {
                        value.len() as c_int
                    };
                    let value_ptr = if value.is_empty() {
                        null()
                    } else {
                        value.as_ptr().cast()
                    };
                    unsafe { prop_set(ctx, name.as_ptr(), value_ptr, len) };
                    props.names.push(name);
                    props.held = None;
                }
                3 => {
                    let array = unsafe { prop_get(ctx) };
                    props.held = (!array.is_null()).then_some(array);
                }
                4 => {
                    let sep = input.text();
                    let outmax = c_uint::from(input.byte());
                    let mut out = vec![0u8; outmax as usize];
                    let mut len: c_uint = 0;
                    let code = unsafe {
                        prop_format(
                            ctx,
                            sep.as_ptr(),
                            sep.as_bytes().len() as c_int,
                            if out.is_empty() {
                                null_mut()
                            } else {
                                out.as_mut_ptr().cast()
                            },
                            outmax,
                            &mut len,
                        )
                    };
                    if code == SASL_OK {
                        assert!(len < outmax, "prop_format wrote past outmax");
                    }
                }
                5 => {
                    unsafe { prop_clear(ctx, c_int::from(input.byte() % 2)) };
                    props.held = None;
                }
                6 => {
                    let name = input.text();
                    unsafe { prop_erase(ctx, name.as_ptr()) };
                    props.held = None;
                }
                _ => {
                    world.props.remove(at);
                }
            }
        }
    }
}

fn user_database(connection: &mut Connection, input: &mut Input, setpass_left: &mut u8) {
    connection.before_call();
    let user = if input.one_in(2) {
        USER.to_owned()
    } else {
        input.text()
    };
    let password = if input.one_in(2) {
        PASSWORD.to_vec()
    } else {
        input.bytes().to_vec()
    };
    let code = match input.byte() % 3 {
        0 => unsafe {
            sasl_checkpass(
                connection.conn,
                user.as_ptr(),
                user.as_bytes().len() as c_uint,
                password.as_ptr().cast(),
                password.len() as c_uint,
            )
        },
        1 => unsafe { sasl_user_exists(connection.conn, null(), null(), user.as_ptr()) },
        _ if *setpass_left == 0 => SASL_OK,
        // A few other users only (every change rewrites the file), never the fuzz user
        // itself: exchanges rely on its password.
        _ => unsafe {
            *setpass_left -= 1;
            let user = CString::new(format!("other{}", input.byte() % 4)).unwrap();
            sasl_setpass(
                connection.conn,
                user.as_ptr(),
                password.as_ptr().cast(),
                password.len() as c_uint,
                null(),
                0,
                SASL_SET_CREATE,
            )
        },
    };
    let _ = code;
}

/// Runs the program in `data`.
pub fn run(data: &[u8]) {
    init();
    let mut input = Input { data };
    let mut world = World {
        connections: Vec::new(),
        props: Vec::new(),
        setpass_left: 1,
        exchanges: 0,
    };
    let mut steps = 0;
    while !input.is_empty() && steps < 256 {
        steps += 1;
        match input.byte() % 16 {
            0 if world.connections.len() < 4 => {
                if let Some(connection) = new_server(&mut input) {
                    world.connections.push(connection);
                }
            }
            1 if world.connections.len() < 4 => {
                if let Some(connection) = new_client(&mut input) {
                    world.connections.push(connection);
                }
            }
            2 | 3 => {
                if let Some((server, client)) = world.pair(&mut input) {
                    exchange(&mut world, server, client, &mut input);
                }
            }
            4 => {
                if let Some((server, client)) = world.pair(&mut input) {
                    layer_round_trip(&mut world, server, client, &mut input);
                }
            }
            5 => {
                if let Some(connection) = world.connection(&mut input) {
                    connection.set_property(&mut input);
                }
            }
            6 => {
                // An application that polls a property (logging the user name per request,
                // say): the same read, up to 128 times.
                if let Some(connection) = world.connection(&mut input) {
                    let times = 1 + usize::from(input.byte() & 0x7f);
                    let at = input.data;
                    for _ in 0..times {
                        input.data = at;
                        connection.get_property(&mut input);
                    }
                }
            }
            7 => {
                if let Some(connection) = world.connection(&mut input) {
                    connection.list_mechanisms(&mut input);
                }
            }
            8 => {
                if let Some(connection) = world.connection(&mut input) {
                    connection.before_call();
                    let detail = unsafe { sasl_errdetail(connection.conn) };
                    if !detail.is_null() {
                        connection.hold_recent(Held::Text(detail));
                    }
                }
            }
            9 => {
                // A raw step with fuzz bytes, on either side.
                if let Some(connection) = world.connection(&mut input) {
                    let bytes = input.bytes().to_vec();
                    if connection.server {
                        if input.one_in(2) {
                            let mech = input.choose(MECHANISMS);
                            connection.server_start(mech, Some(&bytes));
                        } else {
                            connection.server_step(&bytes);
                        }
                    } else if input.one_in(2) {
                        let list = input.text();
                        let mode = input.byte();
                        connection.client_start(&list, mode, &mut input);
                    } else {
                        let mode = input.byte();
                        connection.client_step(&bytes, mode, &mut input);
                    }
                }
            }
            10 => {
                if let Some(connection) = world.connection(&mut input) {
                    let bytes = input.bytes().to_vec();
                    if input.one_in(2) {
                        connection.encode(&bytes, input.one_in(2));
                    } else {
                        connection.decode(&bytes);
                    }
                }
            }
            11 if !world.connections.is_empty() => {
                let at = usize::from(input.byte()) % world.connections.len();
                world.connections.remove(at); // sasl_dispose, in Drop
            }
            12 => base64(&mut input),
            13 => property_context(&mut world, &mut input),
            14 => {
                let mut setpass_left = world.setpass_left;
                if let Some(connection) = world.connection(&mut input)
                    && connection.server
                {
                    user_database(connection, &mut input, &mut setpass_left);
                }
                world.setpass_left = setpass_left;
            }
            15 => {
                if let Some(connection) = world.connection(&mut input) {
                    connection.before_call();
                    if input.one_in(2) {
                        // Properties the plug-in (and the stores) fill after an exchange:
                        // the authentication id's (`*`) and the authorization id's.
                        let names = [
                            c"*mail".as_ptr(),
                            c"mail".as_ptr(),
                            c"*userPassword".as_ptr(),
                            null(),
                        ];
                        let _ = unsafe { sasl_auxprop_request(connection.conn, names.as_ptr()) };
                    }
                    let ctx = unsafe { sasl_auxprop_getctx(connection.conn) };
                    if !ctx.is_null() {
                        let array = unsafe { prop_get(ctx) };
                        let _ = unsafe { touch_propvals(array) };
                    }
                }
            }
            _ => {}
        }
        std::hint::black_box(world.touch_all());
    }
    if world.setpass_left == 0 {
        restore_sasldb();
    }
}

/// An application auxprop plug-in, as slapd registers one: it knows the user `plug` (its
/// `*userPassword` and `*mail`, and `mail` of any authorization id), fails for `down` as a
/// directory that is down would, and accepts every store.
mod plugin {
    use std::ffi::{CStr, c_char, c_int, c_uint, c_void};

    use puresasl_ffi::handles::propctx;
    use puresasl_ffi::plugin_abi::{sasl_auxprop_plug_t, sasl_server_params_t, sasl_utils_t};

    pub const USER: &CStr = c"plug";
    pub const PASSWORD: &[u8] = b"plug-pass";
    const SASL_OK: c_int = 0;
    const SASL_FAIL: c_int = -1;
    const SASL_NOUSER: c_int = -20;
    const SASL_BADVERS: c_int = -23;
    const SASL_AUXPROP_AUTHZID: c_uint = 0x0002;

    struct Plug(sasl_auxprop_plug_t);
    // SAFETY: immutable after creation; the library only reads it.
    unsafe impl Sync for Plug {}

    static PLUG: Plug = Plug(sasl_auxprop_plug_t {
        features: 0,
        spare_int1: 0,
        glob_context: std::ptr::null_mut(),
        auxprop_free: None,
        auxprop_lookup: Some(lookup),
        name: c"fuzzaux".as_ptr().cast_mut(),
        auxprop_store: Some(store),
    });

    pub unsafe extern "C" fn init(
        _utils: *const sasl_utils_t,
        max_version: c_int,
        out_version: *mut c_int,
        plug: *mut *mut sasl_auxprop_plug_t,
        _plugname: *const c_char,
    ) -> c_int {
        if max_version < 8 {
            return SASL_BADVERS;
        }
        unsafe {
            *out_version = 8;
            *plug = std::ptr::from_ref(&PLUG.0).cast_mut();
        }
        SASL_OK
    }

    unsafe extern "C" fn lookup(
        _glob: *mut c_void,
        sparams: *mut sasl_server_params_t,
        flags: c_uint,
        user: *const c_char,
        ulen: c_uint,
    ) -> c_int {
        let name = unsafe { std::slice::from_raw_parts(user.cast::<u8>(), ulen as usize) };
        if name == b"down" {
            return SASL_FAIL;
        }
        let authzid = flags & SASL_AUXPROP_AUTHZID != 0;
        if !authzid && name != USER.to_bytes() {
            return SASL_NOUSER;
        }
        let (utils, ctx) = unsafe { ((*sparams).utils, (*sparams).propctx) };
        let (Some(prop_get), Some(prop_set)) =
            (unsafe { (*utils).prop_get }, unsafe { (*utils).prop_set })
        else {
            return SASL_FAIL;
        };
        let mut entry = unsafe { prop_get(ctx) };
        while !entry.is_null() && unsafe { !(*entry).name.is_null() } {
            let (prop, empty) =
                unsafe { (CStr::from_ptr((*entry).name), (*entry).values.is_null()) };
            let value: Option<&[u8]> = match (authzid, prop.to_bytes()) {
                (false, b"*userPassword") => Some(PASSWORD),
                (false, b"*mail") => Some(b"plug@authn.example"),
                (true, b"mail") => Some(b"authz@example"),
                _ => None,
            };
            if let (Some(value), true) = (value, empty) {
                unsafe {
                    prop_set(
                        ctx,
                        prop.as_ptr(),
                        value.as_ptr().cast(),
                        value.len() as c_int,
                    )
                };
            }
            entry = unsafe { entry.add(1) };
        }
        SASL_OK
    }

    unsafe extern "C" fn store(
        _glob: *mut c_void,
        _sparams: *mut sasl_server_params_t,
        _ctx: *mut propctx,
        _user: *const c_char,
        _ulen: c_uint,
    ) -> c_int {
        SASL_OK
    }
}
