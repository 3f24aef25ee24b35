//! The main job in one run: create a user in the embedded default store (a Cyrus sasldb2 file,
//! here in a temporary directory; pass a path to use another), then run complete client and
//! server exchanges for every mechanism, printing each transcript and its outcome, and one
//! attempt with a wrong password.
//!
//! ```text
//! cargo run --example demo [SASLDB-PATH]
//! ```

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use puresasl::credentials::{PasswordPolicy, set_password};
use puresasl::sasldb::SasldbStore;
use puresasl::{
    Auxprop, ChannelBinding, ClientConfig, ClientSession, ClientStep, Credentials, Error, OsRandom,
    ServerConfig, ServerSession, ServerStep,
};

const USER: &str = "alice";
const REALM: &str = "example.org";
const PASSWORD: &str = "correct horse battery staple";

/// Shows a message as text when it is printable, else as base64.
fn show(message: &[u8]) -> String {
    use base64::Engine as _;
    match std::str::from_utf8(message) {
        Ok(text) if text.chars().all(|c| !c.is_control()) => format!("{text:?}"),
        _ => format!(
            "base64:{}",
            base64::engine::general_purpose::STANDARD.encode(message)
        ),
    }
}

/// Runs one exchange and prints it; returns the server's verdict.
fn run(server: &Arc<ServerConfig>, mechanism: &str, password: &str) -> Result<String, Error> {
    let binding = mechanism.ends_with("-PLUS").then(|| ChannelBinding {
        kind: "tls-exporter".into(),
        data: b"32 bytes from the TLS exporter..".to_vec(),
        required: false,
    });
    // EXTERNAL stands on an identity a layer below proved (a TLS client certificate, a UNIX
    // socket's peer): here, as if the certificate named the user.
    let external = (mechanism == "EXTERNAL").then(|| format!("{USER}@{REALM}"));
    let mut server_session = ServerSession::new(server.clone());
    server_session.set_channel_binding(binding.clone());
    server_session.set_external_identity(external.clone());
    let client = ClientConfig::new(
        "imap",
        "mail.example.org",
        Arc::new(Credentials::new(USER, password)),
    )
    .with_mechanisms([mechanism])?;
    let mut client_session = ClientSession::new(Arc::new(client));
    client_session.set_channel_binding(binding);
    client_session.set_external_identity(external);

    let start = client_session.start(&server_session.mechanisms().join(" "))?;
    println!(
        "  C: AUTHENTICATE {} {}",
        start.mechanism,
        start
            .initial_response
            .as_deref()
            .map(show)
            .unwrap_or_default()
    );
    let mut reply = server_session.start(start.mechanism, start.initial_response.as_deref());
    loop {
        match reply? {
            ServerStep::Continue(challenge) => {
                println!("  S: {}", show(&challenge));
                let response = match client_session.step(&challenge)? {
                    ClientStep::Continue(response) => response,
                    ClientStep::Done(response) => response.unwrap_or_default(),
                };
                println!("  C: {}", show(&response));
                reply = server_session.step(&response);
            }
            ServerStep::Done {
                additional_data,
                identity,
            } => {
                if let Some(data) = additional_data {
                    println!("  S: success with {}", show(&data));
                    if !client_session.is_done() {
                        client_session.step(&data)?;
                    }
                }
                return Ok(format!("{}@{}", identity.authcid, identity.realm));
            }
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let scratch = std::env::args_os().nth(1).is_none();
    let path = match std::env::args_os().nth(1) {
        Some(path) => std::path::PathBuf::from(path),
        None => {
            let dir = std::env::temp_dir().join(format!("puresasl-demo-{}", std::process::id()));
            std::fs::create_dir_all(&dir)?;
            dir.join("sasldb2")
        }
    };
    let sasldb = SasldbStore::new(&path);
    sasldb.edit(|edit| {
        let policy = PasswordPolicy::default();
        set_password(edit, USER, REALM, PASSWORD.as_bytes(), &policy, &OsRandom)
    })?;
    let store: Arc<dyn Auxprop> = Arc::new(sasldb);
    println!(
        "created {USER}@{REALM} in {} (a Cyrus sasldb2 file) with properties:",
        path.display()
    );
    for entry in store.entries()? {
        println!("  {}@{}: {}", entry.user, entry.realm, entry.property);
    }

    let server = Arc::new(
        ServerConfig::builder("imap", "mail.example.org")
            .user_realm(REALM)
            .store(store)
            .build()?,
    );
    let mut mechanisms: Vec<&str> = puresasl::mechanism_names().to_vec();
    mechanisms.dedup();
    let mut failures = 0;
    for mechanism in &mechanisms {
        println!("\n{mechanism}:");
        match run(&server, mechanism, PASSWORD) {
            Ok(who) => println!("  => authenticated as {who}"),
            Err(error) => {
                failures += 1;
                println!("  => FAILED: {error}");
            }
        }
    }
    println!("\nPLAIN with a wrong password:");
    match run(&server, "PLAIN", "wrong password") {
        Ok(who) => return Err(format!("a wrong password was accepted for {who}").into()),
        Err(error) => println!("  => refused as expected: {error}"),
    }
    if scratch && let Some(dir) = path.parent() {
        std::fs::remove_dir_all(dir)?;
    }
    if failures > 0 {
        return Err(format!("{failures} mechanism(s) failed").into());
    }
    println!(
        "\nall {} mechanisms authenticated; the wrong password was refused",
        mechanisms.len()
    );
    Ok(())
}
