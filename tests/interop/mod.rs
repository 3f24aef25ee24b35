//! Interop with real, independent peers: Cyrus SASL's libsasl2 (through `cyrus_sasl_peer.c`,
//! a small command-driven C program linked with the system's library), GNU SASL's `gsasl`
//! command and Python's `scramp` (through `scramp_peer.py`). One process wrapper, with
//! timeouts so that a hung peer fails the test instead of hanging CI.
//!
//! A missing peer fails the test when the `CI` environment variable is set (CI installs them
//! all, see `.ci/apt-packages` and `.ci/pip-packages`) and skips it with a note otherwise.

#![allow(clippy::print_stderr, reason = "skip notes")]

pub mod basic;
pub mod digest_md5;
pub mod scram;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use puresasl::{
    ChannelBinding, ClientSession, ClientStep, Error, Identity, ServerSession, ServerStep,
};

/// How long a peer may stay silent (or take to exit) before the test fails.
const TIMEOUT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------
// Availability, scratch space, tools

/// Whether a peer can run (`ok`): if not, panics under CI and skips with a note otherwise.
pub fn available(what: &str, ok: bool) -> bool {
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "interop peer missing under CI: {what} (see .ci/apt-packages and .ci/pip-packages)"
        );
        eprintln!("note: skipping interop test, {what} is not available");
    }
    ok
}

/// `tool` on PATH or in the sbin directories.
pub fn find_tool(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(tool))
        .find(|candidate| candidate.is_file())
}

/// Whether `tool` can be found, through the [`available`] gate.
pub fn have(tool: &str) -> bool {
    available(tool, find_tool(tool).is_some())
}

/// Whether all of `tools` can be found (each through the gate).
pub fn have_all(tools: &[&str]) -> bool {
    tools.iter().all(|tool| have(tool))
}

/// A fresh scratch directory under the target directory, unique per name and test process
/// (so that concurrent test runs do not share files).
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("interop")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Compiles the C program `source` into `out` with `cc ... -l<lib>`; `None` (after the gate)
/// when the compiler or the library's development files are missing.
pub fn compile_c(source: &Path, out: &Path, lib: &str, package: &str) -> Option<PathBuf> {
    if !have("cc") {
        return None;
    }
    let built = Command::new("cc")
        .args(["-O1", "-Wall", "-Wno-cast-function-type", "-o"])
        .arg(out)
        .arg(source)
        .arg(format!("-l{lib}"))
        .status()
        .is_ok_and(|status| status.success());
    available(&format!("cc -l{lib} ({package})"), built).then(|| out.to_owned())
}

/// Runs `command` with `input` on its standard input; panics unless it succeeds.
pub fn run_with_input(command: &mut Command, input: &[u8]) {
    let mut child = command.stdin(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    assert!(child.wait().unwrap().success(), "{command:?} failed");
}

/// Runs Cyrus's `saslpasswd2 -f file args...` with `password` on stdin.
pub fn saslpasswd2(file: &Path, args: &[&str], password: &[u8]) {
    let program = find_tool("saslpasswd2").expect("saslpasswd2 (sasl2-bin)");
    run_with_input(
        Command::new(program).arg("-f").arg(file).args(args),
        password,
    );
}

/// A sasldb2 in `dir` made by `saslpasswd2`, one `(user, realm, password)` a record; `None`
/// (after the gate) without sasl2-bin.
pub fn cyrus_sasldb(dir: &Path, users: &[(&str, &str, &str)]) -> Option<PathBuf> {
    if !available(
        "saslpasswd2 (sasl2-bin)",
        find_tool("saslpasswd2").is_some(),
    ) {
        return None;
    }
    let path = dir.join("sasldb2");
    for (user, realm, password) in users {
        saslpasswd2(&path, &["-c", "-p", "-u", realm, user], password.as_bytes());
    }
    Some(path)
}

pub fn b64(data: &[u8]) -> String {
    STANDARD.encode(data)
}

pub fn unb64(text: &str) -> Vec<u8> {
    STANDARD
        .decode(text.trim())
        .unwrap_or_else(|e| panic!("peer sent bad base64 {text:?}: {e}"))
}

pub fn cb(kind: &str, data: &[u8]) -> ChannelBinding {
    ChannelBinding {
        kind: kind.into(),
        data: data.to_vec(),
        required: false,
    }
}

// ---------------------------------------------------------------------------------------
// The process wrapper

/// Which side of an exchange failed, and how.
#[derive(Debug, PartialEq)]
pub enum Failure {
    /// Our session returned this error.
    Ours(Error),
    /// The peer refused, closed its output or exited with failure; what it said.
    Peer(String),
}

impl Failure {
    /// The peer's message, panicking if it was our side that failed.
    pub fn peer(self) -> String {
        match self {
            Failure::Peer(message) => message,
            Failure::Ours(error) => panic!("expected the peer to fail, we did: {error}"),
        }
    }
}

/// A peer process spoken to in lines. Every read times out (a hung peer fails the test), the
/// exchange is kept as a transcript for failure messages, and the process is killed on drop.
pub struct Peer {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    /// Everything sent (`> `) and received (`< `), for failure messages.
    pub transcript: Vec<String>,
    strip_gsasl_prompts: bool,
}

impl Peer {
    /// Spawns `command` with piped stdin, stdout and stderr.
    pub fn spawn(command: &mut Command) -> Peer {
        Peer::spawn_with(command, false)
    }

    /// With `merge_stderr`, the peer's standard error lines also arrive among its output lines.
    pub fn spawn_with(command: &mut Command, merge_stderr: bool) -> Peer {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {command:?}: {e}"));
        let (tx, lines) = channel();
        let stderr = Arc::new(Mutex::new(String::new()));
        forward(
            Box::new(child.stdout.take().unwrap()),
            Some(tx.clone()),
            None,
        );
        forward(
            Box::new(child.stderr.take().unwrap()),
            merge_stderr.then_some(tx),
            Some(Arc::clone(&stderr)),
        );
        Peer {
            stdin: child.stdin.take(),
            child,
            lines,
            stderr,
            transcript: Vec::new(),
            strip_gsasl_prompts: false,
        }
    }

    /// Writes one line. The peer may have exited already; its exit status tells the story.
    pub fn send_line(&mut self, line: &str) {
        self.transcript.push(format!("> {line}"));
        let stdin = self.stdin.as_mut().expect("input still open");
        let _ = writeln!(stdin, "{line}").and_then(|()| stdin.flush());
    }

    /// Writes one message as a base64 line.
    pub fn send(&mut self, message: &[u8]) {
        self.send_line(&b64(message));
    }

    /// The next line; panics if the peer closed its output or stayed silent too long.
    pub fn line(&mut self) -> String {
        self.try_line()
            .unwrap_or_else(|| panic!("peer closed; {}", self.story()))
    }

    /// The next line, `None` once the peer closed its output; panics after [`TIMEOUT`].
    /// `gsasl`'s channel-binding prompts are removed.
    pub fn try_line(&mut self) -> Option<String> {
        let line = match self.lines.recv_timeout(TIMEOUT) {
            Ok(line) => line,
            Err(RecvTimeoutError::Disconnected) => return None,
            Err(RecvTimeoutError::Timeout) => panic!("peer said nothing; {}", self.story()),
        };
        self.transcript.push(format!("< {line}"));
        let mut rest = line.as_str();
        while self.strip_gsasl_prompts
            && let Some(prompt) = rest.strip_prefix("Enter base64 encoded ")
        {
            rest = prompt
                .split_once(" channel binding: ")
                .map_or(prompt, |(_, after)| after);
        }
        Some(rest.to_owned())
    }

    /// The next base64 message; the peer's failure once it stopped talking SASL (it closed
    /// its output or printed `ERROR ...`).
    pub fn receive(&mut self) -> Result<Vec<u8>, Failure> {
        let Some(line) = self.try_line() else {
            return Err(Failure::Peer("peer closed".into()));
        };
        if line.starts_with("ERROR") {
            return Err(Failure::Peer(line));
        }
        Ok(unb64(&line))
    }

    /// Closes stdin and waits (at most [`TIMEOUT`]); whether the peer exited with success,
    /// and its standard error.
    pub fn finish(mut self) -> (bool, String) {
        drop(self.stdin.take());
        let deadline = Instant::now() + TIMEOUT;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "peer did not exit; {}",
                self.story()
            );
            std::thread::sleep(Duration::from_millis(5));
        };
        // The stderr reader ends with the process; give it a moment to drain.
        let drained = Instant::now() + Duration::from_secs(2);
        while Arc::strong_count(&self.stderr) > 1 && Instant::now() < drained {
            std::thread::sleep(Duration::from_millis(2));
        }
        (status.success(), self.stderr.lock().unwrap().clone())
    }

    fn story(&self) -> String {
        format!(
            "transcript: {:#?}\nstderr: {}",
            self.transcript,
            self.stderr.lock().unwrap()
        )
    }
}

/// Forwards `stream`'s lines to `lines` and/or appends them to `text`, on a thread.
fn forward(
    stream: Box<dyn Read + Send>,
    lines: Option<Sender<String>>,
    text: Option<Arc<Mutex<String>>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if let Some(text) = &text {
                let mut text = text.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
            }
            if let Some(tx) = &lines
                && tx.send(line).is_err()
            {
                break;
            }
        }
    });
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------
// Cyrus SASL: cyrus_sasl_peer.c

/// The Cyrus plugin (from libsasl2-modules) that implements `mechanism`.
fn cyrus_plugin(mechanism: &str) -> &'static str {
    match mechanism {
        "PLAIN" => "libplain",
        "LOGIN" => "liblogin",
        "CRAM-MD5" => "libcrammd5",
        "DIGEST-MD5" => "libdigestmd5",
        m if m.starts_with("SCRAM-") => "libscram",
        other => panic!("no Cyrus plugin known for {other}"),
    }
}

/// The Cyrus peer, compiled once per test run; `None` (after the gate) without a C compiler,
/// Cyrus's development files or the plugin for `mechanism` (from libsasl2-modules).
fn cyrus_peer(mechanism: &str) -> Option<&'static Path> {
    static PEER: OnceLock<Option<PathBuf>> = OnceLock::new();
    let plugin = cyrus_plugin(mechanism);
    let plugins = [
        "/usr/lib/x86_64-linux-gnu/sasl2",
        "/usr/lib/aarch64-linux-gnu/sasl2",
        "/usr/lib/sasl2",
        "/usr/lib64/sasl2",
    ];
    let has_plugin = plugins.iter().any(|dir| {
        let dir = Path::new(dir);
        dir.join(format!("{plugin}.so.2")).exists() || dir.join(format!("{plugin}.so")).exists()
    });
    if !available(
        &format!("Cyrus plugin {plugin} (libsasl2-modules)"),
        has_plugin,
    ) {
        return None;
    }
    PEER.get_or_init(|| {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/cyrus_sasl_peer.c");
        // Built under a name of this process's own, then renamed into place, so that a
        // concurrent test run never executes a half-written binary.
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cyrus_sasl_peer");
        let partial = out.with_extension(std::process::id().to_string());
        compile_c(&source, &partial, "sasl2", "libsasl2-dev")?;
        std::fs::rename(&partial, &out).unwrap();
        Some(out)
    })
    .as_deref()
}

/// A reply of the Cyrus peer: its tag (`OK`, `CONTINUE`, `DATA`, `ERR`...) and data (`None`
/// when libsasl2 gave no output; for `ERR`, the code and detail as text).
#[derive(Debug)]
pub struct Reply {
    pub tag: String,
    pub data: Option<Vec<u8>>,
}

impl Reply {
    /// The data, empty if there was none.
    pub fn bytes(&self) -> Vec<u8> {
        self.data.clone().unwrap_or_default()
    }

    /// The reply as the peer's failure.
    fn failure(&self) -> Failure {
        Failure::Peer(format!(
            "{} {}",
            self.tag,
            String::from_utf8_lossy(&self.bytes())
        ))
    }
}

/// A running Cyrus peer (client or server), commanded line by line.
pub struct Cyrus {
    pub peer: Peer,
}

impl Cyrus {
    /// Spawns the peer as `role` (`server` or `client`) with `KEY=VALUE` options (see the C
    /// source); `None` (after the gate) without it or without the plugin for `mechanism`.
    pub fn spawn(role: &str, mechanism: &str, options: &[(&str, &str)]) -> Option<Cyrus> {
        let binary = cyrus_peer(mechanism)?;
        let mut command = Command::new(binary);
        command
            .arg(role)
            .args(options.iter().map(|(key, value)| format!("{key}={value}")))
            .env_clear()
            .env("PATH", "/usr/bin:/bin");
        Some(Cyrus {
            peer: Peer::spawn(&mut command),
        })
    }

    /// Sends one command and parses the reply.
    pub fn command(&mut self, command: &str) -> Reply {
        self.peer.send_line(command);
        let line = self.peer.line();
        let (tag, rest) = match line.split_once(' ') {
            Some((tag, rest)) => (tag, Some(rest)),
            None => (line.as_str(), None),
        };
        let data = match (tag, rest) {
            ("OK" | "CONTINUE" | "DATA", Some("-")) => Some(Vec::new()),
            ("OK" | "CONTINUE" | "DATA", Some(rest)) => Some(unb64(rest)),
            (_, rest) => rest.map(|r| r.as_bytes().to_vec()),
        };
        Reply {
            tag: tag.to_owned(),
            data,
        }
    }

    /// `START mechanism [initial response]`.
    pub fn start(&mut self, mechanism: &str, initial: Option<&[u8]>) -> Reply {
        match initial {
            Some(data) => self.command(&format!("START {mechanism} {}", dash64(data))),
            None => self.command(&format!("START {mechanism}")),
        }
    }

    /// `STEP data`.
    pub fn step(&mut self, data: &[u8]) -> Reply {
        self.command(&format!("STEP {}", dash64(data)))
    }

    /// `ENC data`: libsasl2's `sasl_encode`.
    pub fn encode(&mut self, data: &[u8]) -> Reply {
        self.command(&format!("ENC {}", dash64(data)))
    }

    /// `DEC data`: libsasl2's `sasl_decode`.
    pub fn decode(&mut self, data: &[u8]) -> Reply {
        self.command(&format!("DEC {}", dash64(data)))
    }

    /// The negotiated SSF and maxoutbuf.
    pub fn ssf(&mut self) -> (u32, u32) {
        self.peer.send_line("SSF");
        let line = self.peer.line();
        let fields: Vec<u32> = line
            .split(' ')
            .skip(1)
            .map(|f| f.parse().unwrap())
            .collect();
        (fields[0], fields[1])
    }

    /// The value of a one-word query (`USER`, `MECH`).
    pub fn query(&mut self, what: &str) -> String {
        self.peer.send_line(what);
        let line = self.peer.line();
        line.strip_prefix(&format!("{what} "))
            .unwrap_or_else(|| panic!("{what}: {line}"))
            .to_owned()
    }
}

/// Base64, with `-` for empty (the Cyrus peer's convention).
fn dash64(data: &[u8]) -> String {
    if data.is_empty() {
        "-".into()
    } else {
        b64(data)
    }
}

/// What a Cyrus peer reports after a successful exchange.
pub struct CyrusOutcome {
    pub ssf: u32,
    pub username: String,
}

impl CyrusOutcome {
    fn of(cyrus: &mut Cyrus) -> CyrusOutcome {
        CyrusOutcome {
            ssf: cyrus.ssf().0,
            username: cyrus.query("USER"),
        }
    }
}

/// Our client (already configured) against a Cyrus server with `options`. `None` if the peer
/// is unavailable (outside CI).
pub fn our_client_vs_cyrus_server(
    client: &mut ClientSession,
    mechanism: &str,
    options: &[(&str, &str)],
) -> Option<Result<CyrusOutcome, Failure>> {
    let mut cyrus = Cyrus::spawn("server", mechanism, options)?;
    Some(drive_cyrus_server(client, mechanism, &mut cyrus).map(|()| CyrusOutcome::of(&mut cyrus)))
}

fn drive_cyrus_server(
    client: &mut ClientSession,
    mechanism: &str,
    cyrus: &mut Cyrus,
) -> Result<(), Failure> {
    let start = client.start(mechanism).map_err(Failure::Ours)?;
    let mut reply = cyrus.start(mechanism, start.initial_response.as_deref());
    loop {
        match reply.tag.as_str() {
            "CONTINUE" => {
                let response = match client.step(&reply.bytes()).map_err(Failure::Ours)? {
                    ClientStep::Continue(r) => r,
                    ClientStep::Done(r) => r.unwrap_or_default(),
                };
                reply = cyrus.step(&response);
            }
            "OK" => {
                let data = reply.bytes();
                if !data.is_empty() && !client.is_done() {
                    client.step(&data).map_err(Failure::Ours)?;
                }
                return Ok(());
            }
            _ => return Err(reply.failure()),
        }
    }
}

/// A Cyrus client with `options` against our server. `None` if the peer is unavailable.
pub fn cyrus_client_vs_our_server(
    server: &mut ServerSession,
    mechanism: &str,
    options: &[(&str, &str)],
) -> Option<Result<(Identity, CyrusOutcome), Failure>> {
    let mut cyrus = Cyrus::spawn("client", mechanism, options)?;
    Some(
        drive_cyrus_client(server, mechanism, &mut cyrus)
            .map(|identity| (identity, CyrusOutcome::of(&mut cyrus))),
    )
}

fn drive_cyrus_client(
    server: &mut ServerSession,
    mechanism: &str,
    cyrus: &mut Cyrus,
) -> Result<Identity, Failure> {
    let first = cyrus.start(mechanism, None);
    if first.tag != "CONTINUE" && first.tag != "OK" {
        return Err(first.failure());
    }
    // libsasl2 reports a -PLUS variant by its plugin's name (our server checks the gs2
    // header for the binding).
    let chosen = cyrus.query("MECH");
    assert!(
        chosen == mechanism || mechanism.strip_suffix("-PLUS") == Some(&chosen),
        "cyrus client chose another mechanism: {chosen}, not {mechanism}"
    );
    let mut reply = server.start(mechanism, first.data.as_deref());
    let mut client_done = first.tag == "OK";
    loop {
        match reply.map_err(Failure::Ours)? {
            ServerStep::Continue(challenge) => {
                if client_done {
                    return Err(Failure::Peer(format!(
                        "cyrus client finished, our server still challenges: {challenge:?}"
                    )));
                }
                let answer = cyrus.step(&challenge);
                match answer.tag.as_str() {
                    "CONTINUE" => reply = server.step(&answer.bytes()),
                    // The client is satisfied before the server finished: answer empty.
                    "OK" => {
                        client_done = true;
                        reply = server.step(&answer.bytes());
                    }
                    _ => return Err(answer.failure()),
                }
            }
            ServerStep::Done {
                identity,
                additional_data,
            } => {
                if !client_done {
                    // The success data, or an empty final challenge, ends the client's side.
                    let last = cyrus.step(&additional_data.unwrap_or_default());
                    if last.tag != "OK" {
                        return Err(last.failure());
                    }
                }
                return Ok(identity);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Peers speaking one base64 line per SASL message: gsasl and scramp

/// `gsasl ROLE --mechanism MECH args...`, or `None` (after the gate). With `merge_stderr`,
/// its standard error lines arrive among its output lines.
pub fn gsasl(role: &str, mechanism: &str, args: &[&str], merge_stderr: bool) -> Option<Peer> {
    let program = find_tool("gsasl");
    if !available("gsasl", program.is_some()) {
        return None;
    }
    let mut peer = Peer::spawn_with(
        Command::new(program.unwrap())
            .args([role, "--mechanism", mechanism])
            .args(args),
        merge_stderr,
    );
    peer.strip_gsasl_prompts = true;
    Some(peer)
}

/// Our client against `gsasl --server` with `args`; `after_first` answers its prompts. `Ok`
/// only if our client finished and gsasl exited with success; a failed exchange must also
/// make gsasl exit with failure.
pub fn our_client_vs_gsasl_server(
    client: &mut ClientSession,
    mechanism: &str,
    args: &[&str],
    after_first: &[&str],
) -> Option<Result<(), Failure>> {
    let mut peer = gsasl("--server", mechanism, args, false)?;
    assert_eq!(peer.line(), mechanism);
    let how = LineServer {
        gsasl: true,
        after_first,
    };
    let result = our_client_vs_line_server(&mut peer, client, mechanism, how);
    let (ok, stderr) = peer.finish();
    Some(gsasl_verdict(result, ok, &stderr))
}

/// `gsasl --client` with `args` against our server; `prompts` are sent first (its
/// channel-binding prompts). `Ok` only if gsasl exited with success too; a failed exchange
/// must also make gsasl exit with failure.
pub fn gsasl_client_vs_our_server(
    server: &mut ServerSession,
    mechanism: &str,
    args: &[&str],
    prompts: &[String],
) -> Option<Result<Identity, Failure>> {
    let mut peer = gsasl("--client", mechanism, args, false)?;
    for line in prompts {
        peer.send_line(line);
    }
    assert_eq!(peer.line(), mechanism);
    let result = our_server_vs_line_client(&mut peer, server, mechanism);
    if result.is_ok() {
        // gsasl prints its (empty) last output and reads one more line.
        peer.send_line("");
    }
    let (ok, stderr) = peer.finish();
    Some(gsasl_verdict(result, ok, &stderr))
}

fn gsasl_verdict<T>(result: Result<T, Failure>, ok: bool, stderr: &str) -> Result<T, Failure> {
    match result {
        Ok(value) if ok => Ok(value),
        Ok(_) => Err(Failure::Peer(format!(
            "gsasl exited with failure: {stderr}"
        ))),
        Err(failure) if !ok => Err(failure),
        Err(failure) => Err(Failure::Peer(format!(
            "{failure:?}, yet gsasl exited with success"
        ))),
    }
}

/// `scramp_peer.py ROLE MECH USER PASSWORD [CB-TYPE CB-DATA]`, or `None` (after the gate).
pub fn scramp(
    role: &str,
    mechanism: &str,
    user: &str,
    password: &str,
    binding: Option<&ChannelBinding>,
) -> Option<Peer> {
    let ok = Command::new("python3")
        .args(["-c", "import scramp"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !available("python3 with scramp", ok) {
        return None;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/scramp_peer.py");
    let mut command = Command::new("python3");
    command.arg(script).args([role, mechanism, user, password]);
    if let Some(b) = binding {
        command.args([b.kind.name().to_owned(), b64(&b.data)]);
    }
    Some(Peer::spawn(&mut command))
}

/// Our server against a line peer client whose first line is its initial response (an empty
/// line: none). A server-side `e=` message is sent before the error is returned; the success
/// data (or an empty line) is sent on success.
pub fn our_server_vs_line_client(
    peer: &mut Peer,
    server: &mut ServerSession,
    mechanism: &str,
) -> Result<Identity, Failure> {
    let first = peer.receive()?;
    let mut reply = server.start(mechanism, (!first.is_empty()).then_some(&first[..]));
    loop {
        match reply.map_err(Failure::Ours)? {
            ServerStep::Continue(challenge) => {
                peer.send(&challenge);
                if challenge.starts_with(b"e=") {
                    return server
                        .step(b"")
                        .map(|_| panic!("accepted after e="))
                        .map_err(Failure::Ours);
                }
                reply = server.step(&peer.receive()?);
            }
            ServerStep::Done {
                additional_data,
                identity,
            } => {
                peer.send(&additional_data.unwrap_or_default());
                return Ok(identity);
            }
        }
    }
}

/// How a line peer server behaves around the exchange.
#[derive(Clone, Copy)]
pub struct LineServer<'a> {
    /// `gsasl`: speaks first (an empty challenge before an initial response), answers every
    /// message until it exits, and wants a reply (empty) to its last message.
    pub gsasl: bool,
    /// Lines to send right after our first message (`gsasl`'s channel-binding prompt).
    pub after_first: &'a [&'a str],
}

/// Our client against a line peer server. `Ok` once our client is done (and, for `gsasl`,
/// the peer closed its output).
pub fn our_client_vs_line_server(
    peer: &mut Peer,
    client: &mut ClientSession,
    mechanism: &str,
    how: LineServer<'_>,
) -> Result<(), Failure> {
    let start = client.start(mechanism).map_err(Failure::Ours)?;
    assert_eq!(start.mechanism, mechanism);
    match start.initial_response {
        Some(initial) => {
            if how.gsasl {
                assert_eq!(
                    peer.receive()?,
                    b"",
                    "gsasl server starts with an empty challenge"
                );
            }
            peer.send(&initial);
        }
        None if how.gsasl => {}
        None => peer.send(b""),
    }
    for line in how.after_first {
        peer.send_line(line);
    }
    loop {
        let challenge = match peer.receive() {
            Err(_) if how.gsasl && client.is_done() => return Ok(()),
            other => other?,
        };
        if client.is_done() {
            // gsasl asks for one more, empty, message after the last one.
            peer.send(b"");
            continue;
        }
        match client.step(&challenge).map_err(Failure::Ours)? {
            ClientStep::Continue(response) => peer.send(&response),
            ClientStep::Done(response) if how.gsasl => peer.send(&response.unwrap_or_default()),
            ClientStep::Done(_) => return Ok(()),
        }
    }
}
