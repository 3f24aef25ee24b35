//! A statistical constant-time check in the manner of dudect (Reparaz, Balasch, Verbauwhede,
//! "Dude, is my code constant time?", 2017): for each verification the server makes, time it
//! on two classes of wrong input, interleaved at random — class A almost right (the right
//! password, proof, digest or response with only its last byte changed), class B random of
//! the same length — and compare the two timing distributions with Welch's t-test, on all
//! samples and on the samples below several percentiles (cropping the long tail of
//! interrupts). A comparison that stopped at the first differing byte would make class A
//! measurably slower; |t| below 4.5 is the usual bar for "no leak detected". The first case
//! is a control, a byte-by-byte comparison that stops early: it must be flagged.
//!
//! Run with `cargo bench --bench constant_time` (10^6 samples per case;
//! `CT_SAMPLES=100000` for a quicker look, and a case name as argument to run one case).
//! Not a test: timing belongs in benchmarks. Figures in `benches/README.md`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::as_conversions,
    missing_docs,
    reason = "benchmark code"
)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use puresasl::credentials::{PasswordPolicy, set_password};
use puresasl::{
    ClientConfig, ClientSession, ClientStep, Credentials, FixedRandom, MemoryStore, ScramHash,
    ServerConfig, ServerSession, ServerStep,
};

const USER: &str = "tim";
const REALM: &str = "example.org";
const PASSWORD: &[u8] = b"tanstaaftanstaaf";

/// A small deterministic generator for the class choice and the random inputs.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, len: usize, alphabet: &[u8]) -> Vec<u8> {
        (0..len)
            .map(|_| alphabet[(self.next() % alphabet.len() as u64) as usize])
            .collect()
    }
}

const HEX: &[u8] = b"0123456789abcdef";
const PRINTABLE: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// The input of `class`: `right` with its last byte changed (0), or random bytes of the same
/// length (1). Both are computed every time, so the work before the timed call does not
/// depend on the class.
fn candidate(class: usize, right: &[u8], alphabet: &[u8], rng: &mut XorShift) -> Vec<u8> {
    let mut almost = right.to_vec();
    spoil_last(&mut almost, alphabet);
    let random = rng.bytes(right.len(), alphabet);
    pick(class, [almost, random])
}

/// A copy of `both[class]`; both are dropped in the same order whatever the class, so the
/// allocator's state before the timed call does not depend on it either.
fn pick(class: usize, both: [Vec<u8>; 2]) -> Vec<u8> {
    black_box(both[class].clone())
}

/// Changes the last byte of `bytes` to another byte of `alphabet`.
fn spoil_last(bytes: &mut [u8], alphabet: &[u8]) {
    if let Some(last) = bytes.last_mut() {
        let at = alphabet.iter().position(|b| b == last).unwrap_or(0);
        *last = alphabet[(at + 1) % alphabet.len()];
    }
}

fn config(store: MemoryStore, mechanism: &str) -> Arc<ServerConfig> {
    Arc::new(
        ServerConfig::builder("imap", REALM)
            .store(Arc::new(store))
            .mechanisms([mechanism])
            .scram_iterations(1)
            .random(Arc::new(FixedRandom::new(9)))
            .build()
            .unwrap(),
    )
}

fn plaintext_store() -> MemoryStore {
    MemoryStore::new().with_password(USER, REALM, std::str::from_utf8(PASSWORD).unwrap())
}

/// A user with SCRAM-SHA-256 keys only (one PBKDF2 round, so a sample is quick).
fn keys_store() -> MemoryStore {
    let store = MemoryStore::new();
    let policy = PasswordPolicy {
        keep_plaintext: false,
        scram_hashes: vec![ScramHash::Sha256],
        scram_iterations: 1,
        digest_md5: false,
        cram_md5: false,
    };
    set_password(&store, USER, REALM, PASSWORD, &policy, &FixedRandom::new(1)).unwrap();
    store
}

/// One measurement: prepares a session and its input for `class` (0: almost right, 1:
/// random) outside the timed region, times the verifying call, and returns nanoseconds.
type Sample<'a> = Box<dyn FnMut(usize, &mut XorShift) -> u64 + 'a>;

fn time<T>(call: impl FnOnce() -> T) -> u64 {
    let started = Instant::now();
    black_box(call());
    started.elapsed().as_nanos() as u64
}

fn plain_case(config: Arc<ServerConfig>) -> Sample<'static> {
    Box::new(move |class, rng| {
        let password = candidate(class, PASSWORD, PRINTABLE, rng);
        let message = [b"\0", USER.as_bytes(), b"\0", &password].concat();
        let mut server = ServerSession::new(Arc::clone(&config));
        time(|| server.start("PLAIN", Some(&message)).is_ok())
    })
}

fn login_case(config: Arc<ServerConfig>) -> Sample<'static> {
    Box::new(move |class, rng| {
        let password = candidate(class, PASSWORD, PRINTABLE, rng);
        let mut server = ServerSession::new(Arc::clone(&config));
        server.start("LOGIN", Some(USER.as_bytes())).unwrap();
        time(|| server.step(&password).is_ok())
    })
}

fn cram_md5_case(config: Arc<ServerConfig>) -> Sample<'static> {
    let client_config = Arc::new(ClientConfig::new(
        "imap",
        REALM,
        Arc::new(Credentials::new(
            USER,
            std::str::from_utf8(PASSWORD).unwrap(),
        )),
    ));
    Box::new(move |class, rng| {
        let mut server = ServerSession::new(Arc::clone(&config));
        let Ok(ServerStep::Continue(challenge)) = server.start("CRAM-MD5", None) else {
            panic!("CRAM-MD5 challenge");
        };
        let mut client = ClientSession::new(Arc::clone(&client_config));
        client.start("CRAM-MD5").unwrap();
        let Ok(ClientStep::Continue(mut response) | ClientStep::Done(Some(mut response))) =
            client.step(&challenge)
        else {
            panic!("CRAM-MD5 response");
        };
        let digest_at = response.len() - 32;
        let digest = candidate(class, &response[digest_at..], HEX, rng);
        response.splice(digest_at.., digest);
        time(|| server.step(&response).is_ok())
    })
}

/// Replaces the value of `name="..."` or `name=...` in a DIGEST-MD5 or SCRAM message.
fn replace_value(message: &[u8], key: &str, make: impl FnOnce(&[u8]) -> Vec<u8>) -> Vec<u8> {
    let text = String::from_utf8(message.to_vec()).unwrap();
    let start = text.find(key).unwrap() + key.len();
    let end = text[start..].find(',').map_or(text.len(), |at| start + at);
    let value = make(&message[start..end]);
    [&message[..start], &value, &message[end..]].concat()
}

fn digest_md5_case(config: Arc<ServerConfig>) -> Sample<'static> {
    let client_config = Arc::new(ClientConfig::new(
        "imap",
        REALM,
        Arc::new(Credentials::new(
            USER,
            std::str::from_utf8(PASSWORD).unwrap(),
        )),
    ));
    Box::new(move |class, rng| {
        let mut server = ServerSession::new(Arc::clone(&config));
        let Ok(ServerStep::Continue(challenge)) = server.start("DIGEST-MD5", None) else {
            panic!("DIGEST-MD5 challenge");
        };
        let mut client = ClientSession::new(Arc::clone(&client_config));
        client.start("DIGEST-MD5").unwrap();
        let Ok(ClientStep::Continue(response)) = client.step(&challenge) else {
            panic!("DIGEST-MD5 response");
        };
        let response = replace_value(&response, "response=", |right| {
            candidate(class, right, HEX, rng)
        });
        time(|| server.step(&response).is_ok())
    })
}

fn scram_case(config: Arc<ServerConfig>) -> Sample<'static> {
    let client_config = Arc::new(
        ClientConfig::new(
            "imap",
            REALM,
            Arc::new(Credentials::new(
                USER,
                std::str::from_utf8(PASSWORD).unwrap(),
            )),
        )
        .with_scram_iterations(1, 4096),
    );
    const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    // The last of 43 characters carries 2 zero bits: every fourth letter of the alphabet.
    const LAST_BASE64: &[u8] = b"AEIMQUYcgkosw048";
    Box::new(move |class, rng| {
        let mut client = ClientSession::new(Arc::clone(&client_config));
        let first = client
            .start("SCRAM-SHA-256")
            .unwrap()
            .initial_response
            .unwrap();
        let mut server = ServerSession::new(Arc::clone(&config));
        let Ok(ServerStep::Continue(server_first)) = server.start("SCRAM-SHA-256", Some(&first))
        else {
            panic!("SCRAM server-first");
        };
        let Ok(ClientStep::Continue(last)) = client.step(&server_first) else {
            panic!("SCRAM client-final");
        };
        // The proof is base64 of 32 bytes: 43 characters and `=`. Change the last
        // significant character (class A) or all of them (class B).
        let last = replace_value(&last, ",p=", |right| {
            let mut almost = right[..43].to_vec();
            spoil_last(&mut almost, LAST_BASE64);
            let mut random = rng.bytes(42, BASE64);
            random.extend(rng.bytes(1, LAST_BASE64));
            let mut value = pick(class, [almost, random]);
            value.push(b'=');
            value
        });
        time(|| server.step(&last).is_ok())
    })
}

/// The control: a comparison that stops at the first differing byte, over 64 bytes. The
/// method must flag it (|t| far above 4.5), or it could not flag anything.
fn early_exit_control() -> Sample<'static> {
    let right: Vec<u8> = (0..64u8).map(|i| b'a' + i % 26).collect();
    Box::new(move |class, rng| {
        let input = candidate(class, &right, PRINTABLE, rng);
        let right = black_box(right.as_slice());
        time(|| {
            let mut equal = right.len() == input.len();
            for (a, b) in right.iter().zip(&input) {
                if a != b {
                    equal = false;
                    break;
                }
            }
            equal
        })
    })
}

/// Welch's t statistic of two samples.
fn welch(a: &[u64], b: &[u64]) -> f64 {
    let stats = |xs: &[u64]| {
        let n = xs.len() as f64;
        let mean = xs.iter().map(|&x| x as f64).sum::<f64>() / n;
        let var = xs.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / (n - 1.0);
        (n, mean, var)
    };
    let (na, ma, va) = stats(a);
    let (nb, mb, vb) = stats(b);
    (ma - mb) / (va / na + vb / nb).sqrt()
}

/// |t| on all samples, and the largest |t| over dudect's crops (samples below the p-th
/// percentile of all measurements).
fn analyse(samples: &[(usize, u64)]) -> (f64, f64, f64, f64) {
    let mut sorted: Vec<u64> = samples.iter().map(|&(_, t)| t).collect();
    sorted.sort_unstable();
    let split = |limit: u64| {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for &(class, t) in samples {
            if t <= limit {
                if class == 0 { &mut a } else { &mut b }.push(t);
            }
        }
        (a, b)
    };
    let (a, b) = split(u64::MAX);
    let median = |xs: &mut Vec<u64>| {
        xs.sort_unstable();
        xs[xs.len() / 2] as f64
    };
    let (mut ma, mut mb) = (a.clone(), b.clone());
    let raw = welch(&a, &b).abs();
    let mut worst = raw;
    // dudect's crops: percentiles 1 - 0.5^(10 i / 100), from 6.7 % to 99.9 %.
    for i in 1..=100 {
        let fraction = 1.0 - 0.5f64.powf(10.0 * f64::from(i) / 100.0);
        let limit = sorted[((sorted.len() as f64 * fraction) as usize).min(sorted.len() - 1)];
        let (a, b) = split(limit);
        if a.len() > 100 && b.len() > 100 {
            worst = worst.max(welch(&a, &b).abs());
        }
    }
    (raw, worst, median(&mut ma), median(&mut mb))
}

fn main() {
    let samples: usize = std::env::var("CT_SAMPLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let cases: Vec<(&str, Sample<'static>)> = vec![
        ("control: early-exit compare", early_exit_control()),
        (
            "PLAIN, plaintext store",
            plain_case(config(plaintext_store(), "PLAIN")),
        ),
        (
            "PLAIN, SCRAM keys only",
            plain_case(config(keys_store(), "PLAIN")),
        ),
        (
            "LOGIN, plaintext store",
            login_case(config(plaintext_store(), "LOGIN")),
        ),
        (
            "SCRAM-SHA-256 proof",
            scram_case(config(plaintext_store(), "SCRAM-SHA-256")),
        ),
        (
            "CRAM-MD5 response",
            cram_md5_case(config(plaintext_store(), "CRAM-MD5")),
        ),
        (
            "DIGEST-MD5 response",
            digest_md5_case(config(plaintext_store(), "DIGEST-MD5")),
        ),
    ];
    println!(
        "{:<26} {:>9} {:>9} {:>12} {:>12} {:>10}",
        "case", "|t| all", "max |t|", "median A ns", "median B ns", "samples"
    );
    for (name, mut sample) in cases {
        if !only.is_empty() && !only.iter().any(|o| name.contains(o.as_str())) {
            continue;
        }
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        // Warm up caches and allocators.
        for i in 0..1000 {
            sample(i % 2, &mut rng);
        }
        let mut measured = Vec::with_capacity(samples);
        for _ in 0..samples {
            let class = (rng.next() & 1) as usize;
            measured.push((class, sample(class, &mut rng)));
        }
        let (raw, worst, median_a, median_b) = analyse(&measured);
        println!(
            "{name:<26} {raw:>9.2} {worst:>9.2} {median_a:>12.0} {median_b:>12.0} {samples:>10}"
        );
    }
}
