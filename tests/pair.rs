//! The `Pair` harness: drives a client and a server against each other in memory and records
//! the transcript.

use std::sync::Arc;

use puresasl::{
    ClientConfig, ClientSession, ClientStep, Credentials, Error, FixedRandom, Identity,
    MemoryStore, ServerConfig, ServerSession, ServerStep,
};

/// Who sent a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Client,
    Server,
}

/// The outcome of a paired exchange.
#[derive(Debug)]
pub struct Exchange {
    pub mechanism: &'static str,
    pub transcript: Vec<(Side, Vec<u8>)>,
    /// The server's verdict.
    pub result: Result<Identity, PairError>,
}

/// Which side failed, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairError {
    Client(Error),
    Server(Error),
}

/// A server knowing `tim`/`tanstaaftanstaaf` in realm `example.org`.
pub fn server_config(mechanisms: &[&str]) -> Arc<ServerConfig> {
    let store = MemoryStore::new().with_password("tim", "example.org", "tanstaaftanstaaf");
    Arc::new(
        ServerConfig::builder("imap", "mail.example.org")
            .user_realm("example.org")
            .store(Arc::new(store))
            .mechanisms(mechanisms)
            .random(Arc::new(FixedRandom::new(11)))
            .scram_iterations(4096)
            .build()
            .unwrap(),
    )
}

/// A client with `credentials` allowing only `mechanism`.
pub fn client_config(mechanism: &str, credentials: Credentials) -> Arc<ClientConfig> {
    Arc::new(
        ClientConfig::new("imap", "mail.example.org", Arc::new(credentials))
            .with_mechanisms([mechanism])
            .unwrap()
            .with_random(Arc::new(FixedRandom::new(5))),
    )
}

/// Runs a complete exchange; the client uses an initial response when `initial` is true
/// (otherwise it waits for the server's first, possibly empty, challenge).
pub fn run(server: &mut ServerSession, client: &mut ClientSession, initial: bool) -> Exchange {
    let mut transcript = Vec::new();
    let offered = server.mechanisms().join(" ");
    let start = match client.start(&offered) {
        Ok(start) => start,
        Err(error) => {
            return Exchange {
                mechanism: "",
                transcript,
                result: Err(PairError::Client(error)),
            };
        }
    };
    let mechanism = start.mechanism;
    let finish = |transcript, result| Exchange {
        mechanism,
        transcript,
        result,
    };
    let mut pending_initial = None;
    let first = match (initial, start.initial_response) {
        (true, Some(response)) => {
            transcript.push((Side::Client, response.clone()));
            Some(response)
        }
        (_, response) => {
            pending_initial = response;
            None
        }
    };
    let mut reply = server.start(mechanism, first.as_deref());
    let mut client_done = false;
    for _ in 0..16 {
        match reply {
            Err(error) => return finish(transcript, Err(PairError::Server(error))),
            Ok(ServerStep::Done {
                identity,
                additional_data,
            }) => {
                if let Some(data) = additional_data {
                    transcript.push((Side::Server, data.clone()));
                    if !client_done && let Err(error) = client.step(&data) {
                        return finish(transcript, Err(PairError::Client(error)));
                    }
                }
                return finish(transcript, Ok(identity));
            }
            Ok(ServerStep::Continue(challenge)) => {
                transcript.push((Side::Server, challenge.clone()));
                let response = if let Some(response) = pending_initial.take() {
                    response
                } else if client_done {
                    Vec::new()
                } else {
                    match client.step(&challenge) {
                        Ok(ClientStep::Continue(response)) => response,
                        Ok(ClientStep::Done(response)) => {
                            client_done = true;
                            response.unwrap_or_default()
                        }
                        Err(error) => return finish(transcript, Err(PairError::Client(error))),
                    }
                };
                transcript.push((Side::Client, response.clone()));
                reply = server.step(&response);
            }
        }
    }
    panic!("exchange did not finish in 16 round trips")
}

/// Runs `mechanism` with `credentials` against the standard server.
pub fn exchange(mechanism: &str, credentials: Credentials, initial: bool) -> Exchange {
    let mut server = ServerSession::new(server_config(&[mechanism]));
    let mut client = ClientSession::new(client_config(mechanism, credentials));
    run(&mut server, &mut client, initial)
}
