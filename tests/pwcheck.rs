//! `pwcheck_method`: the saslauthd and Courier authdaemond clients against fake daemons that
//! record the exact request bytes and misbehave in every way a daemon can (wrong answer,
//! garbage, silence, a close, no socket, a full backlog), the chain's Cyrus semantics, PLAIN
//! through a chain, and the real Courier authdaemond (courier-authdaemon with its userdb
//! module, started in its own mount and pid namespace).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    reason = "test helpers"
)]

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use puresasl::pwcheck::{
    AlwaysTrue, Authdaemond, AuxpropChecker, Chain, Saslauthd, Settings, Timeouts, UserNames,
};
use puresasl::server::PasswordChecker;
use puresasl::{
    Error, LogLevel, MemoryStore, PasswordCheck, ServerConfig, ServerSession, ServerStep,
    StoreError,
};

use crate::interop::{available, find_tool};

// The namespaced daemons, shared with ffi/tests/postfix.rs.
#[path = "support/courier.rs"]
mod courier;
use courier::{ChildGuard, NamespacedDaemon, daemon_dir};

/// Short timeouts, so that the hanging daemons cost a fraction of a second.
const SHORT: Timeouts = Timeouts {
    connect: Duration::from_millis(300),
    exchange: Duration::from_millis(400),
};

/// A socket path of its own for each fake daemon (in /tmp: `sun_path` holds 108 bytes; the
/// tests remove the sockets they make).
fn socket_path(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("puresasl-{}-{name}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

/// A fake daemon serving one connection with `serve`, which returns what it read.
struct Fake {
    path: PathBuf,
    thread: JoinHandle<Vec<u8>>,
}

impl Fake {
    fn start(name: &str, serve: impl FnOnce(UnixStream) -> Vec<u8> + Send + 'static) -> Fake {
        let path = socket_path(name);
        let listener = UnixListener::bind(&path).unwrap();
        let thread = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            serve(stream)
        });
        Fake { path, thread }
    }

    /// What the daemon read.
    fn request(self) -> Vec<u8> {
        let request = self.thread.join().unwrap();
        let _ = std::fs::remove_file(&self.path);
        request
    }
}

fn unavailable(result: Result<PasswordCheck, Error>) -> String {
    match result {
        Err(Error::Store(StoreError::Unavailable(what))) => what,
        other => panic!("expected a temporary failure, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// saslauthd

/// Reads one saslauthd request (four counted strings).
fn read_saslauthd_request(stream: &mut UnixStream) -> Vec<u8> {
    let mut request = Vec::new();
    for _ in 0..4 {
        let mut len = [0u8; 2];
        stream.read_exact(&mut len).unwrap();
        let mut field = vec![0u8; usize::from(u16::from_be_bytes(len))];
        stream.read_exact(&mut field).unwrap();
        request.extend_from_slice(&len);
        request.extend_from_slice(&field);
    }
    request
}

/// A saslauthd that answers `reply` (raw bytes, count included) and closes.
fn saslauthd_answering(name: &str, reply: Vec<u8>) -> Fake {
    Fake::start(name, move |mut stream| {
        let request = read_saslauthd_request(&mut stream);
        let _ = stream.write_all(&reply);
        request
    })
}

fn counted(text: &[u8]) -> Vec<u8> {
    let mut out = u16::try_from(text.len()).unwrap().to_be_bytes().to_vec();
    out.extend_from_slice(text);
    out
}

fn saslauthd(fake: &Fake) -> Saslauthd {
    Saslauthd::new(&fake.path, "smtp").timeouts(SHORT)
}

#[test]
fn saslauthd_ok_sends_the_four_counted_strings() {
    let fake = saslauthd_answering("sa-ok", counted(b"OK"));
    let check = saslauthd(&fake).check("alice", "example.org", b"s3cret pw");
    assert_eq!(check, Ok(PasswordCheck::Match));
    assert_eq!(
        fake.request(),
        b"\x00\x05alice\x00\x09s3cret pw\x00\x04smtp\x00\x0bexample.org"
    );
}

#[test]
fn saslauthd_no_is_a_mismatch() {
    let fake = saslauthd_answering("sa-no", counted(b"NO \"authentication failed\""));
    let check = saslauthd(&fake).check("alice", "example.org", b"wrong");
    assert_eq!(check, Ok(PasswordCheck::Mismatch));
    fake.request();
}

#[test]
fn saslauthd_names_as_cyrus_forms_them() {
    let client = |names| Saslauthd::new("/nonexistent", "smtp").user_names(names);
    // No user_realm: a bare name is split off the server's FQDN, and goes with no realm.
    let bare = client(UserNames::cyrus(None, "mx.example.org"));
    assert_eq!(
        bare.request("bob", "mx.example.org", b"pw")
            .unwrap()
            .expose(),
        b"\x00\x03bob\x00\x02pw\x00\x04smtp\x00\x00"
    );
    // An explicit realm stays.
    assert_eq!(
        bare.request("bob", "other.org", b"pw").unwrap().expose(),
        b"\x00\x03bob\x00\x02pw\x00\x04smtp\x00\x09other.org"
    );
    // With user_realm, the realm goes along.
    let realm = client(UserNames::cyrus(Some("example.org"), "mx.example.org"));
    assert_eq!(
        realm.request("bob", "example.org", b"pw").unwrap().expose(),
        b"\x00\x03bob\x00\x02pw\x00\x04smtp\x00\x0bexample.org"
    );
    // Cyrus splits the canonical name at its last '@' (the server split at the first).
    assert_eq!(
        realm.request("a", "b@c", b"pw").unwrap().expose(),
        b"\x00\x03a@b\x00\x02pw\x00\x04smtp\x00\x01c"
    );
}

#[test]
fn saslauthd_garbage_is_a_temporary_failure() {
    let fake = saslauthd_answering("sa-garbage", counted(b"HELLO"));
    let what = unavailable(saslauthd(&fake).check("alice", "example.org", b"pw"));
    assert!(what.contains("bad response"), "{what}");
    fake.request();

    let fake = saslauthd_answering("sa-short", counted(b"O"));
    let what = unavailable(saslauthd(&fake).check("alice", "example.org", b"pw"));
    assert!(what.contains("bad response"), "{what}");
    fake.request();
}

#[test]
fn saslauthd_silent_close_is_a_temporary_failure() {
    let fake = saslauthd_answering("sa-close", Vec::new());
    unavailable(saslauthd(&fake).check("alice", "example.org", b"pw"));
    fake.request();

    // Closed in the middle of the reply.
    let fake = saslauthd_answering("sa-half", b"\x00\x10OK".to_vec());
    unavailable(saslauthd(&fake).check("alice", "example.org", b"pw"));
    fake.request();
}

#[test]
fn saslauthd_without_socket_is_a_temporary_failure() {
    let path = socket_path("sa-none");
    let started = Instant::now();
    let what = unavailable(Saslauthd::new(&path, "smtp").check("alice", "example.org", b"pw"));
    assert!(what.contains("cannot connect"), "{what}");
    assert!(!what.contains("pw\""));
    // A socket file nobody listens on any more: refused.
    drop(UnixListener::bind(&path).unwrap());
    unavailable(Saslauthd::new(&path, "smtp").check("alice", "example.org", b"pw"));
    std::fs::remove_file(&path).unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn saslauthd_that_never_answers_times_out() {
    let fake = Fake::start("sa-silent", |mut stream| {
        let request = read_saslauthd_request(&mut stream);
        std::thread::sleep(Duration::from_millis(3000));
        request
    });
    let started = Instant::now();
    let what = unavailable(saslauthd(&fake).check("alice", "example.org", b"pw"));
    let took = started.elapsed();
    assert!(what.contains("timed out"), "{what}");
    assert!(
        took >= SHORT.exchange && took < Duration::from_millis(2500),
        "{took:?}"
    );
    fake.request();
}

#[test]
fn saslauthd_that_dribbles_is_cut_off_at_the_deadline() {
    // One byte every 300 ms: each read is within the 400 ms, the whole exchange is not.
    let fake = Fake::start("sa-dribble", |mut stream| {
        let request = read_saslauthd_request(&mut stream);
        for byte in b"\x00\x08NO ....." {
            if stream.write_all(&[*byte]).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        request
    });
    let started = Instant::now();
    unavailable(saslauthd(&fake).check("alice", "example.org", b"pw"));
    assert!(started.elapsed() < Duration::from_millis(2000));
    fake.request();
}

#[test]
fn saslauthd_oversized_reply_is_read_only_as_far_as_cyrus_reads() {
    // A count of 65535 with 5000 bytes behind it: the first 1023 decide, the rest is left.
    let mut reply = b"\xff\xffOK".to_vec();
    reply.extend(std::iter::repeat_n(b'x', 5000));
    let fake = saslauthd_answering("sa-big", reply);
    assert_eq!(
        saslauthd(&fake).check("alice", "example.org", b"pw"),
        Ok(PasswordCheck::Match)
    );
    fake.request();
}

#[test]
fn saslauthd_refuses_nul_and_oversized_requests_without_connecting() {
    // The path does not exist: connecting would be a temporary failure, not a mismatch.
    let client = Saslauthd::new(socket_path("sa-refuse"), "smtp").timeouts(SHORT);
    assert_eq!(
        client.check("alice", "example.org", b"right\0junk"),
        Ok(PasswordCheck::Mismatch)
    );
    assert_eq!(
        client.check("al\0ice", "example.org", b"pw"),
        Ok(PasswordCheck::Mismatch)
    );
    assert_eq!(
        client.check("alice", "example.org", &[b'p'; 9000]),
        Ok(PasswordCheck::Mismatch)
    );
}

#[test]
fn saslauthd_connect_times_out_on_a_full_backlog() {
    // A listener with backlog 0 that never accepts: the first connection queues, the
    // second waits in connect() until the daemon accepts, that is forever.
    let python = find_tool("python3");
    if !available("python3", python.is_some()) {
        return;
    }
    let path = socket_path("sa-backlog");
    let mut daemon = ChildGuard(
        Command::new(python.unwrap())
            .arg("-c")
            .arg(
                "import socket,sys,time\n\
                 s=socket.socket(socket.AF_UNIX)\n\
                 s.bind(sys.argv[1]); s.listen(0)\n\
                 print('ready', flush=True); time.sleep(60)",
            )
            .arg(&path)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // Kept open until the end: a closed pipe would end the daemon at its next print.
    let mut stdout = daemon.0.stdout.take().unwrap();
    let mut ready = [0u8; 6];
    stdout.read_exact(&mut ready).unwrap();
    assert_eq!(&ready, b"ready\n");
    // Fill the queue (from a thread of its own, in case one connection already blocks).
    let fill_path = path.clone();
    let _filler = std::thread::spawn(move || {
        let streams: Vec<_> = (0..2)
            .filter_map(|_| UnixStream::connect(&fill_path).ok())
            .collect();
        std::thread::sleep(Duration::from_secs(5));
        drop(streams);
    });
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let what = unavailable(Saslauthd::new(&path, "smtp").timeouts(SHORT).check(
        "alice",
        "example.org",
        b"pw",
    ));
    let took = started.elapsed();
    assert!(took < Duration::from_millis(2500), "{took:?}");
    assert!(what.contains("connect timed out"), "{what}");
    std::fs::remove_file(&path).unwrap();
}

// ---------------------------------------------------------------------------------------
// authdaemond

/// Reads one authdaemond request: the `AUTH <n>` line, `<n>` bytes and Cyrus's blank line.
fn read_authdaemond_request(stream: &mut UnixStream) -> Vec<u8> {
    let mut request = Vec::new();
    let mut byte = [0u8; 1];
    while !request.ends_with(b"\n") {
        stream.read_exact(&mut byte).unwrap();
        request.push(byte[0]);
    }
    let header = std::str::from_utf8(&request).unwrap();
    let n: usize = header
        .strip_prefix("AUTH ")
        .unwrap()
        .trim_end()
        .parse()
        .unwrap();
    let mut body = vec![0u8; n + 1];
    stream.read_exact(&mut body).unwrap();
    request.extend_from_slice(&body);
    request
}

/// An authdaemond that answers `reply`, then keeps the connection open for `linger`.
fn authdaemond_answering(name: &str, reply: &'static [u8], linger: Duration) -> Fake {
    Fake::start(name, move |mut stream| {
        let request = read_authdaemond_request(&mut stream);
        let _ = stream.write_all(reply);
        std::thread::sleep(linger);
        request
    })
}

fn authdaemond(fake: &Fake) -> Authdaemond {
    Authdaemond::new(&fake.path, "smtp").timeouts(SHORT)
}

#[test]
fn authdaemond_ok_sends_cyrus_bytes_and_stops_at_the_dot() {
    // Courier's success answer; the daemon then stays connected longer than the deadline,
    // so only stopping at the "." line (not waiting for the close) gives a match.
    let fake = authdaemond_answering(
        "ad-ok",
        b"UID=1000\nGID=1000\nHOME=/home/alice\nADDRESS=alice@example.org\nPASSWD2=s3cret pw\n.\n",
        Duration::from_millis(3000),
    );
    let started = Instant::now();
    let check = authdaemond(&fake).check("alice", "example.org", b"s3cret pw");
    assert_eq!(check, Ok(PasswordCheck::Match));
    assert!(started.elapsed() < SHORT.exchange);
    // The probe's bytes (reference §4.1).
    assert_eq!(
        fake.request(),
        b"AUTH 39\nsmtp\nlogin\nalice@example.org\ns3cret pw\n\n"
    );
}

#[test]
fn authdaemond_names_as_cyrus_forms_them() {
    let client = |names| Authdaemond::new("/nonexistent", "smtp").user_names(names);
    let realm = client(UserNames::cyrus(Some("example.org"), "mx.example.org"));
    assert_eq!(
        realm.request("bob", "example.org", b"pw").unwrap().expose(),
        b"AUTH 30\nsmtp\nlogin\nbob@example.org\npw\n\n"
    );
    let bare = client(UserNames::cyrus(None, "mx.example.org"));
    assert_eq!(
        bare.request("bob", "mx.example.org", b"pw")
            .unwrap()
            .expose(),
        b"AUTH 18\nsmtp\nlogin\nbob\npw\n\n"
    );
    assert_eq!(
        bare.request("bob", "other.org", b"pw").unwrap().expose(),
        b"AUTH 28\nsmtp\nlogin\nbob@other.org\npw\n\n"
    );
}

#[test]
fn authdaemond_fail_is_a_mismatch() {
    let fake = authdaemond_answering("ad-fail", b"FAIL\n", Duration::ZERO);
    assert_eq!(
        authdaemond(&fake).check("alice", "example.org", b"wrong"),
        Ok(PasswordCheck::Mismatch)
    );
    fake.request();

    // An unterminated FAIL before the close counts, as in Cyrus.
    let fake = authdaemond_answering("ad-fail-eof", b"FAIL", Duration::ZERO);
    assert_eq!(
        authdaemond(&fake).check("alice", "example.org", b"wrong"),
        Ok(PasswordCheck::Mismatch)
    );
    fake.request();
}

#[test]
fn authdaemond_silent_close_is_a_temporary_failure() {
    // Courier's way of saying "temporary failure": close without a word.
    let fake = authdaemond_answering("ad-close", b"", Duration::ZERO);
    let what = unavailable(authdaemond(&fake).check("alice", "example.org", b"pw"));
    assert!(what.contains("without an answer"), "{what}");
    fake.request();
}

#[test]
fn authdaemond_garbage_is_a_temporary_failure() {
    for (name, reply) in [
        ("ad-hello", &b"HELLO\n"[..]),
        ("ad-fields", b"UID=1000\nGID=1000\n"),
        ("ad-spaces", b" .\nFAIL \n"),
    ] {
        let fake = Fake::start(name, move |mut stream| {
            let request = read_authdaemond_request(&mut stream);
            let _ = stream.write_all(reply);
            request
        });
        let what = unavailable(authdaemond(&fake).check("alice", "example.org", b"pw"));
        assert!(what.contains("bad response"), "{name}: {what}");
        fake.request();
    }
}

#[test]
fn authdaemond_that_never_answers_times_out() {
    let fake = authdaemond_answering("ad-silent", b"UID=1000\n", Duration::from_millis(3000));
    let started = Instant::now();
    let what = unavailable(authdaemond(&fake).check("alice", "example.org", b"pw"));
    let took = started.elapsed();
    assert!(what.contains("timed out"), "{what}");
    assert!(
        took >= SHORT.exchange && took < Duration::from_millis(2500),
        "{took:?}"
    );
    fake.request();
}

#[test]
fn authdaemond_oversized_reply_is_a_temporary_failure() {
    // 9000 bytes of fields and no answer line: reading stops at Cyrus's 8191 bytes.
    let fake = Fake::start("ad-big", |mut stream| {
        let request = read_authdaemond_request(&mut stream);
        let line =
            b"OPTIONS=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n";
        for _ in 0..(9000 / line.len() + 1) {
            if stream.write_all(line).is_err() {
                break;
            }
        }
        let _ = stream.write_all(b".\n");
        std::thread::sleep(Duration::from_millis(200));
        request
    });
    let what = unavailable(authdaemond(&fake).check("alice", "example.org", b"pw"));
    assert!(what.contains("8191"), "{what}");
    fake.request();
}

#[test]
fn authdaemond_without_socket_is_a_temporary_failure() {
    let started = Instant::now();
    let what = unavailable(Authdaemond::new(socket_path("ad-none"), "smtp").check(
        "alice",
        "example.org",
        b"pw",
    ));
    assert!(
        what.contains("cannot connect to Courier authdaemond"),
        "{what}"
    );
    // Cyrus's compiled-in default path, /dev/null, is not a socket.
    unavailable(Authdaemond::new("/dev/null", "smtp").check("alice", "example.org", b"pw"));
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn authdaemond_refuses_cr_lf_nul_without_connecting() {
    // The path does not exist: connecting would be a temporary failure, not a mismatch.
    let client = Authdaemond::new(socket_path("ad-refuse"), "smtp").timeouts(SHORT);
    for (user, password) in [
        ("alice", &b"right\nFAIL"[..]),
        ("alice", b"right\r"),
        ("alice", b"right\0junk"),
        ("alice\nsecret", b"pw"),
        ("alice\r", b"pw"),
        ("al\0ice", b"pw"),
    ] {
        assert_eq!(
            client.check(user, "example.org", password),
            Ok(PasswordCheck::Mismatch),
            "{user:?}"
        );
    }
    assert_eq!(
        client.check("alice", "exam\nple.org", b"pw"),
        Ok(PasswordCheck::Mismatch)
    );
    assert!(
        Authdaemond::new("/nonexistent", "sm\ntp")
            .request("alice", "example.org", b"pw")
            .is_none()
    );
    // A body Courier cannot take.
    assert_eq!(
        client.check("alice", "example.org", &[b'p'; 8200]),
        Ok(PasswordCheck::Mismatch)
    );
}

// ---------------------------------------------------------------------------------------
// The chain

fn store() -> Arc<MemoryStore> {
    Arc::new(MemoryStore::new().with_password("alice", "example.org", "from the store"))
}

fn settings(saslauthd: Option<&Path>, authdaemond: Option<&Path>) -> Settings {
    let mut settings = Settings::new(store(), "smtp", Some("example.org"), "mx.example.org");
    settings.saslauthd_path = saslauthd.map(Path::to_owned);
    settings.authdaemond_path = authdaemond.map(Path::to_owned);
    settings.timeouts = SHORT;
    settings
}

#[test]
fn chain_first_match_wins_without_asking_the_rest() {
    // auxprop says yes; saslauthd (no socket) is never asked.
    let chain = Chain::from_pwcheck_method(
        "auxprop saslauthd",
        &settings(Some(&socket_path("ch-none")), None),
    );
    assert_eq!(chain.len(), 2);
    assert_eq!(
        chain.check("alice", "example.org", b"from the store"),
        Ok(PasswordCheck::Match)
    );
}

#[test]
fn chain_moves_on_after_a_no_and_after_a_daemon_failure() {
    // saslauthd says NO, auxprop says yes: yes (Cyrus tries the next until one says OK).
    let fake = saslauthd_answering("ch-no", counted(b"NO"));
    let chain = Chain::from_pwcheck_method("saslauthd auxprop", &settings(Some(&fake.path), None));
    assert_eq!(
        chain.check("alice", "example.org", b"from the store"),
        Ok(PasswordCheck::Match)
    );
    fake.request();

    // authdaemond down, auxprop: the store's answer, here a wrong password.
    let chain = Chain::from_pwcheck_method(
        "authdaemond auxprop",
        &settings(None, Some(&socket_path("ch-down"))),
    );
    assert_eq!(
        chain.check("alice", "example.org", b"wrong"),
        Ok(PasswordCheck::Mismatch)
    );
}

#[test]
fn chain_answer_is_the_last_methods() {
    // Unknown to the store, then the daemon is down: the temporary failure is the answer.
    let chain = Chain::from_pwcheck_method(
        "auxprop saslauthd",
        &settings(Some(&socket_path("ch-last")), None),
    );
    unavailable(chain.check("nobody", "example.org", b"pw"));
    // The other way round: the store's "no such user".
    let chain = Chain::from_pwcheck_method(
        "saslauthd auxprop",
        &settings(Some(&socket_path("ch-last2")), None),
    );
    assert_eq!(
        chain.check("nobody", "example.org", b"pw"),
        Ok(PasswordCheck::NoSuchUser)
    );
}

#[test]
fn chain_logs_the_errors_a_later_answer_hides() {
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    let chain = Chain::from_pwcheck_method(
        "saslauthd auxprop",
        &settings(Some(&socket_path("ch-log")), None),
    )
    .log(Arc::new(move |_level: LogLevel, message: &str| {
        sink.lock().unwrap().push(message.to_owned());
    }));
    assert_eq!(
        chain.check("alice", "example.org", b"from the store"),
        Ok(PasswordCheck::Match)
    );
    let lines = lines.lock().unwrap();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("alice@example.org") && lines[0].contains("saslauthd: cannot connect")
    );
    assert!(!lines[0].contains("from the store"));
}

#[test]
fn chain_unknown_methods_and_the_defaults() {
    let chain = Chain::from_pwcheck_method("pwcheck auxprop-hashed", &settings(None, None));
    assert_eq!(chain.unknown_methods(), ["pwcheck", "auxprop-hashed"]);
    assert!(matches!(
        chain.check("alice", "example.org", b"from the store"),
        Err(Error::NoMechanism(_))
    ));
    assert!(!chain.is_auxprop_only());
    let chain = Chain::from_pwcheck_method("pwcheck auxprop", &settings(None, None));
    assert!(!chain.is_auxprop_only());
    let mut chain = Chain::from_pwcheck_method("auxprop", &settings(None, None));
    assert!(chain.is_auxprop_only() && Chain::new().is_auxprop_only());
    chain.push_front(Arc::new(AlwaysTrue));
    assert!(!chain.is_auxprop_only());
    let chain = Chain::from_pwcheck_method("pwcheck auxprop", &settings(None, None));
    assert_eq!(
        chain.check("alice", "example.org", b"from the store"),
        Ok(PasswordCheck::Match)
    );
    assert_eq!(
        Chain::new().check("alice", "example.org", b"pw"),
        Ok(PasswordCheck::NoSuchUser)
    );
    // Cyrus's test verifier (compiled into Debian's libsasl2).
    let chain = Chain::from_pwcheck_method("alwaystrue", &settings(None, None));
    assert_eq!(chain.check("x", "y", b"z"), Ok(PasswordCheck::Match));
    assert_eq!(
        Chain::new()
            .with(AuxpropChecker::new(store(), Arc::default()))
            .with(AlwaysTrue)
            .check("x", "y", b"z"),
        Ok(PasswordCheck::Match)
    );
    // The default paths are Cyrus's.
    assert_eq!(
        Authdaemond::new(puresasl::pwcheck::authdaemond::DEFAULT_PATH, "smtp").path(),
        Path::new("/dev/null")
    );
}

#[test]
fn plain_logs_in_through_saslauthd() {
    let fake = saslauthd_answering("ch-plain", counted(b"OK"));
    let chain = Chain::from_pwcheck_method("saslauthd", &settings(Some(&fake.path), None));
    let config = Arc::new(
        ServerConfig::builder("smtp", "mx.example.org")
            .user_realm("example.org")
            .password_checker(Arc::new(chain))
            .build()
            .unwrap(),
    );
    let mut session = ServerSession::new(config);
    let step = session
        .start("PLAIN", Some(b"\0bob\0daemon password"))
        .unwrap();
    let ServerStep::Done { identity, .. } = step else {
        panic!("PLAIN did not finish: {step:?}");
    };
    assert_eq!(identity.authcid, "bob");
    assert_eq!(
        fake.request(),
        b"\x00\x03bob\x00\x0fdaemon password\x00\x04smtp\x00\x0bexample.org"
    );
}

// ---------------------------------------------------------------------------------------
// The real Courier authdaemond

/// The real authdaemond, or `None` (after the skip note, or the failure under CI) when it
/// cannot run here.
fn start_real_authdaemond() -> Option<NamespacedDaemon> {
    if let Some(missing) = courier::authdaemond_missing() {
        available(missing, false);
        return None;
    }
    Some(courier::start_authdaemond("authdaemond", 1))
}

/// Whether we may make mount and pid namespaces (through the [`available`] gate).
fn may_unshare() -> bool {
    courier::unshare_missing().is_none_or(|missing| available(missing, false))
}

#[test]
fn real_courier_authdaemond() {
    let Some(daemon) = start_real_authdaemond() else {
        return;
    };
    let client = Authdaemond::new(&daemon.socket, "smtp")
        .user_names(UserNames::cyrus(Some("example.org"), "mx.example.org"));
    assert_eq!(
        client.check("alice", "example.org", b"wonderland"),
        Ok(PasswordCheck::Match)
    );
    assert_eq!(
        client.check("alice", "example.org", b"wonderland2"),
        Ok(PasswordCheck::Mismatch)
    );
    assert_eq!(
        client.check("nobody", "example.org", b"wonderland"),
        Ok(PasswordCheck::Mismatch)
    );
    // A password that Courier would cut at the line end is refused before it gets there.
    assert_eq!(
        client.check("alice", "example.org", b"wonderland\nx"),
        Ok(PasswordCheck::Mismatch)
    );
    // No user_realm: a bare name is sent bare, as Cyrus does.
    let bare = Authdaemond::new(&daemon.socket, "smtp")
        .user_names(UserNames::cyrus(None, "mx.example.org"));
    assert_eq!(
        bare.check("carol", "mx.example.org", b"carols pw"),
        Ok(PasswordCheck::Match)
    );
    assert_eq!(
        bare.check("alice", "mx.example.org", b"wonderland"),
        Ok(PasswordCheck::Mismatch)
    );
    // Through the chain and PLAIN, as `pwcheck_method: authdaemond auxprop` would.
    let chain =
        Chain::from_pwcheck_method("authdaemond auxprop", &settings(None, Some(&daemon.socket)));
    assert_eq!(
        chain.check("alice", "example.org", b"wonderland"),
        Ok(PasswordCheck::Match)
    );
    assert_eq!(
        chain.check("alice", "example.org", b"from the store"),
        Ok(PasswordCheck::Match)
    );
    assert_eq!(
        chain.check("alice", "example.org", b"neither"),
        Ok(PasswordCheck::Mismatch)
    );
    let config = Arc::new(
        ServerConfig::builder("smtp", "mx.example.org")
            .user_realm("example.org")
            .password_checker(Arc::new(chain))
            .build()
            .unwrap(),
    );
    let mut session = ServerSession::new(config.clone());
    assert!(matches!(
        session.start("PLAIN", Some(b"\0alice\0wonderland")),
        Ok(ServerStep::Done { .. })
    ));
    let mut session = ServerSession::new(config);
    assert_eq!(
        session.start("PLAIN", Some(b"\0alice\0wrong")),
        Err(Error::AuthenticationFailed)
    );
    // Several requests in a row, one connection each.
    for _ in 0..5 {
        assert_eq!(
            client.check("alice", "example.org", b"wonderland"),
            Ok(PasswordCheck::Match)
        );
    }
}

// ---------------------------------------------------------------------------------------
// The real saslauthd

/// saslauthd with its shadow module, reading copies of /etc/passwd and /etc/shadow (with
/// the test users added) bound over the real ones in its mount namespace.
const SASLAUTHD_SETUP: &str = r#"set -e
mount --bind "$1/passwd" /etc/passwd
mount --bind "$1/shadow" /etc/shadow
exec /usr/sbin/saslauthd -a shadow -m "$1/run" -n 0 -d
"#;

/// `openssl passwd -6 -salt puresasl 'shadow pw'` and the same of "line\nbreak".
const SHADOW_USERS: &str = "\
sasluser:$6$puresasl$i88lZHh1dnntUcwlbZq89hqOvaWuL2agpkQYVk3boQ4uQ84b/oIgU6mEopJZXDO4CJTOZH7YGIHiqP2vddQUh/:19000:0:99999:7:::
lineuser:$6$puresasl$LBJKt3kD9OKeNqxOxMMMU4w8faWeb8WAMAV3be.If/WzVArauHOCqVN2c9mytEgdf2PPuBOYo5vw57/jqZLQU.:19000:0:99999:7:::
";

const PASSWD_USERS: &str = "\
sasluser:x:4242:4242::/nonexistent:/usr/sbin/nologin
lineuser:x:4243:4243::/nonexistent:/usr/sbin/nologin
";

fn start_real_saslauthd() -> Option<NamespacedDaemon> {
    if !available(
        "saslauthd (sasl2-bin)",
        Path::new("/usr/sbin/saslauthd").exists(),
    ) || !may_unshare()
    {
        return None;
    }
    let dir = daemon_dir("saslauthd");
    for (file, users) in [("passwd", PASSWD_USERS), ("shadow", SHADOW_USERS)] {
        let mut text = std::fs::read_to_string(Path::new("/etc").join(file)).unwrap();
        text.push_str(users);
        std::fs::write(dir.join(file), text).unwrap();
    }
    Some(NamespacedDaemon::start(dir, SASLAUTHD_SETUP, "mux"))
}

#[test]
fn real_saslauthd() {
    let Some(daemon) = start_real_saslauthd() else {
        return;
    };
    let client =
        Saslauthd::new(&daemon.socket, "smtp").user_names(UserNames::cyrus(None, "mx.example.org"));
    assert_eq!(
        client.check("sasluser", "mx.example.org", b"shadow pw"),
        Ok(PasswordCheck::Match)
    );
    assert_eq!(
        client.check("sasluser", "mx.example.org", b"shadow pw2"),
        Ok(PasswordCheck::Mismatch)
    );
    assert_eq!(
        client.check("nobody-here", "mx.example.org", b"shadow pw"),
        Ok(PasswordCheck::Mismatch)
    );
    // Counted strings carry a line break; a NUL is refused before it gets there.
    assert_eq!(
        client.check("lineuser", "mx.example.org", b"line\nbreak"),
        Ok(PasswordCheck::Match)
    );
    assert_eq!(
        client.check("sasluser", "mx.example.org", b"shadow pw\0junk"),
        Ok(PasswordCheck::Mismatch)
    );
    // The shadow module ignores the realm: sasluser@example.org is sasluser.
    let qualified = Saslauthd::new(&daemon.socket, "smtp");
    assert_eq!(
        qualified.check("sasluser", "example.org", b"shadow pw"),
        Ok(PasswordCheck::Match)
    );
    // PLAIN through `pwcheck_method: saslauthd`.
    let chain = Chain::from_pwcheck_method("saslauthd", &{
        let mut settings = Settings::new(store(), "smtp", None, "mx.example.org");
        settings.saslauthd_path = Some(daemon.socket.clone());
        settings
    });
    let config = Arc::new(
        ServerConfig::builder("smtp", "mx.example.org")
            .password_checker(Arc::new(chain))
            .build()
            .unwrap(),
    );
    let mut session = ServerSession::new(config.clone());
    assert!(matches!(
        session.start("PLAIN", Some(b"\0sasluser\0shadow pw")),
        Ok(ServerStep::Done { .. })
    ));
    let mut session = ServerSession::new(config);
    assert_eq!(
        session.start("PLAIN", Some(b"\0sasluser\0wrong")),
        Err(Error::AuthenticationFailed)
    );
}
