//! Both sides shared by the mechanisms that are one client message and a verdict (PLAIN,
//! ANONYMOUS, EXTERNAL): the message goes as the initial response, or as the answer to an
//! empty challenge; anything after it is a protocol error.

use zeroize::Zeroizing;

use crate::error::{Error, ProtocolError};
use crate::mech::context::{ClientContext, ServerContext};
use crate::mech::{ClientMechanism, ClientOutput, ServerMechanism, ServerOutput};

/// Checks the client's message and gives the verdict.
pub(crate) type Verify = fn(&mut ServerContext<'_>, &[u8]) -> Result<ServerOutput, Error>;

/// Says whether the exchange may wait for the message (EXTERNAL: only with an external
/// identity); `Ok` for the others.
pub(crate) type MayWait = fn(&ServerContext<'_>) -> Result<(), Error>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    ExpectMessage,
    Finished,
}

/// A server expecting one message (see the module docs).
pub(crate) struct SingleMessageServer {
    state: State,
    verify: Verify,
    may_wait: MayWait,
}

impl SingleMessageServer {
    /// A server whose message `verify` checks.
    pub(crate) fn new(verify: Verify) -> Self {
        Self::checking_first(verify, |_| Ok(()))
    }

    /// Also asks `may_wait` before sending the empty challenge.
    pub(crate) fn checking_first(verify: Verify, may_wait: MayWait) -> Self {
        SingleMessageServer {
            state: State::Start,
            verify,
            may_wait,
        }
    }
}

impl ServerMechanism for SingleMessageServer {
    fn start(
        &mut self,
        ctx: &mut ServerContext<'_>,
        initial: Option<&[u8]>,
    ) -> Result<ServerOutput, Error> {
        match (std::mem::replace(&mut self.state, State::Finished), initial) {
            (State::Start, Some(message)) => (self.verify)(ctx, message),
            (State::Start, None) => {
                (self.may_wait)(ctx)?;
                self.state = State::ExpectMessage;
                Ok(ServerOutput::Challenge(Vec::new()))
            }
            _ => Err(ProtocolError::UnexpectedMessage.into()),
        }
    }

    fn step(
        &mut self,
        ctx: &mut ServerContext<'_>,
        response: &[u8],
    ) -> Result<ServerOutput, Error> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::ExpectMessage => (self.verify)(ctx, response),
            _ => Err(ProtocolError::UnexpectedMessage.into()),
        }
    }
}

/// Builds the client's message from its credentials.
pub(crate) type Compose = fn(&mut ClientContext<'_>) -> Result<Vec<u8>, Error>;

/// A client sending one message (see the module docs). The message may hold a password
/// (PLAIN): it is wiped when the client is dropped.
pub(crate) struct SingleMessageClient {
    compose: Compose,
    message: Option<Zeroizing<Vec<u8>>>,
}

impl SingleMessageClient {
    /// A client whose message `compose` builds.
    pub(crate) fn new(compose: Compose) -> Self {
        SingleMessageClient {
            compose,
            message: None,
        }
    }
}

impl ClientMechanism for SingleMessageClient {
    fn start(&mut self, ctx: &mut ClientContext<'_>) -> Result<Option<Vec<u8>>, Error> {
        let message = Zeroizing::new((self.compose)(ctx)?);
        let initial = message.to_vec();
        self.message = Some(message);
        Ok(Some(initial))
    }

    fn done_after_initial_response(&self) -> bool {
        true
    }

    /// Answers a server that did not take the initial response and sent an empty
    /// challenge instead.
    fn step(
        &mut self,
        _ctx: &mut ClientContext<'_>,
        challenge: &[u8],
    ) -> Result<ClientOutput, Error> {
        match self.message.take_if(|_| challenge.is_empty()) {
            Some(message) => Ok(ClientOutput::Done {
                response: Some(message.to_vec()),
                layer: None,
            }),
            None => Err(ProtocolError::UnexpectedMessage.into()),
        }
    }
}
