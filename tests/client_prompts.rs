//! A client whose credentials come from asking the user: the exchange pauses with
//! `Error::NeedCredentials` when the mechanism needs them (client-first mechanisms in
//! `start`, server-first ones with the challenge), and carries on when the call is repeated.

use std::sync::{Arc, Mutex};

use puresasl::{
    ClientConfig, ClientSession, ClientStep, CredentialKind, CredentialSource, Error, FixedRandom,
    Secret, ServerSession, ServerStep,
};

use crate::pair::server_config;

/// Knows nothing until "the user" answers what was asked.
#[derive(Default)]
struct Prompting {
    answered: Mutex<Vec<CredentialKind>>,
}

impl Prompting {
    fn has(&self, kind: CredentialKind) -> bool {
        self.answered.lock().unwrap().contains(&kind)
    }
}

impl CredentialSource for Prompting {
    fn authcid(&self) -> Option<String> {
        self.has(CredentialKind::Authcid).then(|| "tim".to_owned())
    }
    fn password(&self) -> Option<Secret> {
        self.has(CredentialKind::Password)
            .then(|| Secret::from("tanstaaftanstaaf"))
    }
    fn asks(&self, kind: CredentialKind) -> bool {
        matches!(kind, CredentialKind::Authcid | CredentialKind::Password)
    }
}

/// What was asked for, and in which call.
type Asked = Vec<(&'static str, Vec<CredentialKind>)>;

/// Repeats `call` after answering what it asked for (at most twice).
fn answering<T>(
    source: &Prompting,
    asked: &mut Asked,
    when: &'static str,
    mut call: impl FnMut(bool) -> Result<T, Error>,
) -> Result<T, Error> {
    let mut again = false;
    for _ in 0..3 {
        match call(again) {
            Err(Error::NeedCredentials(kinds)) => {
                source
                    .answered
                    .lock()
                    .unwrap()
                    .extend(kinds.iter().copied());
                asked.push((when, kinds));
                again = true;
            }
            other => return other,
        }
    }
    panic!("still asking after two answers: {asked:?}")
}

fn run(mechanism: &str) -> Asked {
    let source = Arc::new(Prompting::default());
    let config = ClientConfig::new("imap", "mail.example.org", source.clone())
        .with_mechanisms([mechanism])
        .unwrap()
        .with_random(Arc::new(FixedRandom::new(5)));
    let mut client = ClientSession::new(Arc::new(config));
    let mut server = ServerSession::new(server_config(&[mechanism]));
    let mut asked = Asked::new();
    let start = answering(&source, &mut asked, "start", |_| client.start(mechanism)).unwrap();
    assert_eq!(start.mechanism, mechanism);
    let mut reply = server.start(mechanism, start.initial_response.as_deref());
    for _ in 0..8 {
        match reply.unwrap() {
            ServerStep::Continue(challenge) => {
                // The repeated call passes nothing: the paused challenge is kept.
                let response = answering(&source, &mut asked, "step", |again| {
                    client.step(if again { &[] } else { &challenge })
                })
                .unwrap();
                let response = match response {
                    ClientStep::Continue(r) => r,
                    ClientStep::Done(r) => r.unwrap_or_default(),
                };
                reply = server.step(&response);
            }
            ServerStep::Done {
                identity,
                additional_data,
            } => {
                if let Some(data) = additional_data
                    && !client.is_done()
                {
                    client.step(&data).unwrap();
                }
                assert_eq!(identity.authcid, "tim", "{mechanism}");
                return asked;
            }
        }
    }
    panic!("{mechanism}: no end")
}

#[test]
fn each_mechanism_asks_when_it_needs_the_credentials() {
    use CredentialKind::{Authcid, Password};
    let both = vec![Authcid, Password];
    assert_eq!(run("PLAIN"), [("start", both.clone())]);
    assert_eq!(run("SCRAM-SHA-256"), [("start", both.clone())]);
    assert_eq!(run("CRAM-MD5"), [("step", both.clone())]);
    assert_eq!(run("DIGEST-MD5"), [("step", both)]);
    assert_eq!(
        run("LOGIN"),
        [("step", vec![Authcid]), ("step", vec![Password])]
    );
}

#[test]
fn a_paused_start_carries_on_in_step() {
    // isync answers the prompts of sasl_client_start with sasl_client_step.
    let source = Arc::new(Prompting::default());
    let config = ClientConfig::new("imap", "mail.example.org", source.clone());
    let mut client = ClientSession::new(Arc::new(config));
    assert_eq!(
        client.start("PLAIN"),
        Err(Error::NeedCredentials(vec![
            CredentialKind::Authcid,
            CredentialKind::Password
        ]))
    );
    source
        .answered
        .lock()
        .unwrap()
        .extend([CredentialKind::Authcid, CredentialKind::Password]);
    assert_eq!(
        client.step(&[]),
        Ok(ClientStep::Done(Some(b"\0tim\0tanstaaftanstaaf".to_vec())))
    );
}

#[test]
fn a_source_that_does_not_ask_fails_as_before() {
    struct Nothing;
    impl CredentialSource for Nothing {
        fn authcid(&self) -> Option<String> {
            None
        }
        fn password(&self) -> Option<Secret> {
            None
        }
    }
    let config = ClientConfig::new("imap", "mail.example.org", Arc::new(Nothing));
    let mut client = ClientSession::new(Arc::new(config));
    assert_eq!(
        client.start("PLAIN"),
        Err(Error::MissingCredential(CredentialKind::Authcid))
    );
    assert!(client.start("PLAIN").is_err(), "the failure is sticky");
}
