//! `password_format: crypt`: crypt(3) hashes made by libxcrypt's tools (`mkpasswd`),
//! `openssl passwd`, Python's `crypt` and `htpasswd`, verified by PLAIN and LOGIN, useless to
//! the shared-secret mechanisms, and never compared as plaintext.
//!
//! `tests/data/crypt/vectors.txt` holds fixed vectors whose verdicts are libxcrypt's (see
//! `generate.py` there); `fresh_hashes_from_the_tools` makes new ones when the tools are
//! installed (packages `whois`, `apache2-utils`, `openssl`, `dovecot-core`).

#![allow(clippy::print_stderr, reason = "skip notes")]

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use puresasl::auxprop::{Auxprop, MemoryStore, property};
use puresasl::credentials::{CredentialView, Decoy, PasswordCheck};
use puresasl::crypt::{CryptDecoy, CryptError, PasswordFormat, verify};
use puresasl::sasldb::SasldbStore;
use puresasl::{Credentials, Error, FixedRandom, LogLevel, Secret, ServerConfig, ServerSession};

use crate::interop::{have, scratch};
use crate::pair::{self, PairError};

const VECTORS: &str = include_str!("data/crypt/vectors.txt");

struct Vector {
    line: usize,
    label: String,
    matches: bool,
    password: Vec<u8>,
    stored: String,
}

fn decode_hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn vectors() -> Vec<Vector> {
    VECTORS
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.starts_with('#') && !line.trim().is_empty())
        .map(|(index, line)| {
            let fields: Vec<&str> = line.splitn(4, ' ').collect();
            let [label, verdict, password, stored] = fields[..] else {
                panic!("vectors.txt:{}: four fields expected", index + 1);
            };
            let password = if let Some(hex) = password.strip_prefix("hex:") {
                decode_hex(hex)
            } else {
                password.strip_prefix("text:").unwrap().as_bytes().to_vec()
            };
            Vector {
                line: index + 1,
                label: label.to_owned(),
                matches: verdict == "match",
                password,
                stored: stored.to_owned(),
            }
        })
        .collect()
}

/// Runs `check` on `vectors` and fails naming each vector it rejected.
fn check_all(vectors: impl Iterator<Item = Vector>, check: impl Fn(&Vector) -> Result<(), String>) {
    let failures: Vec<String> = vectors
        .filter_map(|v| {
            check(&v)
                .err()
                .map(|why| format!("vectors.txt:{} {}: {why}", v.line, v.label))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Runs `check` on every vector.
fn for_each_vector(check: impl Fn(&Vector) -> Result<(), String>) {
    check_all(vectors().into_iter(), check);
}

/// Runs `check` on the first vector of each stored value (the password itself, a match), for
/// the checks that need one password per hash (and so stay fast).
fn for_each_hash(check: impl Fn(&Vector) -> Result<(), String>) {
    let mut seen = std::collections::HashSet::new();
    let first = vectors()
        .into_iter()
        .filter(move |v| seen.insert(v.stored.clone()));
    check_all(first, check);
}

#[test]
fn vectors_verify_as_libxcrypt_does() {
    assert!(vectors().len() > 1400);
    for_each_vector(|v| match verify(v.stored.as_bytes(), &v.password) {
        Ok(result) if result == v.matches => Ok(()),
        other => Err(format!("expected {}, got {other:?}", v.matches)),
    });
}

/// The Dovecot crypt scheme of a stored hash.
fn dovecot_scheme(stored: &str) -> &'static str {
    match &stored[..3] {
        "$6$" => "SHA512-CRYPT",
        "$5$" => "SHA256-CRYPT",
        "$2a" | "$2b" | "$2y" => "BLF-CRYPT",
        "$1$" => "MD5-CRYPT",
        "$y$" => "CRYPT",
        _ => "DES-CRYPT",
    }
}

#[test]
fn dovecot_prefixes_verify_the_same() {
    for_each_hash(|v| {
        if v.stored.starts_with('{') {
            return Ok(());
        }
        for scheme in ["CRYPT", dovecot_scheme(&v.stored)] {
            let prefixed = format!("{{{scheme}}}{}", v.stored);
            let result = verify(prefixed.as_bytes(), &v.password);
            if result != Ok(v.matches) {
                return Err(format!("{{{scheme}}}: {result:?}"));
            }
        }
        Ok(())
    });
}

#[test]
fn truncated_and_damaged_hashes_never_match() {
    for_each_hash(|v| {
        if !v.matches {
            return Ok(());
        }
        for cut in [1, 2, v.stored.len() / 2] {
            let truncated = &v.stored.as_bytes()[..v.stored.len() - cut];
            if let Ok(true) = verify(truncated, &v.password) {
                return Err(format!("matched with {cut} characters cut off"));
            }
        }
        let mut extended = v.stored.clone();
        extended.push('A');
        if let Ok(true) = verify(extended.as_bytes(), &v.password) {
            return Err("matched with a character appended".into());
        }
        Ok(())
    });
}

#[test]
fn the_hash_is_never_the_password() {
    for_each_hash(|v| match verify(v.stored.as_bytes(), v.stored.as_bytes()) {
        Ok(true) => Err("the hash verified as its own password".into()),
        _ => Ok(()),
    });
}

#[test]
fn nul_bytes_never_match() {
    // crypt(3) would stop at the NUL and accept "password\0anything".
    for_each_hash(|v| {
        if !v.matches || v.password.is_empty() {
            return Ok(());
        }
        let mut with_nul = v.password.clone();
        with_nul.extend_from_slice(b"\0junk");
        let mut nul_inside = v.password.clone();
        nul_inside.insert(1, 0);
        for offered in [with_nul, nul_inside] {
            if verify(v.stored.as_bytes(), &offered) == Ok(true) {
                return Err(format!("matched {offered:?}"));
            }
        }
        Ok(())
    });
    assert_eq!(verify(b"{PLAIN}pw", b"pw\0"), Ok(false));
    assert_eq!(
        verify(b"pw\0", b"pw"),
        Err(CryptError::Unsupported("not a crypt(3) hash".into()))
    );
}

#[test]
fn every_costly_hash_has_a_decoy_that_keeps_only_its_cost() {
    for_each_hash(|v| {
        let value = v
            .stored
            .split_once('}')
            .map_or(v.stored.as_str(), |(_, value)| value);
        let scheme = v
            .stored
            .strip_prefix('{')
            .and_then(|s| s.split_once('}'))
            .map(|(s, _)| s);
        let costly = !matches!(scheme, Some(s) if !s.contains("CRYPT") && !s.starts_with("ARGON2") && s != "MD5" && s != "PBKDF2" && !s.starts_with("SCRAM"));
        let decoy = CryptDecoy::of(v.stored.as_bytes());
        let Some(decoy) = decoy else {
            return if costly {
                Err("no decoy".into())
            } else {
                Ok(())
            };
        };
        if !costly {
            return Err(format!("a cheap scheme got a decoy {decoy:?}"));
        }
        // The decoy keeps the algorithm and its cost, not the salt or hash.
        let shown = format!("{decoy:?}");
        let hash = value.rsplit(['$', ',']).next().unwrap();
        if value.len() > 13 && shown.contains(hash) {
            return Err(format!("decoy {shown} keeps the hash"));
        }
        let cost = |s: &str| s.split('$').nth(2).map(str::to_owned);
        if value.starts_with("$6$rounds") && cost(&shown) != cost(value) {
            return Err(format!("decoy {shown} lost the rounds"));
        }
        Ok(())
    });
}

#[test]
fn unknown_ids_empty_and_plaintext_values_are_errors() {
    for (stored, error) in [
        ("$x$abc$def", CryptError::Unsupported("$x$".into())),
        (
            "$7$CU..../....salt$hash",
            CryptError::Unsupported("$7$".into()),
        ),
        (
            "$md5,rounds=1000$salt$hash",
            CryptError::Unsupported("not a crypt(3) hash".into()),
        ),
        (
            "secret",
            CryptError::Unsupported("not a crypt(3) hash".into()),
        ),
        ("", CryptError::Empty),
        ("{FOO}bar", CryptError::UnknownScheme("FOO".into())),
        (
            "{DIGEST-MD5}ebbc0ff9a121dbb6789bbe5f82174fa0",
            CryptError::UnknownScheme("DIGEST-MD5".into()),
        ),
        (
            "{SCRAM-SHA-256}4096,c2FsdA==,a,b",
            CryptError::Malformed("SCRAM"),
        ),
        (
            "$6$rounds=1000$salt$tooshort",
            CryptError::Malformed("SHA-crypt"),
        ),
        ("$2b$05$tooshort", CryptError::Malformed("bcrypt")),
        (
            "$2b$99$U6iJ.BGs.kzLFLnN9bW8UueJeoFtoJBgJjUKKbKuLNJ695pYdh2xy",
            CryptError::Malformed("bcrypt"),
        ),
    ] {
        // Not even the stored text itself is accepted.
        assert_eq!(
            verify(stored.as_bytes(), stored.as_bytes()),
            Err(error.clone()),
            "{stored}"
        );
        assert_eq!(verify(stored.as_bytes(), b""), Err(error), "{stored}");
    }
}

#[test]
fn empty_passwords() {
    // An empty offered password does not match a non-empty one's hash (covered for every
    // vector in the data file) but does match a hash of the empty password, as crypt(3).
    let empty = "$1$saltsalt$5Jhcit4zN9UlGiA0txPkO0";
    assert_eq!(verify(empty.as_bytes(), b""), Ok(true));
    assert_eq!(verify(empty.as_bytes(), b"x"), Ok(false));
}

/// The error-level lines of a log.
fn errors(log: &Mutex<Vec<String>>) -> Vec<String> {
    let log = log.lock().unwrap();
    log.iter()
        .filter(|line| line.starts_with("Error"))
        .cloned()
        .collect()
}

/// A store holding `tim`'s password only as `hash`.
fn hashed_server(
    hash: &str,
    format: PasswordFormat,
    log: Arc<Mutex<Vec<String>>>,
) -> Arc<ServerConfig> {
    let store = MemoryStore::new();
    store.set(
        "tim",
        "example.org",
        property::USER_PASSWORD,
        vec![Secret::from(hash)],
    );
    Arc::new(
        ServerConfig::builder("imap", "mail.example.org")
            .user_realm("example.org")
            .store(Arc::new(store))
            .password_format(format)
            .random(Arc::new(FixedRandom::new(3)))
            .log(Arc::new(move |level: LogLevel, message: &str| {
                log.lock().unwrap().push(format!("{level:?}: {message}"));
            }))
            .build()
            .unwrap(),
    )
}

fn login(
    config: &Arc<ServerConfig>,
    mechanism: &str,
    user: &str,
    password: &str,
) -> Result<(), PairError> {
    let mut server = ServerSession::new(config.clone());
    let mut client = puresasl::ClientSession::new(pair::client_config(
        mechanism,
        Credentials::new(user, password),
    ));
    pair::run(&mut server, &mut client, true).result.map(drop)
}

const SHA512_OF_TANSTAAF: &str = "$6$rounds=1000$Zt2bI0J5JLHCj2bH$hHhzd8dBkUJb1.ijnJ7KmQQab1MP3l8xwJZ5uRMhgxp96de9pen1hLdhwnlAM87k63jLW6313u2v3f37D0Te71";

#[test]
fn plain_and_login_verify_hashes_and_the_rest_find_no_secret() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let config = hashed_server(SHA512_OF_TANSTAAF, PasswordFormat::Crypt, log.clone());
    for mechanism in ["PLAIN", "LOGIN"] {
        assert_eq!(
            login(&config, mechanism, "tim", "tanstaaftanstaaf"),
            Ok(()),
            "{mechanism}"
        );
        for wrong in ["wrong", SHA512_OF_TANSTAAF, "tanstaaftanstaa"] {
            assert_eq!(
                login(&config, mechanism, "tim", wrong),
                Err(PairError::Server(Error::AuthenticationFailed)),
                "{mechanism} {wrong:?}"
            );
        }
        // PLAIN refuses an empty password before looking; LOGIN checks it.
        assert!(login(&config, mechanism, "tim", "").is_err(), "{mechanism}");
    }
    // A crypt hash is no shared secret: these fail exactly as for an unknown user, whether
    // the client offers the password or the hash string.
    for mechanism in [
        "CRAM-MD5",
        "DIGEST-MD5",
        "SCRAM-SHA-1",
        "SCRAM-SHA-256",
        "SCRAM-SHA-512",
    ] {
        for password in ["tanstaaftanstaaf", SHA512_OF_TANSTAAF] {
            let known = login(&config, mechanism, "tim", password);
            let unknown = login(&config, mechanism, "nobody", password);
            assert!(known.is_err(), "{mechanism} {password}");
            assert_eq!(known, unknown, "{mechanism} {password}");
        }
    }
    // Known users cost a SHA-crypt; unknown users are made to cost one too.
    let decoy = config.unknown_user_decoy();
    assert!(matches!(decoy, Decoy::Crypt(_)), "{decoy:?}");
    assert_eq!(
        config
            .check_password("nobody", "example.org", b"tanstaaftanstaaf")
            .unwrap(),
        PasswordCheck::NoSuchUser
    );
    assert_eq!(errors(&log), Vec::<String>::new());
}

#[test]
fn the_plain_format_is_unchanged_and_plain_values_stay_usable() {
    // Cyrus's default: the stored value is the password (this is why Crypt exists).
    let log = Arc::new(Mutex::new(Vec::new()));
    let config = hashed_server(SHA512_OF_TANSTAAF, PasswordFormat::Plain, log.clone());
    assert_eq!(login(&config, "PLAIN", "tim", SHA512_OF_TANSTAAF), Ok(()));
    assert!(login(&config, "PLAIN", "tim", "tanstaaftanstaaf").is_err());

    // {PLAIN} values under Crypt: every mechanism can use them.
    let config = hashed_server(
        "{PLAIN}tanstaaftanstaaf",
        PasswordFormat::Crypt,
        log.clone(),
    );
    for mechanism in ["PLAIN", "LOGIN", "CRAM-MD5", "DIGEST-MD5", "SCRAM-SHA-256"] {
        assert_eq!(
            login(&config, mechanism, "tim", "tanstaaftanstaaf"),
            Ok(()),
            "{mechanism}"
        );
        assert!(
            login(&config, mechanism, "tim", "{PLAIN}tanstaaftanstaaf").is_err(),
            "{mechanism}"
        );
    }
    assert_eq!(errors(&log), Vec::<String>::new());
}

#[test]
fn unusable_values_are_logged_mismatches_never_plaintext() {
    for stored in [
        "tanstaaftanstaaf",
        "",
        "$x$tanstaaftanstaaf",
        "{SSHA512}tanstaaftanstaaf",
    ] {
        let log = Arc::new(Mutex::new(Vec::new()));
        let config = hashed_server(stored, PasswordFormat::Crypt, log.clone());
        for offered in [stored, "tanstaaftanstaaf"] {
            if offered.is_empty() {
                continue; // PLAIN refuses it before looking
            }
            assert_eq!(
                login(&config, "PLAIN", "tim", offered),
                Err(PairError::Server(Error::AuthenticationFailed)),
                "{stored:?} {offered:?}"
            );
        }
        let log = log.lock().unwrap();
        assert!(
            log.iter().any(|line| line
                .starts_with("Error: userPassword of tim@example.org cannot be verified")),
            "{stored:?}: {log:?}"
        );
        // The log names the problem, not the stored value.
        assert!(log.iter().all(|line| !line.contains("tanstaaf")), "{log:?}");
    }
}

#[test]
fn sasldb_values_are_read_the_same_way() {
    let dir = scratch("crypt-sasldb");
    let store = SasldbStore::new(dir.join("sasldb2"));
    store
        .store(
            "tim",
            "example.org",
            property::USER_PASSWORD,
            &[Secret::from(SHA512_OF_TANSTAAF)],
        )
        .unwrap();
    let view =
        CredentialView::new(&store, "tim", "example.org").password_format(PasswordFormat::Crypt);
    assert_eq!(
        view.check_password(b"tanstaaftanstaaf"),
        Ok(PasswordCheck::Match)
    );
    assert_eq!(
        view.check_password(SHA512_OF_TANSTAAF.as_bytes()),
        Ok(PasswordCheck::Mismatch)
    );
    assert!(view.password().unwrap().is_none());
    assert_eq!(view.has_user_password(), Ok(true));
    let nobody =
        CredentialView::new(&store, "nobody", "example.org").password_format(PasswordFormat::Crypt);
    assert_eq!(
        nobody.check_password(b"tanstaaftanstaaf"),
        Ok(PasswordCheck::NoSuchUser)
    );
}

/// `tool args` with `input` on standard input; its trimmed standard output.
fn run_tool(tool: &str, args: &[&str], input: &[u8]) -> String {
    use std::io::Write as _;
    let mut child = Command::new(tool)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{tool} {args:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

#[test]
fn fresh_hashes_from_the_tools() {
    let password = "fresh-Pässword 1";
    let mut hashes: Vec<(String, String)> = Vec::new();
    if have("mkpasswd") {
        for (method, rounds) in [
            ("yescrypt", Some("1")),
            ("sha512crypt", Some("1000")),
            ("sha256crypt", Some("1000")),
            ("bcrypt", Some("5")),
            ("bcrypt-a", Some("5")),
            ("md5crypt", None),
            ("descrypt", None),
        ] {
            let mut args = vec!["-s", "-m", method];
            args.extend(rounds.iter().flat_map(|r| ["-R", *r]));
            hashes.push((
                format!("mkpasswd -m {method}"),
                run_tool("mkpasswd", &args, password.as_bytes()),
            ));
        }
    }
    if have("openssl") {
        for flag in ["-1", "-5", "-6"] {
            hashes.push((
                format!("openssl passwd {flag}"),
                run_tool("openssl", &["passwd", flag, "-stdin"], password.as_bytes()),
            ));
        }
    }
    if have("htpasswd") {
        for flags in [["-nbB", "-C4"], ["-nb2", "-r1000"], ["-nb5", "-r1000"]] {
            let line = run_tool("htpasswd", &[flags[0], flags[1], "user", password], b"");
            hashes.push((
                format!("htpasswd {flags:?}"),
                line.split_once(':').unwrap().1.to_owned(),
            ));
        }
    }
    if have("doveadm") {
        for scheme in [
            "SHA512-CRYPT",
            "BLF-CRYPT",
            "ARGON2ID",
            "PBKDF2",
            "SCRAM-SHA-256",
            "SSHA512",
            "CRYPT",
        ] {
            let value = run_tool("doveadm", &["pw", "-s", scheme, "-p", password], b"");
            hashes.push((format!("doveadm pw -s {scheme}"), value));
        }
    }
    let python = "import crypt, sys, warnings\n\
        warnings.simplefilter('ignore')\n\
        pw = sys.stdin.read()\n\
        for m, r in [(crypt.METHOD_SHA512, 1000), (crypt.METHOD_BLOWFISH, 16), (crypt.METHOD_MD5, None), (crypt.METHOD_CRYPT, None)]:\n\
        \x20   print(crypt.crypt(pw, crypt.mksalt(m, rounds=r)))\n";
    // Python 3.13 removed `crypt`; its absence is no failure, even under CI.
    let has_crypt = Command::new("python3")
        .args(["-W", "ignore", "-c", "import crypt"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if has_crypt {
        for hash in run_tool("python3", &["-c", python], password.as_bytes()).lines() {
            hashes.push(("python3 crypt".into(), hash.to_owned()));
        }
    } else {
        eprintln!("note: python3 has no crypt module; skipping its fresh hashes");
    }
    if hashes.is_empty() {
        eprintln!("note: no hash tools installed (whois, openssl, apache2-utils); nothing to do");
        return;
    }
    let failures: Vec<String> = hashes
        .iter()
        .filter(|(_, hash)| {
            verify(hash.as_bytes(), password.as_bytes()) != Ok(true)
                || verify(hash.as_bytes(), "Fresh-Pässword 1".as_bytes()) != Ok(false)
                || verify(hash.as_bytes(), hash.as_bytes()) == Ok(true)
        })
        .map(|(tool, hash)| format!("{tool}: {hash}"))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn bcrypt_reads_72_bytes_as_libxcrypt_does() {
    // `mkpasswd -m bcrypt` of 40 `a` and 40 `b`; the verdicts are libxcrypt's.
    let hash = b"$2b$05$7t958/YsfaOH5KGt6uEynedMIUvhHnskoUbP.oSUdLS1twic4NuDu";
    let password = |b: usize, tail: &str| format!("{}{}{tail}", "a".repeat(40), "b".repeat(b));
    assert_eq!(verify(hash, password(40, "").as_bytes()), Ok(true));
    assert_eq!(verify(hash, password(32, "").as_bytes()), Ok(true));
    assert_eq!(verify(hash, password(32, "zzz").as_bytes()), Ok(true));
    assert_eq!(verify(hash, password(31, "").as_bytes()), Ok(false));
}

#[test]
fn unknown_users_cost_a_hash_computation_too() {
    use std::time::{Duration, Instant};
    // Debian's default yescrypt cost (mkpasswd -m yescrypt), tens of milliseconds.
    const YESCRYPT: &str =
        "$y$j9T$odSBxd3fdQ04KYOeXG.Bu1$NjYh4.xc8XaN57MRdJ7esdpvnhVd.AmVNayyjVE76g4";
    let config = hashed_server(YESCRYPT, PasswordFormat::Crypt, Arc::default());
    let fastest = |user: &str| -> Duration {
        (0..3)
            .map(|_| {
                let start = Instant::now();
                let _ = config.check_password(user, "example.org", b"wrong");
                start.elapsed()
            })
            .min()
            .unwrap()
    };
    let known = fastest("tim");
    let unknown = fastest("nobody");
    assert_eq!(
        config.check_password("nobody", "example.org", b"password"),
        Ok(PasswordCheck::NoSuchUser)
    );
    // Loose bounds: the same algorithm with the same parameters ran, not a comparison.
    assert!(unknown * 3 > known, "known {known:?}, unknown {unknown:?}");
    assert!(unknown > Duration::from_millis(2), "unknown {unknown:?}");
}

#[test]
fn damaged_values_never_panic_and_never_match() {
    // A deterministic fuzz: cheap prefixes (low costs only) with random tails, and random cuts
    // and byte flips of the real vectors.
    const PREFIXES: [&str; 16] = [
        "",
        "$1$",
        "$5$rounds=1000$",
        "$6$",
        "$2b$04$",
        "$2y$04$",
        "$y$j75$",
        "$argon2id$v=19$m=8,t=1,p=1$",
        "{CRYPT}",
        "{SSHA}",
        "{SHA256.HEX}",
        "{PBKDF2}$1$salt$1$",
        "{SCRAM-SHA-1}1,",
        "{PLAIN.B64}",
        "{BLF-CRYPT}$2b$04$",
        "{",
    ];
    const ALPHABET: &[u8] =
        b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz$,={}=+\0\xc3\xa4";
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move |bound: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        usize::try_from(state % bound as u64).unwrap()
    };
    let real: Vec<String> = vectors().into_iter().map(|v| v.stored).collect();
    for round in 0..3000 {
        let stored: Vec<u8> = if round % 2 == 0 {
            let mut stored = PREFIXES[next(PREFIXES.len())].as_bytes().to_vec();
            let len = next(90);
            stored.extend((0..len).map(|_| ALPHABET[next(ALPHABET.len())]));
            stored
        } else {
            let mut stored = real[next(real.len())].as_bytes().to_vec();
            // Skip the few costly hashes: this is about parsing.
            if stored
                .windows(4)
                .any(|w| w == b"j9T$" || w == b"m=65" || w == b"m=32")
            {
                continue;
            }
            match next(3) {
                0 => stored.truncate(next(stored.len() + 1)),
                1 => {
                    let at = next(stored.len());
                    stored[at] ^= 1 << next(8);
                }
                _ => stored.insert(next(stored.len() + 1), ALPHABET[next(ALPHABET.len())]),
            }
            stored
        };
        let result = std::panic::catch_unwind(|| verify(&stored, b"fuzz password"));
        let shown = String::from_utf8_lossy(&stored);
        assert!(result.is_ok(), "panicked on {shown:?}");
        assert_ne!(result.unwrap(), Ok(true), "{shown:?}");
        let _ = CryptDecoy::of(&stored);
    }
}
