//! Injected randomness: nonces, salts and challenges come from a [`Random`] source the caller
//! can replace, so RFC transcripts replay byte for byte and fuzzers reach the last step.

use std::collections::VecDeque;
use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// A source of randomness for nonces, salts and challenges.
pub trait Random: Send + Sync {
    /// Fills `dest` with random bytes.
    fn fill(&self, dest: &mut [u8]);

    /// A printable nonce made of `len` characters from the base64 alphabet (so never `,`,
    /// `"` or whitespace), carrying at least `len * 6` bits of randomness.
    fn nonce(&self, len: usize) -> String {
        base64_nonce(self, len)
    }
}

/// The default [`Random::nonce`]: `len` base64 characters of fresh bytes from `random`.
fn base64_nonce<R: Random + ?Sized>(random: &R, len: usize) -> String {
    let mut bytes = vec![0u8; len.div_ceil(4) * 3];
    random.fill(&mut bytes);
    let mut text = STANDARD.encode(&bytes);
    text.truncate(len);
    text
}

/// The operating system's randomness, drawn from the kernel (`getrandom(2)`) at every call.
/// The default.
///
/// There is deliberately no user-space generator in between: a generator seeded once is
/// copied into every `fork()` child, which would then send the same nonces and challenges
/// (a captured login replays). Drawing from the kernel each time makes every process, forked
/// children included, see fresh bytes.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&self, dest: &mut [u8]) {
        // getrandom(2) does not fail on Linux once the pool is initialised (it blocks until
        // then); the crate retries EINTR itself. Should the kernel still refuse, predictable
        // bytes would be worse than stopping: nonces and salts must never repeat.
        for _ in 0..3 {
            if getrandom::fill(dest).is_ok() {
                return;
            }
        }
        std::process::abort();
    }
}

/// A deterministic source for tests and fuzzing: queued nonces are handed out first, in
/// order; after that, and for raw bytes, a fixed pseudo-random stream.
///
/// Never use it in production.
#[derive(Debug, Default)]
pub struct FixedRandom {
    nonces: Mutex<VecDeque<String>>,
    state: Mutex<u64>,
}

impl FixedRandom {
    /// A source whose byte stream starts from `seed`.
    pub fn new(seed: u64) -> Self {
        FixedRandom {
            nonces: Mutex::new(VecDeque::new()),
            state: Mutex::new(seed),
        }
    }

    /// A source that returns `nonces` in order from [`Random::nonce`] (ignoring the
    /// requested length), then falls back to the byte stream.
    pub fn with_nonces<I, S>(nonces: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        FixedRandom {
            nonces: Mutex::new(nonces.into_iter().map(Into::into).collect()),
            state: Mutex::new(0),
        }
    }
}

impl Random for FixedRandom {
    fn fill(&self, dest: &mut [u8]) {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for byte in dest {
            // SplitMix64: deterministic and well spread; not cryptographic.
            *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = *state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            *byte = (z ^ (z >> 31)).to_le_bytes()[0];
        }
    }

    fn nonce(&self, len: usize) -> String {
        let queued = self
            .nonces
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop_front();
        queued.unwrap_or_else(|| base64_nonce(self, len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_nonces_are_printable_and_differ() {
        let a = OsRandom.nonce(24);
        let b = OsRandom.nonce(24);
        assert_eq!(a.len(), 24);
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| c.is_ascii_graphic() && c != b','));
    }

    #[test]
    fn fixed_random_replays() {
        let r = FixedRandom::with_nonces(["abc"]);
        assert_eq!(r.nonce(10), "abc");
        let next = r.nonce(10);
        assert_eq!(next.len(), 10);
        let again = FixedRandom::with_nonces(["abc"]);
        again.nonce(10);
        assert_eq!(again.nonce(10), next);
    }
}
