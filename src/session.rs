//! What the server and client sessions share: the exchange state and the negotiated security
//! layer's plumbing.

use crate::error::Error;
use crate::mech::{MechanismInfo, SecurityLayer};

/// Where one exchange stands; `M` is the side's mechanism object. Errors are sticky: once
/// `Failed`, every later call returns the same error.
pub(crate) enum State<M> {
    /// Not started.
    Idle,
    /// The mechanism is running.
    Running(&'static MechanismInfo, M),
    /// The exchange finished successfully.
    Done(&'static MechanismInfo),
    /// The exchange failed; the error is returned again on every later call.
    Failed(Error),
}

impl<M> State<M> {
    /// The mechanism in use, once started (none after a failure).
    pub fn mechanism(&self) -> Option<&'static str> {
        match self {
            State::Running(info, _) | State::Done(info) => Some(info.name),
            State::Idle | State::Failed(_) => None,
        }
    }

    /// Records `error` as the sticky outcome and returns it.
    pub fn fail<T>(&mut self, error: Error) -> Result<T, Error> {
        *self = State::Failed(error.clone());
        Err(error)
    }
}

/// The negotiated security layer, if any: with none, data passes through as a copy.
#[derive(Default)]
pub(crate) struct Layer(Option<Box<dyn SecurityLayer>>);

impl Layer {
    /// Installs the layer a mechanism negotiated.
    pub fn set(&mut self, layer: Option<Box<dyn SecurityLayer>>) {
        self.0 = layer;
    }

    /// The security strength factor of the negotiated layer (0 if none).
    pub fn ssf(&self) -> u32 {
        self.0.as_ref().map_or(0, |layer| layer.ssf())
    }

    /// The most plaintext bytes one packet carries: the layer's limit, else `max_buf_size`
    /// from the application's security properties.
    pub fn max_outbuf(&self, max_buf_size: u32) -> u32 {
        self.0
            .as_ref()
            .map_or(max_buf_size, |layer| layer.max_outbuf())
    }

    /// Protects outgoing application data (a copy if no layer). Data longer than the layer's
    /// `max_outbuf` goes out as as many packets as needed, one after the other (as Cyrus's
    /// `sasl_encode` does: LDAP hands it 150 KB at a time).
    pub fn encode(&mut self, data: &[u8]) -> Result<Vec<u8>, Error> {
        match &mut self.0 {
            Some(layer) => {
                let limit = usize::try_from(layer.max_outbuf())
                    .unwrap_or(usize::MAX)
                    .max(1);
                if data.len() <= limit {
                    return layer.encode(data);
                }
                let mut out = Vec::with_capacity(data.len() + data.len() / limit * 32 + 32);
                for packet in data.chunks(limit) {
                    out.extend_from_slice(&layer.encode(packet)?);
                }
                Ok(out)
            }
            None => Ok(data.to_vec()),
        }
    }

    /// Unwraps incoming application data (a copy if no layer).
    pub fn decode(&mut self, data: &[u8]) -> Result<Vec<u8>, Error> {
        match &mut self.0 {
            Some(layer) => layer.decode(data),
            None => Ok(data.to_vec()),
        }
    }
}
