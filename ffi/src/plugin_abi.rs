//! The structs of Cyrus's plug-in interface (`sasl/saslplug.h`), as `#[repr(C)]` mirrors with
//! Cyrus's exact layouts: the utility table every plug-in gets (`sasl_utils_t`), the
//! parameters handed to mechanisms (`sasl_server_params_t`, `sasl_client_params_t`,
//! `sasl_out_params_t`) and the plug-in descriptions (`sasl_server_plug_t`,
//! `sasl_client_plug_t`, `sasl_auxprop_plug_t`, `sasl_canonuser_plug_t`). The C header is
//! `include/sasl/saslplug.h` (hand-maintained); `ffi/tests/c/abi.c` compares the layouts of
//! both with Cyrus's. Also the MD5 and HMAC-MD5 contexts the utils' `MD5*`/`hmac_md5*`
//! functions work on, and those functions.

#![allow(non_camel_case_types, reason = "the C names are the ABI")]
#![allow(
    non_snake_case,
    reason = "the C field names (MD5Init, ...) are the ABI"
)]
#![expect(
    missing_docs,
    reason = "the fields are Cyrus's, documented in include/sasl/saslplug.h"
)]

use std::ffi::{c_char, c_int, c_uchar, c_uint, c_ulong, c_void};

use crate::handles::{propctx, sasl_conn_t};
use crate::saslutil::sasl_rand_t;
use crate::types::{
    propval, sasl_callback_ft, sasl_callback_t, sasl_channel_binding_t, sasl_interact_t,
    sasl_security_properties_t, sasl_ssf_t,
};

/// `SASL_UTILS_VERSION`.
pub(crate) const SASL_UTILS_VERSION: c_int = 4;
/// `SASL_AUXPROP_PLUG_VERSION`.
pub(crate) const SASL_AUXPROP_PLUG_VERSION: c_int = 8;
/// `SASL_CANONUSER_PLUG_VERSION`.
pub(crate) const SASL_CANONUSER_PLUG_VERSION: c_int = 5;

/// A spare function pointer (always NULL here).
pub type Spare = Option<unsafe extern "C" fn() -> c_int>;

/// Cyrus's `MD5_CTX`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct MD5_CTX {
    /// A, B, C, D.
    pub state: [u32; 4],
    /// The message length in bits, low word first.
    pub count: [u32; 2],
    /// The partial block.
    pub buffer: [u8; 64],
}

/// Cyrus's `HMAC_MD5_CTX`: the inner and outer hash.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct HMAC_MD5_CTX {
    /// The inner hash (`hmac_md5_update` is `MD5Update` on it).
    pub ictx: MD5_CTX,
    /// The outer hash.
    pub octx: MD5_CTX,
}

/// Cyrus's `HMAC_MD5_STATE`: the states after the padded key.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct HMAC_MD5_STATE {
    /// The inner state.
    pub istate: [u32; 4],
    /// The outer state.
    pub ostate: [u32; 4],
}

/// `sasl_getopt_t` as a pointer.
pub type GetoptFn = crate::callbacks::sasl_getopt_t;
/// `sasl_getcallback_t` as a pointer.
pub type GetcallbackFn = Option<
    unsafe extern "C" fn(
        conn: *mut sasl_conn_t,
        callbackid: c_ulong,
        pproc: *mut sasl_callback_ft,
        pcontext: *mut *mut c_void,
    ) -> c_int,
>;
/// The variadic `log` and `seterror` entries (`printf`-style).
pub type VarargFn =
    Option<unsafe extern "C" fn(conn: *mut sasl_conn_t, n: c_uint, fmt: *const c_char, ...)>;
/// `log`'s level is an `int`.
pub type LogFn =
    Option<unsafe extern "C" fn(conn: *mut sasl_conn_t, level: c_int, fmt: *const c_char, ...)>;

/// Cyrus's `sasl_utils_t`: what the library lends a plug-in.
#[repr(C)]
pub struct sasl_utils_t {
    pub version: c_int,
    pub conn: *mut sasl_conn_t,
    pub rpool: *mut sasl_rand_t,
    pub getopt_context: *mut c_void,
    pub getopt: GetoptFn,
    pub malloc: Option<unsafe extern "C" fn(usize) -> *mut c_void>,
    pub calloc: Option<unsafe extern "C" fn(usize, usize) -> *mut c_void>,
    pub realloc: Option<unsafe extern "C" fn(*mut c_void, usize) -> *mut c_void>,
    pub free: Option<unsafe extern "C" fn(*mut c_void)>,
    pub mutex_alloc: Option<unsafe extern "C" fn() -> *mut c_void>,
    pub mutex_lock: Option<unsafe extern "C" fn(*mut c_void) -> c_int>,
    pub mutex_unlock: Option<unsafe extern "C" fn(*mut c_void) -> c_int>,
    pub mutex_free: Option<unsafe extern "C" fn(*mut c_void)>,
    pub MD5Init: Option<unsafe extern "C" fn(*mut MD5_CTX)>,
    pub MD5Update: Option<unsafe extern "C" fn(*mut MD5_CTX, *const c_uchar, c_uint)>,
    pub MD5Final: Option<unsafe extern "C" fn(*mut c_uchar, *mut MD5_CTX)>,
    pub hmac_md5:
        Option<unsafe extern "C" fn(*const c_uchar, c_int, *const c_uchar, c_int, *mut c_uchar)>,
    pub hmac_md5_init: Option<unsafe extern "C" fn(*mut HMAC_MD5_CTX, *const c_uchar, c_int)>,
    pub hmac_md5_final: Option<unsafe extern "C" fn(*mut c_uchar, *mut HMAC_MD5_CTX)>,
    pub hmac_md5_precalc: Option<unsafe extern "C" fn(*mut HMAC_MD5_STATE, *const c_uchar, c_int)>,
    pub hmac_md5_import: Option<unsafe extern "C" fn(*mut HMAC_MD5_CTX, *mut HMAC_MD5_STATE)>,
    pub mkchal:
        Option<unsafe extern "C" fn(*mut sasl_conn_t, *mut c_char, c_uint, c_uint) -> c_int>,
    pub utf8verify: Option<unsafe extern "C" fn(*const c_char, c_uint) -> c_int>,
    pub rand: Option<unsafe extern "C" fn(*mut sasl_rand_t, *mut c_char, c_uint)>,
    pub churn: Option<unsafe extern "C" fn(*mut sasl_rand_t, *const c_char, c_uint)>,
    pub checkpass: Option<
        unsafe extern "C" fn(
            *mut sasl_conn_t,
            *const c_char,
            c_uint,
            *const c_char,
            c_uint,
        ) -> c_int,
    >,
    pub decode64: Option<
        unsafe extern "C" fn(*const c_char, c_uint, *mut c_char, c_uint, *mut c_uint) -> c_int,
    >,
    pub encode64: Option<
        unsafe extern "C" fn(*const c_char, c_uint, *mut c_char, c_uint, *mut c_uint) -> c_int,
    >,
    pub erasebuffer: Option<unsafe extern "C" fn(*mut c_char, c_uint)>,
    pub getprop: Option<unsafe extern "C" fn(*mut sasl_conn_t, c_int, *mut *const c_void) -> c_int>,
    pub setprop: Option<unsafe extern "C" fn(*mut sasl_conn_t, c_int, *const c_void) -> c_int>,
    pub getcallback: GetcallbackFn,
    pub log: LogFn,
    pub seterror: VarargFn,
    pub spare_fptr: Option<unsafe extern "C" fn() -> *mut c_int>,
    pub prop_new: Option<unsafe extern "C" fn(c_uint) -> *mut propctx>,
    pub prop_dup: Option<unsafe extern "C" fn(*mut propctx, *mut *mut propctx) -> c_int>,
    pub prop_request: Option<unsafe extern "C" fn(*mut propctx, *mut *const c_char) -> c_int>,
    pub prop_get: Option<unsafe extern "C" fn(*mut propctx) -> *const propval>,
    pub prop_getnames:
        Option<unsafe extern "C" fn(*mut propctx, *mut *const c_char, *mut propval) -> c_int>,
    pub prop_clear: Option<unsafe extern "C" fn(*mut propctx, c_int)>,
    pub prop_dispose: Option<unsafe extern "C" fn(*mut *mut propctx)>,
    pub prop_format: Option<
        unsafe extern "C" fn(
            *mut propctx,
            *const c_char,
            c_int,
            *mut c_char,
            c_uint,
            *mut c_uint,
        ) -> c_int,
    >,
    pub prop_set:
        Option<unsafe extern "C" fn(*mut propctx, *const c_char, *const c_char, c_int) -> c_int>,
    pub prop_setvals:
        Option<unsafe extern "C" fn(*mut propctx, *const c_char, *mut *const c_char) -> c_int>,
    pub prop_erase: Option<unsafe extern "C" fn(*mut propctx, *const c_char)>,
    pub auxprop_store:
        Option<unsafe extern "C" fn(*mut sasl_conn_t, *mut propctx, *const c_char) -> c_int>,
    pub spare_fptr1: Spare,
    pub spare_fptr2: Spare,
}

/// Cyrus's `sasl_out_params_t`: what a mechanism reports.
#[repr(C)]
pub struct sasl_out_params_t {
    pub doneflag: c_uint,
    pub user: *const c_char,
    pub authid: *const c_char,
    pub ulen: c_uint,
    pub alen: c_uint,
    pub maxoutbuf: c_uint,
    pub mech_ssf: sasl_ssf_t,
    pub encode_context: *mut c_void,
    pub encode: Option<
        unsafe extern "C" fn(
            *mut c_void,
            *const c_void,
            c_uint,
            *mut *const c_char,
            *mut c_uint,
        ) -> c_int,
    >,
    pub decode_context: *mut c_void,
    pub decode: Option<
        unsafe extern "C" fn(
            *mut c_void,
            *const c_char,
            c_uint,
            *mut *const c_char,
            *mut c_uint,
        ) -> c_int,
    >,
    pub client_creds: *mut c_void,
    pub gss_peer_name: *const c_void,
    pub gss_local_name: *const c_void,
    pub cbindingname: *const c_char,
    pub spare_fptr1: Spare,
    pub spare_fptr2: Spare,
    pub cbindingdisp: c_uint,
    pub spare_int2: c_int,
    pub spare_int3: c_int,
    pub spare_int4: c_int,
    pub param_version: c_int,
}

/// The `canon_user` entry of the params structs.
pub type CanonUserFn = Option<
    unsafe extern "C" fn(
        *mut sasl_conn_t,
        *const c_char,
        c_uint,
        c_uint,
        *mut sasl_out_params_t,
    ) -> c_int,
>;

/// Cyrus's `sasl_client_params_t`.
#[repr(C)]
pub struct sasl_client_params_t {
    pub service: *const c_char,
    pub serverFQDN: *const c_char,
    pub clientFQDN: *const c_char,
    pub utils: *const sasl_utils_t,
    pub prompt_supp: *const sasl_callback_t,
    pub iplocalport: *const c_char,
    pub ipremoteport: *const c_char,
    pub servicelen: c_uint,
    pub slen: c_uint,
    pub clen: c_uint,
    pub iploclen: c_uint,
    pub ipremlen: c_uint,
    pub props: sasl_security_properties_t,
    pub external_ssf: sasl_ssf_t,
    pub gss_creds: *const c_void,
    pub cbinding: *const sasl_channel_binding_t,
    pub http_request: *const c_void,
    pub spare_ptr4: *mut c_void,
    pub canon_user: CanonUserFn,
    pub spare_fptr1: Spare,
    pub cbindingdisp: c_uint,
    pub log_level: c_int,
    pub spare_int3: c_int,
    pub flags: c_uint,
    pub param_version: c_int,
}

/// Cyrus's `sasl_server_params_t`.
#[repr(C)]
pub struct sasl_server_params_t {
    pub service: *const c_char,
    pub appname: *const c_char,
    pub serverFQDN: *const c_char,
    pub user_realm: *const c_char,
    pub iplocalport: *const c_char,
    pub ipremoteport: *const c_char,
    pub servicelen: c_uint,
    pub applen: c_uint,
    pub slen: c_uint,
    pub urlen: c_uint,
    pub iploclen: c_uint,
    pub ipremlen: c_uint,
    pub log_level: c_int,
    pub utils: *const sasl_utils_t,
    pub callbacks: *const sasl_callback_t,
    pub props: sasl_security_properties_t,
    pub external_ssf: sasl_ssf_t,
    pub transition: Option<unsafe extern "C" fn(*mut sasl_conn_t, *const c_char, c_uint) -> c_int>,
    pub canon_user: CanonUserFn,
    pub propctx: *mut propctx,
    pub gss_creds: *const c_void,
    pub cbinding: *const sasl_channel_binding_t,
    pub http_request: *const c_void,
    pub spare_ptr4: *mut c_void,
    pub spare_fptr1: Spare,
    pub spare_fptr2: Spare,
    pub spare_int1: c_int,
    pub spare_int2: c_int,
    pub spare_int3: c_int,
    pub flags: c_uint,
    pub param_version: c_int,
}

/// Cyrus's `sasl_client_plug_t`: one client mechanism of a plug-in.
#[repr(C)]
pub struct sasl_client_plug_t {
    pub mech_name: *const c_char,
    pub max_ssf: sasl_ssf_t,
    pub security_flags: c_uint,
    pub features: c_uint,
    pub required_prompts: *const c_ulong,
    pub glob_context: *mut c_void,
    pub mech_new: Option<
        unsafe extern "C" fn(*mut c_void, *mut sasl_client_params_t, *mut *mut c_void) -> c_int,
    >,
    pub mech_step: Option<
        unsafe extern "C" fn(
            *mut c_void,
            *mut sasl_client_params_t,
            *const c_char,
            c_uint,
            *mut *mut sasl_interact_t,
            *mut *const c_char,
            *mut c_uint,
            *mut sasl_out_params_t,
        ) -> c_int,
    >,
    pub mech_dispose: Option<unsafe extern "C" fn(*mut c_void, *const sasl_utils_t)>,
    pub mech_free: Option<unsafe extern "C" fn(*mut c_void, *const sasl_utils_t)>,
    pub idle:
        Option<unsafe extern "C" fn(*mut c_void, *mut c_void, *mut sasl_client_params_t) -> c_int>,
    pub spare_fptr1: Spare,
    pub spare_fptr2: Spare,
}

/// Cyrus's `sasl_server_plug_t`: one server mechanism of a plug-in.
#[repr(C)]
pub struct sasl_server_plug_t {
    pub mech_name: *const c_char,
    pub max_ssf: sasl_ssf_t,
    pub security_flags: c_uint,
    pub features: c_uint,
    pub glob_context: *mut c_void,
    pub mech_new: Option<
        unsafe extern "C" fn(
            *mut c_void,
            *mut sasl_server_params_t,
            *const c_char,
            c_uint,
            *mut *mut c_void,
        ) -> c_int,
    >,
    pub mech_step: Option<
        unsafe extern "C" fn(
            *mut c_void,
            *mut sasl_server_params_t,
            *const c_char,
            c_uint,
            *mut *const c_char,
            *mut c_uint,
            *mut sasl_out_params_t,
        ) -> c_int,
    >,
    pub mech_dispose: Option<unsafe extern "C" fn(*mut c_void, *const sasl_utils_t)>,
    pub mech_free: Option<unsafe extern "C" fn(*mut c_void, *const sasl_utils_t)>,
    pub setpass: Option<
        unsafe extern "C" fn(
            *mut c_void,
            *mut sasl_server_params_t,
            *const c_char,
            *const c_char,
            c_uint,
            *const c_char,
            c_uint,
            c_uint,
        ) -> c_int,
    >,
    pub user_query: Option<
        unsafe extern "C" fn(
            *mut c_void,
            *mut sasl_server_params_t,
            *const c_char,
            c_int,
            *mut *const c_char,
        ) -> c_int,
    >,
    pub idle:
        Option<unsafe extern "C" fn(*mut c_void, *mut c_void, *mut sasl_server_params_t) -> c_int>,
    pub mech_avail: Option<
        unsafe extern "C" fn(*mut c_void, *mut sasl_server_params_t, *mut *mut c_void) -> c_int,
    >,
    pub spare_fptr2: Spare,
}

/// Cyrus's `sasl_canonuser_plug_t`.
#[repr(C)]
pub struct sasl_canonuser_plug_t {
    pub features: c_int,
    pub spare_int1: c_int,
    pub glob_context: *mut c_void,
    pub name: *mut c_char,
    pub canon_user_free: Option<unsafe extern "C" fn(*mut c_void, *const sasl_utils_t)>,
    pub canon_user_server: Option<
        unsafe extern "C" fn(
            *mut c_void,
            *mut sasl_server_params_t,
            *const c_char,
            c_uint,
            c_uint,
            *mut c_char,
            c_uint,
            *mut c_uint,
        ) -> c_int,
    >,
    pub canon_user_client: Option<
        unsafe extern "C" fn(
            *mut c_void,
            *mut sasl_client_params_t,
            *const c_char,
            c_uint,
            c_uint,
            *mut c_char,
            c_uint,
            *mut c_uint,
        ) -> c_int,
    >,
    pub spare_fptr1: Spare,
    pub spare_fptr2: Spare,
    pub spare_fptr3: Spare,
}

/// Cyrus's `sasl_auxprop_plug_t`.
#[repr(C)]
pub struct sasl_auxprop_plug_t {
    pub features: c_int,
    pub spare_int1: c_int,
    pub glob_context: *mut c_void,
    pub auxprop_free: Option<unsafe extern "C" fn(*mut c_void, *const sasl_utils_t)>,
    pub auxprop_lookup: Option<
        unsafe extern "C" fn(
            *mut c_void,
            *mut sasl_server_params_t,
            c_uint,
            *const c_char,
            c_uint,
        ) -> c_int,
    >,
    pub name: *mut c_char,
    pub auxprop_store: Option<
        unsafe extern "C" fn(
            *mut c_void,
            *mut sasl_server_params_t,
            *mut propctx,
            *const c_char,
            c_uint,
        ) -> c_int,
    >,
}

/// `sasl_auxprop_init_t`.
pub type AuxpropInit = unsafe extern "C" fn(
    *const sasl_utils_t,
    c_int,
    *mut c_int,
    *mut *mut sasl_auxprop_plug_t,
    *const c_char,
) -> c_int;

/// `sasl_canonuser_init_t`.
pub type CanonuserInit = unsafe extern "C" fn(
    *const sasl_utils_t,
    c_int,
    *mut c_int,
    *mut *mut sasl_canonuser_plug_t,
    *const c_char,
) -> c_int;

/// `sasl_server_plug_init_t`.
pub type ServerPlugInit = unsafe extern "C" fn(
    *const sasl_utils_t,
    c_int,
    *mut c_int,
    *mut *mut sasl_server_plug_t,
    *mut c_int,
) -> c_int;

/// `sasl_client_plug_init_t`.
pub type ClientPlugInit = unsafe extern "C" fn(
    *const sasl_utils_t,
    c_int,
    *mut c_int,
    *mut *mut sasl_client_plug_t,
    *mut c_int,
) -> c_int;

// ---- MD5 (RFC 1321) over Cyrus's context layout ----

const MD5_SHIFTS: [u32; 64] = [
    7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9,
    14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15,
    21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
];

/// RFC 1321's table: `floor(abs(sin(i + 1)) * 2^32)`.
fn md5_constant(i: usize) -> u32 {
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "the value is below 2^32 by construction"
    )]
    let k = ((i as f64 + 1.0).sin().abs() * 4_294_967_296.0) as u32;
    k
}

fn md5_block(state: &mut [u32; 4], block: &[u8; 64]) {
    let mut words = [0u32; 16];
    for (word, chunk) in words.iter_mut().zip(block.chunks_exact(4)) {
        *word = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
    }
    let [mut a, mut b, mut c, mut d] = *state;
    for (i, shift) in MD5_SHIFTS.iter().enumerate() {
        let (f, g) = match i / 16 {
            0 => ((b & c) | (!b & d), i),
            1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
            2 => (b ^ c ^ d, (3 * i + 5) % 16),
            _ => (c ^ (b | !d), (7 * i) % 16),
        };
        let sum = a
            .wrapping_add(f)
            .wrapping_add(md5_constant(i))
            .wrapping_add(words[g]);
        a = d;
        d = c;
        c = b;
        b = b.wrapping_add(sum.rotate_left(*shift));
    }
    for (s, v) in state.iter_mut().zip([a, b, c, d]) {
        *s = s.wrapping_add(v);
    }
}

impl MD5_CTX {
    /// A fresh context.
    pub fn new() -> Self {
        MD5_CTX {
            state: [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476],
            count: [0, 0],
            buffer: [0; 64],
        }
    }

    fn length_bits(&self) -> u64 {
        u64::from(self.count[0]) | (u64::from(self.count[1]) << 32)
    }

    /// Hashes `data`.
    pub fn update(&mut self, mut data: &[u8]) {
        let bits = self.length_bits();
        let mut used = ((bits >> 3) % 64) as usize;
        let total = bits.wrapping_add((data.len() as u64).wrapping_mul(8));
        #[expect(clippy::cast_possible_truncation, reason = "split into two words")]
        {
            self.count = [total as u32, (total >> 32) as u32];
        }
        while !data.is_empty() {
            let take = (64 - used).min(data.len());
            self.buffer[used..used + take].copy_from_slice(&data[..take]);
            used += take;
            data = &data[take..];
            if used == 64 {
                let block = self.buffer;
                md5_block(&mut self.state, &block);
                used = 0;
            }
        }
    }

    /// The digest; the context is wiped.
    pub fn finish(&mut self) -> [u8; 16] {
        let bits = self.length_bits();
        let used = ((bits >> 3) % 64) as usize;
        let pad = if used < 56 { 56 - used } else { 120 - used };
        let mut padding = [0u8; 72];
        padding[0] = 0x80;
        self.update(&padding[..pad]);
        self.update(&bits.to_le_bytes());
        let mut digest = [0u8; 16];
        for (out, word) in digest.chunks_exact_mut(4).zip(self.state) {
            out.copy_from_slice(&word.to_le_bytes());
        }
        *self = MD5_CTX {
            state: [0; 4],
            count: [0; 2],
            buffer: [0; 64],
        };
        digest
    }
}

impl Default for MD5_CTX {
    fn default() -> Self {
        MD5_CTX::new()
    }
}

/// RFC 2104's padded keys: a key longer than 64 bytes is hashed first.
fn hmac_pads(key: &[u8]) -> ([u8; 64], [u8; 64]) {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        let mut ctx = MD5_CTX::new();
        ctx.update(key);
        block[..16].copy_from_slice(&ctx.finish());
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut ipad = [0x36u8; 64];
    let mut opad = [0x5cu8; 64];
    for ((i, o), k) in ipad.iter_mut().zip(opad.iter_mut()).zip(block) {
        *i ^= k;
        *o ^= k;
    }
    (ipad, opad)
}

impl HMAC_MD5_CTX {
    /// A context keyed with `key`.
    pub fn new(key: &[u8]) -> Self {
        let (ipad, opad) = hmac_pads(key);
        let mut ictx = MD5_CTX::new();
        ictx.update(&ipad);
        let mut octx = MD5_CTX::new();
        octx.update(&opad);
        HMAC_MD5_CTX { ictx, octx }
    }

    /// The MAC; the context is wiped.
    pub fn finish(&mut self) -> [u8; 16] {
        let inner = self.ictx.finish();
        self.octx.update(&inner);
        self.octx.finish()
    }
}

impl HMAC_MD5_STATE {
    /// The states after the padded key (Cyrus's precalculation).
    pub fn new(key: &[u8]) -> Self {
        let ctx = HMAC_MD5_CTX::new(key);
        HMAC_MD5_STATE {
            istate: ctx.ictx.state,
            ostate: ctx.octx.state,
        }
    }

    /// A context resuming from these states (64 bytes hashed in each).
    pub fn import(&self) -> HMAC_MD5_CTX {
        let resume = |state: [u32; 4]| MD5_CTX {
            state,
            count: [512, 0],
            buffer: [0; 64],
        };
        HMAC_MD5_CTX {
            ictx: resume(self.istate),
            octx: resume(self.ostate),
        }
    }
}

// Cyrus's sizes on x86_64 (`ffi/tests/c/abi.c` checks every field of the C header; these tie
// the Rust mirrors to the same numbers).
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
const _: () = {
    assert!(size_of::<MD5_CTX>() == 88);
    assert!(size_of::<HMAC_MD5_CTX>() == 176);
    assert!(size_of::<HMAC_MD5_STATE>() == 32);
    assert!(size_of::<sasl_utils_t>() == 392);
    assert!(size_of::<sasl_out_params_t>() == 144);
    assert!(size_of::<sasl_client_params_t>() == 192);
    assert!(size_of::<sasl_client_plug_t>() == 96);
    assert!(size_of::<sasl_server_params_t>() == 232);
    assert!(size_of::<sasl_server_plug_t>() == 104);
    assert!(size_of::<sasl_canonuser_plug_t>() == 72);
    assert!(size_of::<sasl_auxprop_plug_t>() == 48);
};

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// RFC 1321's test suite and RFC 2104's HMAC-MD5 vectors, and a split update.
    #[test]
    fn md5_and_hmac_md5_vectors() {
        for (input, digest) in [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            (
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a",
            ),
        ] {
            let mut ctx = MD5_CTX::new();
            ctx.update(input.as_bytes());
            assert_eq!(hex(&ctx.finish()), digest, "{input}");
            let mut ctx = MD5_CTX::new();
            for byte in input.as_bytes() {
                ctx.update(&[*byte]);
            }
            assert_eq!(hex(&ctx.finish()), digest, "{input} bytewise");
        }
        let mut ctx = HMAC_MD5_CTX::new(b"Jefe");
        ctx.ictx.update(b"what do ya want for nothing?");
        assert_eq!(hex(&ctx.finish()), "750c783e6ab0b503eaa86e310a5db738");
        let mut ctx = HMAC_MD5_STATE::new(b"Jefe").import();
        ctx.ictx.update(b"what do ya want for nothing?");
        assert_eq!(hex(&ctx.finish()), "750c783e6ab0b503eaa86e310a5db738");
        let mut ctx = HMAC_MD5_CTX::new(&[0xaa; 80]);
        ctx.ictx
            .update(b"Test Using Larger Than Block-Size Key - Hash Key First");
        assert_eq!(hex(&ctx.finish()), "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd");
    }
}
