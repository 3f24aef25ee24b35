//! Throwaway database servers for the SQL store tests: PostgreSQL 15 and MariaDB from the
//! Debian packages, each in its own temporary directory, listening on 127.0.0.1 (a free port)
//! and a unix socket in that directory, stopped by pid when dropped.
//!
//! PostgreSQL refuses to run as root, so its programs run as the `postgres` user through
//! `setpriv` (which execs, so the pid is the server's); MariaDB drops to `mysql` itself
//! (`--user=mysql`). Both get a real account with a password (`sasl`/`sasl-db-pw`) so the
//! store's `sql_user`/`sql_passwd` are exercised over TCP.

#![allow(clippy::print_stderr, reason = "skip notes")]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::interop::{available, find_tool};

/// The account the store logs in with.
pub const DB_USER: &str = "sasl";
/// Its password.
pub const DB_PASSWORD: &str = "sasl-db-pw";
/// The database.
pub const DB_NAME: &str = "sasl";

const POSTGRES_BIN: &str = "/usr/lib/postgresql/15/bin";
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A fresh directory under /tmp (short, for unix socket paths) owned by `owner`.
fn temp_dir(name: &str, owner: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("puresasl-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let status = Command::new("chown")
        .arg(format!("{owner}:"))
        .arg(&dir)
        .status()
        .unwrap();
    assert!(status.success(), "chown {owner} {}", dir.display());
    dir
}

fn run(command: &mut Command) -> String {
    let output = command.stdin(Stdio::null()).output().unwrap();
    assert!(
        output.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn wait_for_port(port: u16, child: &mut Child, what: &str) {
    let deadline = Instant::now() + START_TIMEOUT;
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("{what} exited during start-up: {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not listen on port {port} within {START_TIMEOUT:?}");
}

/// A self-signed certificate and key, `server.crt` and `server.key` in `dir`, owned by
/// `owner`; `false` without the `openssl` command.
fn self_signed(dir: &Path, owner: &str) -> bool {
    let Some(openssl) = find_tool("openssl") else {
        eprintln!("note: no openssl command, the SQL servers run without TLS");
        return false;
    };
    run(Command::new(openssl)
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=localhost", "-keyout"])
        .arg(dir.join("server.key"))
        .arg("-out")
        .arg(dir.join("server.crt")));
    run(Command::new("chown")
        .arg(format!("{owner}:"))
        .arg(dir.join("server.key"))
        .arg(dir.join("server.crt")));
    run(Command::new("chmod").arg("600").arg(dir.join("server.key")));
    true
}

/// Sends `signal` to `child` and waits for it to exit.
fn stop_child(child: &mut Child, signal: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if child.try_wait().ok().flatten().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A throwaway PostgreSQL 15 cluster.
pub struct Postgres {
    dir: PathBuf,
    /// The TCP port on 127.0.0.1.
    pub port: u16,
    /// Whether the server offers TLS (a self-signed certificate).
    pub tls: bool,
    child: Option<Child>,
}

impl Postgres {
    /// Initialises and starts a cluster with the `sasl` account and database; `None` (after
    /// the gate) when PostgreSQL 15 or `setpriv` is not installed.
    pub fn start() -> Option<Postgres> {
        let ok = Path::new(POSTGRES_BIN).join("initdb").is_file() && find_tool("setpriv").is_some();
        if !available("PostgreSQL 15 server (postgresql-15) and setpriv", ok) {
            return None;
        }
        let dir = temp_dir("pg", "postgres");
        run(Self::as_postgres(&format!("{POSTGRES_BIN}/initdb"))
            .args([
                "-D",
                "data",
                "-U",
                "postgres",
                "-A",
                "trust",
                "--auth-host=scram-sha-256",
            ])
            .args(["--no-sync", "-E", "UTF8", "--locale=C"])
            .current_dir(&dir));
        let tls = self_signed(&dir.join("data"), "postgres");
        let mut server = Postgres {
            dir,
            port: free_port(),
            tls,
            child: None,
        };
        server.resume();
        server.psql_in(
            "postgres",
            &format!("CREATE ROLE {DB_USER} LOGIN PASSWORD '{DB_PASSWORD}'"),
        );
        server.psql_in(
            "postgres",
            &format!("CREATE DATABASE {DB_NAME} OWNER {DB_USER}"),
        );
        Some(server)
    }

    fn as_postgres(program: &str) -> Command {
        let mut command = Command::new("setpriv");
        command
            .args([
                "--reuid=postgres",
                "--regid=postgres",
                "--init-groups",
                "--",
            ])
            .arg(program);
        command
    }

    /// The directory holding the server's unix socket.
    pub fn socket_dir(&self) -> &Path {
        &self.dir
    }

    /// Starts the server (again) on the same port.
    pub fn resume(&mut self) {
        let log = std::fs::File::create(self.dir.join("server.log")).unwrap();
        let mut child = Self::as_postgres(&format!("{POSTGRES_BIN}/postgres"))
            .args(["-D", "data", "-p", &self.port.to_string()])
            .arg("-k")
            .arg(&self.dir)
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
            .args(["-c", "log_statement=all", "-c", "log_connections=on"])
            .args(["-c", if self.tls { "ssl=on" } else { "ssl=off" }])
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        wait_for_port(self.port, &mut child, "postgres");
        self.child = Some(child);
        // The socket appears with the port; wait until the server accepts queries.
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            let ready = Command::new(format!("{POSTGRES_BIN}/pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("postgres not ready");
    }

    /// Stops the server (fast shutdown: clients are disconnected).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop_child(&mut child, "INT");
        }
    }

    /// Runs SQL as the superuser in the `sasl` database.
    pub fn psql(&self, sql: &str) -> String {
        self.psql_in(DB_NAME, sql)
    }

    /// Runs SQL as the superuser in `database`.
    pub fn psql_in(&self, database: &str, sql: &str) -> String {
        run(Self::as_postgres("/usr/bin/psql")
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .arg("-h")
            .arg(&self.dir)
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                database,
            ])
            .args(["-c", sql]))
    }

    /// The server's log (statements and connections).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A throwaway MariaDB server.
pub struct Mariadb {
    dir: PathBuf,
    /// The TCP port on 127.0.0.1.
    pub port: u16,
    /// Whether the server offers TLS (a self-signed certificate).
    pub tls: bool,
    child: Option<Child>,
}

impl Mariadb {
    /// Installs a data directory and starts a server with the `sasl` account and database;
    /// `None` (after the gate) when `mariadb-server` is not installed.
    pub fn start() -> Option<Mariadb> {
        let ok = find_tool("mariadbd").is_some()
            && find_tool("mariadb-install-db").is_some()
            && find_tool("mariadb").is_some();
        if !available("MariaDB server (mariadb-server)", ok) {
            return None;
        }
        let dir = temp_dir("maria", "mysql");
        run(Command::new(find_tool("mariadb-install-db").unwrap())
            .arg("--no-defaults")
            .arg(format!("--datadir={}", dir.join("data").display()))
            .args(["--user=mysql", "--auth-root-authentication-method=normal"])
            .args(["--skip-test-db", "--skip-name-resolve"]));
        let tls = self_signed(&dir, "mysql");
        let mut server = Mariadb {
            dir,
            port: free_port(),
            tls,
            child: None,
        };
        server.resume();
        server.sql(&format!(
            "CREATE DATABASE {DB_NAME}; \
             CREATE USER '{DB_USER}'@'127.0.0.1' IDENTIFIED BY '{DB_PASSWORD}'; \
             CREATE USER '{DB_USER}'@'localhost' IDENTIFIED BY '{DB_PASSWORD}'; \
             GRANT ALL ON {DB_NAME}.* TO '{DB_USER}'@'127.0.0.1'; \
             GRANT ALL ON {DB_NAME}.* TO '{DB_USER}'@'localhost';"
        ));
        Some(server)
    }

    /// The server's unix socket.
    pub fn socket(&self) -> PathBuf {
        self.dir.join("mysqld.sock")
    }

    /// Starts the server (again) on the same port.
    pub fn resume(&mut self) {
        let mut command = Command::new(find_tool("mariadbd").unwrap());
        // --no-defaults must come first.
        command.arg("--no-defaults");
        if self.tls {
            command
                .arg(format!(
                    "--ssl-cert={}",
                    self.dir.join("server.crt").display()
                ))
                .arg(format!(
                    "--ssl-key={}",
                    self.dir.join("server.key").display()
                ));
        }
        let mut child = command
            .arg(format!("--datadir={}", self.dir.join("data").display()))
            .arg(format!("--socket={}", self.socket().display()))
            .arg(format!(
                "--pid-file={}",
                self.dir.join("mysqld.pid").display()
            ))
            .arg(format!(
                "--log-error={}",
                self.dir.join("error.log").display()
            ))
            .arg(format!("--port={}", self.port))
            .args([
                "--bind-address=127.0.0.1",
                "--user=mysql",
                "--skip-name-resolve",
            ])
            .args([
                "--innodb-buffer-pool-size=16M",
                "--skip-log-bin",
                "--general-log=1",
            ])
            .arg(format!(
                "--general-log-file={}",
                self.dir.join("general.log").display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for_port(self.port, &mut child, "mariadbd");
        self.child = Some(child);
    }

    /// Stops the server.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop_child(&mut child, "TERM");
        }
    }

    /// Runs SQL as root over the socket.
    pub fn sql(&self, sql: &str) -> String {
        run(Command::new(find_tool("mariadb").unwrap())
            .arg("--no-defaults")
            .arg(format!("--socket={}", self.socket().display()))
            .args(["-u", "root", "-N", "-B", "-e", sql]))
    }

    /// The general query log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("general.log")).unwrap_or_default()
    }
}

impl Drop for Mariadb {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A TCP listener that accepts connections and never says a word: a host that stalls.
pub struct SilentHost {
    /// Its port on 127.0.0.1.
    pub port: u16,
    _listener: TcpListener,
}

impl SilentHost {
    /// Starts listening (the kernel completes the handshakes; nobody answers).
    pub fn new() -> SilentHost {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        SilentHost {
            port: listener.local_addr().unwrap().port(),
            _listener: listener,
        }
    }
}
