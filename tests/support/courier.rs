//! Real daemons in their own mount and pid namespaces, above all Courier's authdaemond
//! (courier-authdaemon with its userdb module). Shared by the core's `tests/pwcheck.rs` and
//! the C library's `ffi/tests/postfix.rs`, each including this file with
//! `#[path = ".."] mod courier;`, so it uses nothing but std.
//!
//! Courier's paths are compiled in (`/etc/courier`, `/run/courier/authdaemon`), so the set-up
//! script binds a scratch directory over them inside a private mount namespace. The socket
//! the daemon makes at `/run/courier/authdaemon/socket` is then the file `DIR/run/socket` of
//! that scratch directory, reachable from outside the namespace too (a unix socket is found
//! through its inode, whatever mount it was bound through).

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers; each test crate uses its own subset"
)]

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills a child process (ours, by its pid) when dropped.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `tool` on PATH or in the sbin directories.
pub fn find_tool(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(tool))
        .find(|candidate| candidate.is_file())
}

/// Why we may not make mount and pid namespaces (we need root; CI runs as root), if so.
pub fn unshare_missing() -> Option<&'static str> {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout == b"0\n");
    if !root {
        Some("root, for a private mount namespace")
    } else if find_tool("unshare").is_none() {
        Some("unshare (util-linux)")
    } else {
        None
    }
}

/// A fresh directory for a namespaced daemon (in /tmp: socket paths must be short), with
/// the `run` directory the daemon's socket goes in.
pub fn daemon_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("puresasl-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("run")).unwrap();
    // Whatever the umask: clients of other users must get to the socket.
    for path in [&dir, &dir.join("run")] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

/// A throwaway daemon in its own mount and pid namespace, run by `sh DIR/setup.sh DIR`: its
/// socket, and the guard that kills it (and with it the whole namespace). Dropping it also
/// removes its directory. It can be stopped and started again on the same directory.
pub struct NamespacedDaemon {
    /// The daemon's socket, as seen from outside the namespace.
    pub socket: PathBuf,
    /// The scratch directory (the script, its log, what the script binds).
    pub dir: PathBuf,
    daemon: Option<ChildGuard>,
}

impl NamespacedDaemon {
    /// Writes `setup` to `dir/setup.sh`, runs it in new namespaces and waits (20 s at most)
    /// for the daemon's socket `dir/run/<socket>` to accept.
    pub fn start(dir: PathBuf, setup: &str, socket: &str) -> NamespacedDaemon {
        std::fs::write(dir.join("setup.sh"), setup).unwrap();
        let mut daemon = NamespacedDaemon {
            socket: dir.join("run").join(socket),
            dir,
            daemon: None,
        };
        daemon.restart();
        daemon
    }

    /// Whether the daemon (as far as we know) runs.
    pub fn running(&self) -> bool {
        self.daemon.is_some()
    }

    /// Kills the namespace and waits until its socket refuses connections (the socket file
    /// stays, as after a crash).
    pub fn stop(&mut self) {
        drop(self.daemon.take());
        let started = Instant::now();
        while UnixStream::connect(&self.socket).is_ok() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the daemon at {} did not stop",
                self.socket.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the daemon again (stopping it first if it runs), with the same script.
    pub fn restart(&mut self) {
        if self.running() {
            self.stop();
        }
        let log = std::fs::File::create(self.dir.join("log")).unwrap();
        // --kill-child: when unshare dies (the guard's SIGKILL), the kernel kills the
        // namespace's first process, and with it every process of the pid namespace.
        // (unshare --fork ignores SIGTERM, so only SIGKILL stops it.)
        self.daemon = Some(ChildGuard(
            Command::new(find_tool("unshare").unwrap())
                .args(["--mount", "--pid", "--fork", "--kill-child"])
                .args(["--propagation", "private", "sh"])
                .arg(self.dir.join("setup.sh"))
                .arg(&self.dir)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap(),
        ));
        let started = Instant::now();
        while UnixStream::connect(&self.socket).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the daemon did not start: {}",
                std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for NamespacedDaemon {
    fn drop(&mut self) {
        drop(self.daemon.take());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The daemon proper (Debian's `/usr/sbin/authdaemond` is only its start/stop wrapper).
pub const AUTHDAEMOND: &str = "/usr/lib/courier/courier-authlib/authdaemond";
/// The userdb module (courier-authlib-userdb).
pub const USERDB_MODULE: &str = "/usr/lib/courier-authlib/libauthuserdb.so";

/// The users the real authdaemond knows: (login name, password). A qualified name and a
/// bare one, as Cyrus sends them with and without a `user_realm`.
pub const USERS: [(&str, &str); 2] = [("alice@example.org", "wonderland"), ("carol", "carols pw")];

/// The setup run inside the new namespaces: Courier's compiled-in paths (`/etc/courier`,
/// `/run/courier/authdaemon`) bound to the scratch directory, the [`USERS`] made with
/// `userdb`, `userdbpw` and `makeuserdb` (again on a restart: `userdb set` replaces), then
/// the daemon in the foreground.
const AUTHDAEMOND_SETUP: &str = r#"set -e
mount --bind "$1/etc" /etc/courier
mount --bind "$1/run" /run/courier/authdaemon
HASH=$(printf 'wonderland\nwonderland\n' | userdbpw -md5)
userdb alice@example.org set uid=1000 gid=1000 home=/nonexistent "systempw=$HASH"
HASH=$(printf 'carols pw\ncarols pw\n' | userdbpw -md5)
userdb carol set uid=1001 gid=1001 home=/nonexistent "systempw=$HASH"
makeuserdb
exec /usr/lib/courier/courier-authlib/authdaemond
"#;

/// `daemons` is the number of worker processes answering at once.
fn authdaemonrc(daemons: u32) -> String {
    format!(
        "authmodulelist=\"authuserdb\"\n\
         authmodulelistorig=\"authuserdb\"\n\
         daemons={daemons}\n\
         authdaemonvar=/run/courier/authdaemon\n\
         DEBUG_LOGIN=0\n\
         DEFAULTOPTIONS=\"\"\n\
         LOGGEROPTS=\"\"\n"
    )
}

/// What is missing to run the real authdaemond, if anything.
pub fn authdaemond_missing() -> Option<&'static str> {
    let installed = [AUTHDAEMOND, USERDB_MODULE]
        .iter()
        .all(|path| Path::new(path).exists())
        && ["userdb", "userdbpw", "makeuserdb"]
            .iter()
            .all(|tool| find_tool(tool).is_some());
    if installed {
        unshare_missing()
    } else {
        Some("Courier authdaemond (courier-authdaemon, courier-authlib-userdb)")
    }
}

/// Starts the real authdaemond with `daemons` workers in the scratch directory `name`
/// (check [`authdaemond_missing`] first). Its socket is `DIR/run/socket`; every directory on
/// the way is world-traversable and the socket world-writable (Courier makes it 0777), so
/// unprivileged clients such as Postfix's smtpd reach it.
pub fn start_authdaemond(name: &str, daemons: u32) -> NamespacedDaemon {
    let dir = daemon_dir(name);
    std::fs::create_dir_all(dir.join("etc")).unwrap();
    std::fs::write(dir.join("etc/authdaemonrc"), authdaemonrc(daemons)).unwrap();
    NamespacedDaemon::start(dir, AUTHDAEMOND_SETUP, "socket")
}
