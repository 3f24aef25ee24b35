//! The server side shared by the mechanisms that are one client message and a verdict
//! (PLAIN, ANONYMOUS, EXTERNAL): the message comes as the initial response, or as the answer
//! to an empty challenge; anything after it is a protocol error.

use crate::error::{Error, ProtocolError};
use crate::mech::context::ServerContext;
use crate::mech::{ServerMechanism, ServerOutput};

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
