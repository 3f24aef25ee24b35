//! Buffers handed to C whose address outlives every later call on the connection.
//!
//! Cyrus hands applications pointers into fixed per-connection buffers (the user name, the
//! mechanism list, the error detail, the last output): the bytes change with later calls, but
//! the pointer stays readable until `sasl_dispose`, and applications rely on that (they keep
//! `SASL_USERNAME` across further calls). A [`StableBuffer`] gives the same guarantee with
//! bounded memory: new contents are written in place; a longer one moves to an allocation at
//! least twice as large and the old allocation, zeroed, stays owned until the buffer is
//! dropped. Memory is at most about twice the largest content, whatever the number of calls.

use std::ffi::c_char;

use zeroize::Zeroize as _;

/// A NUL-terminated buffer whose every address handed out stays valid while it lives.
#[derive(Default)]
pub struct StableBuffer {
    current: Vec<u8>,
    retired: Vec<Vec<u8>>,
}

impl StableBuffer {
    /// Smallest allocation, so short strings never move.
    const MIN_CAPACITY: usize = 256;

    /// Replaces the contents with `data` and a NUL; returns the address of the first byte.
    /// Earlier contents are zeroed (they may have carried a password).
    pub fn publish(&mut self, data: &[u8]) -> *const c_char {
        let needed = data.len().saturating_add(1);
        if needed > self.current.capacity() {
            let capacity = needed
                .max(self.current.capacity().saturating_mul(2))
                .max(Self::MIN_CAPACITY);
            let mut old = std::mem::replace(&mut self.current, Vec::with_capacity(capacity));
            if old.capacity() > 0 {
                old.zeroize();
                self.retired.push(old);
            }
        }
        // Only the bytes in use: the spare capacity is zero already (every earlier content
        // was wiped here), and wiping all of it made each small call cost the largest one.
        self.current.as_mut_slice().zeroize();
        self.current.clear();
        self.current.extend_from_slice(data);
        self.current.push(0);
        self.current.as_ptr().cast()
    }
}

impl Drop for StableBuffer {
    fn drop(&mut self) {
        self.current.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_stay_readable_and_memory_stays_bounded() {
        let mut buffer = StableBuffer::default();
        let first = buffer.publish(b"alice");
        for len in 0..10_000usize {
            let data = vec![b'x'; len % 3000];
            let _ = buffer.publish(&data);
        }
        // The first address is still owned by the buffer (retired or current).
        let owned = std::iter::once(&buffer.current)
            .chain(&buffer.retired)
            .any(|v| v.as_ptr().cast::<c_char>() == first);
        assert!(owned);
        assert!(buffer.retired.len() < 8, "{} retired", buffer.retired.len());
        let bob = buffer.publish(b"bob");
        assert_eq!(bob, buffer.current.as_ptr().cast::<c_char>());
        assert_eq!(buffer.current, b"bob\0");
    }
}
