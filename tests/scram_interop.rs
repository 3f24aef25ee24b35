//! SCRAM against real peers, both directions: GNU SASL's `gsasl` command, Python `scramp`
//! and Cyrus SASL's libsasl2 SCRAM plugin (through `tests/peers/cyrus_scram.c`, compiled
//! at test time). Each peer speaks one base64 line per SASL message over a pipe.
//!
//! A missing peer fails the test when the `CI` environment variable is set, and skips it
//! with a note otherwise.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use puresasl::*;

use crate::scram::{REALM, client_on, server_on};

const USER: &str = "user";
const PASSWORD: &str = "pencil";

/// Whether `program` can run; if not, panics under CI and prints a skip note otherwise.
fn available(program: &str, probe: &[&str]) -> bool {
    let ok = Command::new(program)
        .args(probe)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "interop peer {program} is missing (see .ci/apt-packages and .ci/pip-packages)"
        );
        eprintln!("note: skipping SCRAM interop test, {program} {probe:?} is not available");
    }
    ok
}

/// A peer process speaking lines on stdin/stdout.
struct Peer {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    transcript: Vec<String>,
}

impl Peer {
    fn spawn(command: &mut Command) -> Peer {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {command:?}: {e}"));
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        Peer {
            child,
            stdin,
            lines,
            transcript: Vec::new(),
        }
    }

    fn send_line(&mut self, line: &str) {
        self.transcript.push(format!("> {line}"));
        let stdin = self.stdin.as_mut().unwrap();
        // The peer may already have exited after a failure; that shows up when we wait.
        let _ = writeln!(stdin, "{line}").and_then(|()| stdin.flush());
    }

    fn send(&mut self, message: &[u8]) {
        self.send_line(&STANDARD.encode(message));
    }

    /// The next output line with any `gsasl` channel-binding prompts removed.
    fn line(&mut self) -> String {
        self.try_line()
            .unwrap_or_else(|| panic!("peer closed; transcript: {:#?}", self.transcript))
    }

    /// Like [`line`](Self::line), but `None` once the peer closed its output.
    fn try_line(&mut self) -> Option<String> {
        let line = match self.lines.recv_timeout(Duration::from_secs(20)) {
            Ok(line) => line,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return None,
            Err(_) => panic!("peer said nothing; transcript: {:#?}", self.transcript),
        };
        self.transcript.push(format!("< {line}"));
        let mut rest = line.as_str();
        while let Some(prompt) = rest.strip_prefix("Enter base64 encoded ") {
            rest = prompt
                .split_once(" channel binding: ")
                .map_or(prompt, |(_, after)| after);
        }
        Some(rest.to_owned())
    }

    /// The next message, or the peer's error once it stopped talking SASL (it closed its
    /// output or printed `ERROR ...`).
    fn receive(&mut self) -> Result<Vec<u8>, Error> {
        let Some(line) = self.try_line() else {
            return Err(Error::PeerError("peer closed".into()));
        };
        if line.starts_with("ERROR") {
            return Err(Error::PeerError(line));
        }
        let decoded = STANDARD.decode(line.trim());
        Ok(
            decoded
                .unwrap_or_else(|e| panic!("not base64 ({e}): {line:?}; {:#?}", self.transcript)),
        )
    }

    /// Closes stdin and waits; whether the peer exited with success, and its stderr.
    fn finish(mut self) -> (bool, String) {
        drop(self.stdin.take());
        let output = self.child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (output.status.success(), stderr)
    }
}

fn server_store() -> MemoryStore {
    MemoryStore::new().with_password(USER, REALM, PASSWORD)
}

fn cb(kind: &str, data: &[u8]) -> ChannelBinding {
    ChannelBinding {
        kind: kind.to_owned(),
        data: data.to_vec(),
    }
}

/// Our server against a peer client that sends client-first as its first line. Returns
/// whether our server accepted the peer.
fn our_server_against(
    peer: &mut Peer,
    mechanism: &str,
    binding: Option<ChannelBinding>,
) -> Result<Identity, Error> {
    let mut server = server_on(server_store(), Arc::new(OsRandom));
    server.set_channel_binding(binding);
    let first = peer.receive()?;
    let mut reply = server.start(mechanism, Some(&first));
    loop {
        match reply {
            Ok(ServerStep::Continue(challenge)) => {
                peer.send(&challenge);
                if challenge.starts_with(b"e=") {
                    return server.step(b"").map(|_| panic!("accepted after e="));
                }
                reply = server.step(&peer.receive()?);
            }
            Ok(ServerStep::Done {
                additional_data,
                identity,
            }) => {
                peer.send(&additional_data.unwrap_or_default());
                return Ok(identity);
            }
            Err(error) => return Err(error),
        }
    }
}

/// Our client against a peer server. `skip_empty` drops an empty server challenge sent
/// before client-first.
fn our_client_against(
    peer: &mut Peer,
    mechanism: &str,
    password: &str,
    binding: Option<ChannelBinding>,
    before_first: &[&str],
    answer_final: bool,
) -> Result<(), Error> {
    let mut client = client_on(Credentials::new(USER, password), Arc::new(OsRandom));
    client.set_channel_binding(binding);
    let start = client.start(mechanism).unwrap();
    assert_eq!(start.mechanism, mechanism);
    peer.send(&start.initial_response.unwrap());
    for line in before_first {
        peer.send_line(line);
    }
    loop {
        let challenge = peer.receive()?;
        match client.step(&challenge)? {
            ClientStep::Continue(response) => peer.send(&response),
            ClientStep::Done(response) => {
                if answer_final {
                    peer.send(&response.unwrap_or_default());
                }
                return Ok(());
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// GNU SASL

fn gsasl(role: &str, mechanism: &str, password: &str) -> Peer {
    Peer::spawn(Command::new("gsasl").args([
        role,
        "--mechanism",
        mechanism,
        "--authentication-id",
        USER,
        "--password",
        password,
        // No --service/--hostname/--realm: with those set, gsasl 2.2 stops asking for
        // channel-binding data on stdin.
        "--quiet",
    ]))
}

/// The lines a `gsasl` client reads for its channel-binding prompts (tls-exporter first,
/// then, if that was empty, tls-unique).
fn gsasl_client_cb_lines(binding: Option<&ChannelBinding>) -> Vec<String> {
    match binding {
        None => vec![String::new(), String::new()],
        Some(b) if b.kind == "tls-exporter" => vec![STANDARD.encode(&b.data)],
        Some(b) => vec![String::new(), STANDARD.encode(&b.data)],
    }
}

#[test]
fn gsasl_client_against_our_server() {
    if !available("gsasl", &["--version"]) {
        return;
    }
    let bindings = [
        None,
        Some(cb("tls-unique", b"0123456789ab")),
        Some(cb("tls-exporter", &[0x42; 32])),
    ];
    for mechanism in ["SCRAM-SHA-1", "SCRAM-SHA-256"] {
        for binding in &bindings {
            let name = match binding {
                Some(_) => format!("{mechanism}-PLUS"),
                None => mechanism.to_owned(),
            };
            for (password, should_pass) in [(PASSWORD, true), ("wrong", false)] {
                let mut peer = gsasl("--client", &name, password);
                for line in gsasl_client_cb_lines(binding.as_ref()) {
                    peer.send_line(&line);
                }
                assert_eq!(peer.line(), name);
                let result = our_server_against(&mut peer, &name, binding.clone());
                if should_pass {
                    let identity = result.unwrap_or_else(|e| panic!("{name}: {e}"));
                    assert_eq!(identity.authcid, USER);
                    // gsasl prints its (empty) last output and reads one more line.
                    peer.send_line("");
                    let transcript = peer.transcript.clone();
                    let (ok, stderr) = peer.finish();
                    assert!(ok, "{name}: gsasl client failed: {stderr}\n{transcript:#?}");
                } else {
                    assert_eq!(result.unwrap_err(), Error::AuthenticationFailed, "{name}");
                    let (ok, _) = peer.finish();
                    assert!(!ok, "{name}: gsasl accepted e=invalid-proof");
                }
            }
        }
    }
}

#[test]
fn our_client_against_gsasl_server() {
    if !available("gsasl", &["--version"]) {
        return;
    }
    let bindings = [
        None,
        Some(cb("tls-unique", b"0123456789ab")),
        Some(cb("tls-exporter", &[0x42; 32])),
    ];
    for mechanism in ["SCRAM-SHA-1", "SCRAM-SHA-256"] {
        for binding in &bindings {
            let name = match binding {
                Some(_) => format!("{mechanism}-PLUS"),
                None => mechanism.to_owned(),
            };
            for (password, should_pass) in [(PASSWORD, true), ("wrong", false)] {
                let mut peer = gsasl("--server", &name, PASSWORD);
                assert_eq!(peer.line(), name);
                assert_eq!(
                    peer.line(),
                    "",
                    "gsasl server starts with an empty challenge"
                );
                // The gsasl server asks for the binding data after client-first.
                let cb_line = binding.as_ref().map(|b| STANDARD.encode(&b.data));
                let before: Vec<&str> = cb_line.iter().map(String::as_str).collect();
                let result =
                    our_client_against(&mut peer, &name, password, binding.clone(), &before, true);
                if should_pass {
                    result.unwrap_or_else(|e| panic!("{name}: {e}; {:#?}", peer.transcript));
                    let (ok, stderr) = peer.finish();
                    assert!(ok, "{name}: gsasl server failed: {stderr}");
                } else {
                    // gsasl sends no e=; it stops talking and exits with failure.
                    assert_eq!(
                        result,
                        Err(Error::PeerError("peer closed".into())),
                        "{name}"
                    );
                    assert!(!peer.finish().0, "{name}: gsasl accepted a wrong password");
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Python scramp

fn scramp(role: &str, mechanism: &str, password: &str, binding: Option<&ChannelBinding>) -> Peer {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/scramp_peer.py");
    let mut command = Command::new("python3");
    command.arg(script).args([role, mechanism, USER, password]);
    if let Some(b) = binding {
        command.args([b.kind.clone(), STANDARD.encode(&b.data)]);
    }
    Peer::spawn(&mut command)
}

const SCRAMP_BINDINGS: [(&str, &[u8]); 2] = [
    ("tls-unique", b"tls unique data"),
    ("tls-server-end-point", &[0x5a; 32]),
];

#[test]
fn scramp_client_against_our_server() {
    if !available("python3", &["-c", "import scramp"]) {
        return;
    }
    for mechanism in ["SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-512"] {
        let mut cases = vec![(mechanism.to_owned(), None)];
        for (kind, data) in SCRAMP_BINDINGS {
            cases.push((format!("{mechanism}-PLUS"), Some(cb(kind, data))));
        }
        for (name, binding) in cases {
            for (password, should_pass) in [(PASSWORD, true), ("wrong", false)] {
                let mut peer = scramp("client", &name, password, binding.as_ref());
                let result = our_server_against(&mut peer, &name, binding.clone());
                if should_pass {
                    assert_eq!(result.map(|id| id.authcid), Ok(USER.to_owned()), "{name}");
                    assert_eq!(peer.line(), "OK", "{name}");
                } else {
                    // Our server ends the exchange at the proof, as Cyrus does.
                    assert_eq!(result, Err(Error::AuthenticationFailed), "{name}");
                }
                assert_eq!(peer.finish().0, should_pass, "{name}");
            }
        }
    }
    // scramp as a client with binding data but a server that offers no -PLUS sends "y";
    // a server that does support binding must refuse that as a downgrade.
    let binding = cb("tls-unique", b"tls unique data");
    let mut peer = scramp("client", "SCRAM-SHA-256", PASSWORD, Some(&binding));
    let result = our_server_against(&mut peer, "SCRAM-SHA-256", Some(binding));
    assert_eq!(
        result,
        Err(Error::ChannelBinding("server-does-support-channel-binding"))
    );
    let _ = peer.finish();
}

#[test]
fn our_client_against_scramp_server() {
    if !available("python3", &["-c", "import scramp"]) {
        return;
    }
    for mechanism in ["SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-512"] {
        let mut cases = vec![(mechanism.to_owned(), None)];
        for (kind, data) in SCRAMP_BINDINGS {
            cases.push((format!("{mechanism}-PLUS"), Some(cb(kind, data))));
        }
        for (name, binding) in cases {
            for (password, should_pass) in [(PASSWORD, true), ("wrong", false)] {
                let mut peer = scramp("server", &name, PASSWORD, binding.as_ref());
                let result =
                    our_client_against(&mut peer, &name, password, binding.clone(), &[], false);
                if should_pass {
                    assert_eq!(result, Ok(()), "{name}");
                    assert_eq!(peer.line(), "OK", "{name}");
                } else {
                    assert_eq!(
                        result,
                        Err(Error::PeerError("invalid-proof".into())),
                        "{name}"
                    );
                }
                assert_eq!(peer.finish().0, should_pass, "{name}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Cyrus SASL (libsasl2 and its SCRAM plugin)

const CYRUS_HASHES: [&str; 5] = [
    "SCRAM-SHA-1",
    "SCRAM-SHA-224",
    "SCRAM-SHA-256",
    "SCRAM-SHA-384",
    "SCRAM-SHA-512",
];

/// Compiles `tests/peers/cyrus_scram.c` against libsasl2 once per test run.
fn cyrus_program() -> Option<PathBuf> {
    static PROGRAM: OnceLock<Option<PathBuf>> = OnceLock::new();
    PROGRAM
        .get_or_init(|| {
            let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/cyrus_scram.c");
            let out =
                std::env::temp_dir().join(format!("puresasl-cyrus-scram-{}", std::process::id()));
            let built = Command::new("cc")
                .arg(&source)
                .arg("-o")
                .arg(&out)
                .arg("-lsasl2")
                .status()
                .is_ok_and(|s| s.success());
            let plugin = [
                "/usr/lib/x86_64-linux-gnu/sasl2",
                "/usr/lib/aarch64-linux-gnu/sasl2",
                "/usr/lib/sasl2",
            ]
            .iter()
            .any(|dir| Path::new(dir).join("libscram.so.2").exists());
            (built && plugin).then_some(out)
        })
        .clone()
}

/// Every Cyrus hash without binding, and its -PLUS variant with one of the binding types
/// (libsasl2 takes any type name through SASL_CHANNEL_BINDING).
fn cyrus_cases() -> Vec<(String, Option<ChannelBinding>)> {
    let kinds = ["tls-exporter", "tls-unique", "tls-server-end-point"];
    let mut cases = Vec::new();
    for (i, hash) in CYRUS_HASHES.iter().enumerate() {
        cases.push(((*hash).to_owned(), None));
        let kind = kinds[i % kinds.len()];
        cases.push((
            format!("{hash}-PLUS"),
            Some(cb(kind, &[0x30 + u8::try_from(i).unwrap(); 32])),
        ));
    }
    cases
}

fn cyrus_binding_args(binding: Option<&ChannelBinding>) -> Vec<String> {
    binding.map_or_else(Vec::new, |b| vec![b.kind.clone(), STANDARD.encode(&b.data)])
}

fn cyrus_available() -> Option<PathBuf> {
    let program = cyrus_program();
    if program.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "Cyrus SASL (cc, libsasl2-dev, libsasl2-modules) is missing"
        );
        eprintln!("note: skipping Cyrus SCRAM interop, cannot build against libsasl2 with SCRAM");
    }
    program
}

#[test]
fn cyrus_client_against_our_server() {
    let Some(program) = cyrus_available() else {
        return;
    };
    for (mechanism, binding) in cyrus_cases() {
        let mechanism = mechanism.as_str();
        for (password, should_pass) in [(PASSWORD, true), ("wrong", false)] {
            let mut command = Command::new(&program);
            command.args(["client", mechanism, USER, password]);
            command.args(cyrus_binding_args(binding.as_ref()));
            let mut peer = Peer::spawn(&mut command);
            let result = our_server_against(&mut peer, mechanism, binding.clone());
            if should_pass {
                assert_eq!(
                    result.map(|id| id.authcid),
                    Ok(USER.to_owned()),
                    "{mechanism}"
                );
                assert_eq!(peer.line(), "OK", "{mechanism}");
            } else {
                assert_eq!(result, Err(Error::AuthenticationFailed), "{mechanism}");
            }
            let (ok, stderr) = peer.finish();
            assert_eq!(ok, should_pass, "{mechanism}: {stderr}");
        }
    }
}

#[test]
fn cyrus_channel_binding_mismatch_is_refused() {
    let Some(program) = cyrus_available() else {
        return;
    };
    let mut command = Command::new(&program);
    command.args(["client", "SCRAM-SHA-256-PLUS", USER, PASSWORD]);
    command.args(cyrus_binding_args(Some(&cb(
        "tls-exporter",
        b"client side",
    ))));
    let mut peer = Peer::spawn(&mut command);
    let result = our_server_against(
        &mut peer,
        "SCRAM-SHA-256-PLUS",
        Some(cb("tls-exporter", b"server side")),
    );
    assert_eq!(
        result,
        Err(Error::ChannelBinding("channel-bindings-dont-match"))
    );
    assert!(!peer.finish().0);
}

#[test]
fn our_client_against_cyrus_server() {
    let Some(program) = cyrus_available() else {
        return;
    };
    if which("saslpasswd2").is_none() && which("/usr/sbin/saslpasswd2").is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "saslpasswd2 (sasl2-bin) is missing"
        );
        eprintln!("note: skipping Cyrus SCRAM server interop, saslpasswd2 is missing");
        return;
    }
    let dir = std::env::temp_dir().join(format!("puresasl-cyrus-sasldb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sasldb = dir.join("sasldb2");
    let saslpasswd2 = which("saslpasswd2").unwrap_or_else(|| "/usr/sbin/saslpasswd2".into());
    let mut child = Command::new(saslpasswd2)
        .args(["-f"])
        .arg(&sasldb)
        .args(["-c", "-p", "-u", REALM, USER])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    assert!(child.wait().unwrap().success(), "saslpasswd2 failed");
    for (mechanism, binding) in cyrus_cases() {
        let mechanism = mechanism.as_str();
        for (password, should_pass) in [(PASSWORD, true), ("wrong", false)] {
            let mut command = Command::new(&program);
            command
                .args(["server", mechanism, USER, REALM])
                .arg(&sasldb);
            command.args(cyrus_binding_args(binding.as_ref()));
            let mut peer = Peer::spawn(&mut command);
            // Without SASL_SUCCESS_DATA, libsasl2 sends v= as a challenge and waits for an
            // empty answer before it reports success.
            let result =
                our_client_against(&mut peer, mechanism, password, binding.clone(), &[], true);
            if should_pass {
                assert_eq!(result, Ok(()), "{mechanism}");
                // Cyrus reports success after the verifier.
                assert_eq!(peer.line(), "OK", "{mechanism}");
            } else {
                assert!(result.is_err(), "{mechanism}");
            }
            let (ok, stderr) = peer.finish();
            assert_eq!(ok, should_pass, "{mechanism}: {stderr}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn which(program: &str) -> Option<PathBuf> {
    if Path::new(program).is_absolute() {
        return Path::new(program).exists().then(|| program.into());
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.exists())
    })
}
