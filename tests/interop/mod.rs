//! Interop with real, independent peers: GNU SASL's `gsasl` command and Cyrus SASL's
//! libsasl2 (through `cyrus_peer.c`, a small C program linked with Debian's library).
//!
//! A missing peer fails the test when the `CI` environment variable is set (CI installs them
//! all) and skips it with a note otherwise.

pub mod basic;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use puresasl::{ClientSession, ClientStep, Identity, ServerSession, ServerStep};

/// Whether `program` can be run; panics in CI if not, so CI never silently skips.
pub fn have(program: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "interop peer {program} is missing in CI"
        );
        eprintln!("note: {program} not installed; interop test skipped");
    }
    found
}

/// A scratch directory under the target directory, unique per name.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("interop")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The `cyrus_peer` binary, compiled once per test run; `None` (skip) without a C compiler or
/// Cyrus's development files outside CI.
pub fn cyrus_peer() -> Option<&'static Path> {
    static BINARY: OnceLock<Option<PathBuf>> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            if !have("cc") || !Path::new("/usr/include/sasl/sasl.h").exists() {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "libsasl2-dev is missing in CI"
                );
                return None;
            }
            let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cyrus_peer");
            let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/cyrus_peer.c");
            let status = Command::new("cc")
                .args(["-O1", "-Wall", "-Wno-cast-function-type", "-o"])
                .arg(&out)
                .arg(&source)
                .arg("-lsasl2")
                .status()
                .unwrap();
            assert!(status.success(), "compiling cyrus_peer.c failed");
            Some(out)
        })
        .as_deref()
}

/// Creates a sasldb2 with Debian's `saslpasswd2`, one `(user, realm, password)` a record.
pub fn cyrus_sasldb(dir: &Path, users: &[(&str, &str, &str)]) -> PathBuf {
    let path = dir.join("sasldb2");
    for (user, realm, password) in users {
        let mut child = Command::new("saslpasswd2")
            .args(["-f"])
            .arg(&path)
            .args(["-c", "-p", "-u", realm, user])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(password.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success(), "saslpasswd2 failed");
    }
    path
}

/// A peer process speaking lines on stdin/stdout.
pub struct Peer {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Peer {
    /// Spawns `command` with piped stdin and stdout.
    pub fn spawn(mut command: Command) -> Peer {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Peer {
            child,
            stdin,
            stdout,
        }
    }

    /// Writes one line.
    pub fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        // The peer may have exited already; the exit status tells the story.
        let _ = writeln!(stdin, "{line}").and_then(|()| stdin.flush());
    }

    /// Reads one line without its newline; `None` at end of file.
    pub fn recv_line(&mut self) -> Option<String> {
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line.trim_end_matches(['\r', '\n']).to_owned()),
        }
    }

    /// Closes stdin and waits; returns whether the peer exited successfully, and its stderr.
    pub fn finish(mut self) -> (bool, String) {
        drop(self.stdin.take());
        let output = self.child.wait_with_output().unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }
}

pub fn b64(data: &[u8]) -> String {
    STANDARD.encode(data)
}

pub fn unb64(text: &str) -> Vec<u8> {
    STANDARD
        .decode(text)
        .unwrap_or_else(|e| panic!("peer sent bad base64 {text:?}: {e}"))
}

/// The result of an exchange with a Cyrus peer: on success the SSF and the username Cyrus
/// reports, plus the process so the caller can exchange application data.
#[allow(
    dead_code,
    reason = "the DIGEST-MD5 tests exchange data through the peer"
)]
pub struct CyrusOutcome {
    pub ssf: u32,
    pub username: String,
    pub peer: Peer,
}

fn cyrus_command(role: &str, mechanism: &str, env: &[(&str, &str)]) -> Option<Command> {
    let binary = cyrus_peer()?;
    let mut command = Command::new(binary);
    command
        .args([role, mechanism])
        .env_clear()
        .env("PATH", "/usr/bin:/bin");
    for (key, value) in env {
        command.env(key, value);
    }
    Some(command)
}

fn parse_ok(line: &str) -> (Vec<u8>, u32, String) {
    let mut parts = line.splitn(4, ':');
    let _ = parts.next();
    let data = unb64(parts.next().unwrap_or_default());
    let ssf = parts.next().unwrap_or("0").parse().unwrap();
    (data, ssf, parts.next().unwrap_or_default().to_owned())
}

/// Our client against a Cyrus server (`env` configures it, see `cyrus_peer.c`). `Err` holds
/// which side failed and why. `None` if the peer is unavailable (outside CI).
pub fn our_client_vs_cyrus_server(
    client: &mut ClientSession,
    mechanism: &str,
    env: &[(&str, &str)],
) -> Option<Result<CyrusOutcome, String>> {
    let mut peer = Peer::spawn(cyrus_command("server", mechanism, env)?);
    let start = match client.start(mechanism) {
        Ok(start) => start,
        Err(e) => return Some(Err(format!("our client: {e}"))),
    };
    let mut pending = start.initial_response;
    match pending.take() {
        Some(initial) => peer.send_line(&format!("I:{}", b64(&initial))),
        None => peer.send_line("N:"),
    }
    loop {
        let Some(line) = peer.recv_line() else {
            let (_, stderr) = peer.finish();
            return Some(Err(format!("cyrus server exited: {stderr}")));
        };
        if let Some(challenge) = line.strip_prefix("C:") {
            let response = match client.step(&unb64(challenge)) {
                Ok(ClientStep::Continue(r)) => r,
                Ok(ClientStep::Done(r)) => r.unwrap_or_default(),
                Err(e) => return Some(Err(format!("our client: {e}"))),
            };
            peer.send_line(&format!("R:{}", b64(&response)));
        } else if line.starts_with("OK:") {
            let (data, ssf, username) = parse_ok(&line);
            if !data.is_empty()
                && !client.is_done()
                && let Err(e) = client.step(&data)
            {
                return Some(Err(format!("our client on success data: {e}")));
            }
            return Some(Ok(CyrusOutcome {
                ssf,
                username,
                peer,
            }));
        } else {
            return Some(Err(format!("cyrus server: {line}")));
        }
    }
}

/// A Cyrus client against our server. `Err` says which side failed.
pub fn cyrus_client_vs_our_server(
    server: &mut ServerSession,
    mechanism: &str,
    env: &[(&str, &str)],
) -> Option<Result<(Identity, CyrusOutcome), String>> {
    let mut peer = Peer::spawn(cyrus_command("client", mechanism, env)?);
    let chosen = peer.recv_line().unwrap_or_default();
    assert_eq!(
        chosen,
        format!("M:{mechanism}"),
        "cyrus client chose another mechanism"
    );
    let first = peer.recv_line().unwrap_or_default();
    let initial = first.strip_prefix("I:").map(unb64);
    let mut reply = server.start(mechanism, initial.as_deref());
    loop {
        match reply {
            Err(e) => {
                let (_, _) = peer.finish();
                return Some(Err(format!("our server: {e}")));
            }
            Ok(ServerStep::Continue(challenge)) => {
                peer.send_line(&format!("C:{}", b64(&challenge)));
                let Some(line) = peer.recv_line() else {
                    let (_, stderr) = peer.finish();
                    return Some(Err(format!("cyrus client exited: {stderr}")));
                };
                if let Some(response) = line.strip_prefix("R:") {
                    reply = server.step(&unb64(response));
                } else if line.starts_with("OK:") {
                    // The client is satisfied before the server finished: answer empty.
                    reply = server.step(b"");
                    if let Ok(ServerStep::Done { identity, .. }) = &reply {
                        let (_, ssf, username) = parse_ok(&line);
                        return Some(Ok((
                            identity.clone(),
                            CyrusOutcome {
                                ssf,
                                username,
                                peer,
                            },
                        )));
                    }
                } else {
                    return Some(Err(format!("cyrus client: {line}")));
                }
            }
            Ok(ServerStep::Done {
                identity,
                additional_data,
            }) => {
                if let Some(data) = additional_data {
                    // No success-data channel in this line protocol: send it as a challenge.
                    peer.send_line(&format!("C:{}", b64(&data)));
                }
                let line = peer.recv_line().unwrap_or_default();
                if !line.starts_with("OK:") {
                    return Some(Err(format!("cyrus client after our success: {line}")));
                }
                let (_, ssf, username) = parse_ok(&line);
                return Some(Ok((
                    identity,
                    CyrusOutcome {
                        ssf,
                        username,
                        peer,
                    },
                )));
            }
        }
    }
}

fn gsasl_command(role: &str, mechanism: &str, args: &[&str]) -> Option<Command> {
    if !have("gsasl") {
        return None;
    }
    let mut command = Command::new("gsasl");
    command
        .args([role, "-m", mechanism, "-d", "--quiet"])
        .args(args);
    Some(command)
}

/// Our client against `gsasl --server` (args: `-a user -p password ...`). `Ok` if gsasl
/// accepted us.
pub fn our_client_vs_gsasl_server(
    client: &mut ClientSession,
    mechanism: &str,
    args: &[&str],
) -> Option<Result<(), String>> {
    let mut peer = Peer::spawn(gsasl_command("--server", mechanism, args)?);
    assert_eq!(peer.recv_line().as_deref(), Some(mechanism));
    let start = match client.start(mechanism) {
        Ok(start) => start,
        Err(e) => return Some(Err(format!("our client: {e}"))),
    };
    let mut pending = start.initial_response;
    // gsasl's command-line server always speaks first (possibly an empty challenge), and after
    // the last response it asks for one more, empty, message.
    while let Some(line) = peer.recv_line() {
        let response = if let Some(initial) = pending.take() {
            initial
        } else if client.is_done() {
            Vec::new()
        } else {
            match client.step(&unb64(&line)) {
                Ok(ClientStep::Continue(r)) => r,
                Ok(ClientStep::Done(r)) => r.unwrap_or_default(),
                Err(e) => return Some(Err(format!("our client: {e}"))),
            }
        };
        peer.send_line(&b64(&response));
    }
    let (ok, stderr) = peer.finish();
    Some(if ok {
        Ok(())
    } else {
        Err(format!("gsasl server: {stderr}"))
    })
}

/// `gsasl --client` against our server. `Err` if either side failed.
pub fn gsasl_client_vs_our_server(
    server: &mut ServerSession,
    mechanism: &str,
    args: &[&str],
) -> Option<Result<Identity, String>> {
    let mut peer = Peer::spawn(gsasl_command("--client", mechanism, args)?);
    assert_eq!(peer.recv_line().as_deref(), Some(mechanism));
    let first = peer.recv_line().unwrap_or_default();
    let initial = (!first.is_empty()).then(|| unb64(&first));
    let mut reply = server.start(mechanism, initial.as_deref());
    loop {
        match reply {
            Err(e) => {
                let _ = peer.finish();
                return Some(Err(format!("our server: {e}")));
            }
            Ok(ServerStep::Continue(challenge)) => {
                peer.send_line(&b64(&challenge));
                match peer.recv_line() {
                    Some(line) => reply = server.step(&unb64(&line)),
                    None => {
                        let (_, stderr) = peer.finish();
                        return Some(Err(format!("gsasl client exited early: {stderr}")));
                    }
                }
            }
            Ok(ServerStep::Done {
                identity,
                additional_data,
            }) => {
                // gsasl's command-line client waits for one more line (the success data, or
                // an empty one) before it reports success.
                peer.send_line(&b64(&additional_data.unwrap_or_default()));
                let (ok, stderr) = peer.finish();
                return Some(if ok {
                    Ok(identity)
                } else {
                    Err(format!("gsasl client: {stderr}"))
                });
            }
        }
    }
}

/// Shorthand: the error of a failed exchange, for assertions.
pub fn expect_failure<T>(result: Option<Result<T, String>>) -> Option<String> {
    result.map(|r| match r {
        Ok(_) => panic!("exchange unexpectedly succeeded"),
        Err(e) => e,
    })
}
