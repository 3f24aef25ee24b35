//! The security guarantees at the Rust level: randomness fresh in every process (forked
//! children included), and an unknown user that costs and looks like a known one from the
//! very first login of a fresh process.

use std::sync::Arc;

use puresasl::credentials::{Decoy, PasswordPolicy, set_password};
use puresasl::{
    Error, FixedRandom, MemoryStore, OsRandom, Random, ScramHash, ServerConfig, ServerSession,
    ServerStep,
};

unsafe extern "C" {
    fn fork() -> i32;
    fn pipe(fds: *mut i32) -> i32;
    fn read(fd: i32, buf: *mut u8, count: usize) -> isize;
    fn write(fd: i32, buf: *const u8, count: usize) -> isize;
    fn close(fd: i32) -> i32;
    fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
    fn _exit(status: i32) -> !;
}

/// Draws 32 bytes in a forked child and returns them to the parent.
fn draw_in_child(random: &dyn Random) -> [u8; 32] {
    let mut fds = [0i32; 2];
    // SAFETY: a valid two-element array.
    assert_eq!(unsafe { pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: the child only draws, writes to the pipe and exits (no locks, no allocation
    // by the test harness), which is sound after fork in a threaded process.
    let pid = unsafe { fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let mut bytes = [0u8; 32];
        random.fill(&mut bytes);
        // SAFETY: the pipe's write end and a valid buffer; _exit skips the harness's atexit.
        unsafe {
            write(fds[1], bytes.as_ptr(), bytes.len());
            _exit(0);
        }
    }
    let mut bytes = [0u8; 32];
    // SAFETY: the pipe's ends and a valid buffer; the child's pid.
    unsafe {
        close(fds[1]);
        assert_eq!(read(fds[0], bytes.as_mut_ptr(), bytes.len()), 32);
        close(fds[0]);
        waitpid(pid, std::ptr::null_mut(), 0);
    }
    bytes
}

#[test]
fn os_randomness_differs_in_every_forked_child() {
    // The parent draws first, as a daemon does at start-up before forking per connection.
    let mut parent = [0u8; 32];
    OsRandom.fill(&mut parent);
    let children: Vec<[u8; 32]> = (0..4).map(|_| draw_in_child(&OsRandom)).collect();
    for (i, a) in children.iter().enumerate() {
        assert_ne!(a, &parent);
        for b in children.iter().skip(i + 1) {
            assert_ne!(a, b, "two children drew the same bytes");
        }
    }
    // The nonce helper draws through the same path.
    assert_ne!(OsRandom.nonce(24), OsRandom.nonce(24));
}

fn keys_only_store() -> Arc<MemoryStore> {
    let store = MemoryStore::new();
    let policy = PasswordPolicy {
        keep_plaintext: false,
        scram_iterations: 5000,
        ..PasswordPolicy::default()
    };
    set_password(
        &store,
        "tim",
        "example.org",
        b"pw",
        &policy,
        &FixedRandom::new(1),
    )
    .unwrap();
    Arc::new(store)
}

fn config_on(store: Arc<MemoryStore>) -> Arc<ServerConfig> {
    Arc::new(
        ServerConfig::builder("imap", "example.org")
            .store(store)
            .build()
            .unwrap(),
    )
}

#[test]
fn a_fresh_process_learns_the_unknown_user_cost_from_the_store() {
    // No known user has logged in yet: the first unknown user must already cost a PBKDF2
    // derivation like every user of this keys-only store, not a cheap comparison: the
    // derivation a known user's check makes, with the cheapest of the stored hashes.
    let config = config_on(keys_only_store());
    assert_eq!(
        config.unknown_user_decoy(),
        Decoy::Derive {
            hash: ScramHash::Sha256,
            iterations: 5000
        }
    );
    let mut server = ServerSession::new(config);
    assert_eq!(
        server.start("PLAIN", Some(b"\0nobody\0pw")),
        Err(Error::AuthenticationFailed)
    );
}

#[test]
fn scram_unknown_users_get_the_known_users_iteration_count() {
    // The configured count is 4096, but this store's users have 5000: an unknown user must
    // show 5000 too, even in a fresh configuration.
    for user in ["nobody", "tim"] {
        let mut server = ServerSession::new(config_on(keys_only_store()));
        let first = format!("n,,n={user},r=clientnonce");
        let Ok(ServerStep::Continue(reply)) = server.start("SCRAM-SHA-256", Some(first.as_bytes()))
        else {
            panic!("no server-first for {user}");
        };
        let reply = String::from_utf8(reply).unwrap();
        assert!(reply.ends_with(",i=5000"), "{user}: {reply}");
    }
}

#[test]
fn a_scram_login_does_not_change_what_a_password_check_decoy_costs() {
    // The decoys describe a PLAIN/LOGIN check of a typical user (here PBKDF2 with the
    // cheapest stored hash); a SCRAM-SHA-256 login must not teach them its own hash, or an
    // unknown user's PLAIN check would cost a different PBKDF2 than a known user's.
    let store = keys_only_store();
    let expected = puresasl::credentials::CredentialView::new(store.as_ref(), "tim", "example.org")
        .cost()
        .unwrap();
    let config = config_on(store);
    let mut server = ServerSession::new(config.clone());
    assert!(matches!(
        server.start("SCRAM-SHA-256", Some(b"n,,n=tim,r=clientnonce")),
        Ok(ServerStep::Continue(_))
    ));
    assert_eq!(Some(config.unknown_user_decoy()), expected);
}
