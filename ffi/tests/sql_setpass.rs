//! Writing users to SQL through the C library (issue 11): `sasl_setpass` from a C program
//! (`c/sql_setpass.c`) and Cyrus's own `saslpasswd2`, both on our `libsasl2.so.2` with
//! `auxprop_plugin: sql`, against an SQLite file and a throwaway PostgreSQL 15 (the core's
//! harness, `tests/sql/harness.rs`, one instance for this binary). The user names and
//! passwords carry quotes, backslashes and SQL: they must be stored literally (bound
//! parameters; CVE-2022-24407 was Cyrus's `%v` substituted unescaped) and a canary table must
//! survive.
//!
//! Cyrus's build of the C program is compiled too (the same source for both libraries), but
//! run only where Debian's `libsasl2-modules-sql` is installed: CI does not install it, since
//! its presence changes Cyrus's behaviour in the other tests (Cyrus asks every installed
//! auxprop plugin). Peers that are missing fail the test under `CI` and skip it otherwise.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "test code"
)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

mod common;
use common::{ffi_dir, link_library, profile_dir, text};

#[path = "../../tests/sql/harness.rs"]
#[allow(dead_code, reason = "the MariaDB half is for the core's tests")]
mod harness;

/// What the PostgreSQL harness needs from the core's `tests/interop`.
mod interop {
    use std::path::PathBuf;

    /// Whether a peer can run: if not, fails under `CI` and skips with a note otherwise.
    pub fn available(what: &str, ok: bool) -> bool {
        if !ok {
            crate::skip(&format!("{what} is missing"));
        }
        ok
    }

    /// `tool` on `PATH` or in the system directories.
    pub fn find_tool(tool: &str) -> Option<PathBuf> {
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
            .map(|dir| dir.join(tool))
            .find(|candidate| candidate.is_file())
    }
}

fn skip(why: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{why} (required in CI)");
    }
    println!("note: skipping: {why}");
}

const REALM: &str = "example.org";
const SELECT: &str = "SELECT %p FROM users WHERE username = '%u' AND realm = '%r'";
const INSERT: &str = "INSERT INTO users (username, realm, %p) VALUES ('%u', '%r', '%v')";
const UPDATE: &str = "UPDATE users SET %p = '%v' WHERE username = '%u' AND realm = '%r'";
const SCHEMA: &str = "CREATE TABLE users (username text NOT NULL, realm text NOT NULL, \
                      userPassword text, PRIMARY KEY (username, realm)); \
                      CREATE TABLE canary (x integer); INSERT INTO canary VALUES (42);";

/// A user name and passwords a string-substituting store would turn into SQL.
const HOSTILE_USER: &str = r"o'bri\en";
const HOSTILE_FIRST: &str = r#"pw'); DROP TABLE canary; --"#;
const HOSTILE_SECOND: &str = r#"x' WHERE 1=1; UPDATE users SET userPassword='owned' -- \"#;

fn scratch(name: &str) -> PathBuf {
    let dir = profile_dir().join("ffi-tests").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn compile(output: &Path, library: Option<&Path>) {
    let mut cc = Command::new("cc");
    cc.args(["-std=c11", "-g", "-O1", "-Wall", "-Wextra", "-Werror"])
        .arg("-Wno-cast-function-type")
        .arg("-o")
        .arg(output)
        .arg(ffi_dir().join("tests/c/sql_setpass.c"));
    match library {
        Some(dir) => {
            let include = ffi_dir().parent().unwrap().join("include");
            cc.arg(format!("-I{}", include.display()))
                .arg(format!("-L{}", dir.display()))
                .arg("-l:libsasl2.so.2");
        }
        None => {
            cc.arg("-DCYRUS").arg("-lsasl2");
        }
    }
    let out = cc.output().unwrap();
    assert!(
        out.status.success(),
        "compiling sql_setpass.c: {}",
        text(&out)
    );
}

/// The `sql_*` options of a store; `connection` holds the engine's own lines.
fn options(connection: &str) -> String {
    format!(
        "auxprop_plugin: sql\n{connection}sql_select: {SELECT}\nsql_insert: {INSERT}\n\
         sql_update: {UPDATE}\n"
    )
}

fn run(program: &Path, library: &Path, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .env("LD_LIBRARY_PATH", library)
        .output()
        .unwrap()
}

fn assert_all_ok(out: &Output, what: &str) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("ok ") && !stdout.contains("FAIL"),
        "{what}: {}",
        text(out)
    );
}

/// `saslpasswd2 FLAGS -u REALM USER` (Cyrus's tool) on our library with `saslpasswd.conf`
/// in `conf_dir`.
fn saslpasswd2(library: &Path, conf_dir: &Path, user: &str, password: &str, flags: &[&str]) {
    let mut child = Command::new("/usr/sbin/saslpasswd2")
        .args(flags)
        .args(["-u", REALM])
        .arg(user)
        .env("LD_LIBRARY_PATH", library)
        .env("SASL_CONF_PATH", conf_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(password.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "saslpasswd2 {user}: {}", text(&out));
}

/// One engine: `query` runs SQL as the administrator and returns its output.
fn writes_through(
    engine: &str,
    connection: &str,
    query: &dyn Fn(&str) -> String,
    programs: &[(PathBuf, Option<&Path>)],
    ours: &Path,
) {
    let dir = scratch(&format!("sql-setpass-{engine}"));
    let options_file = dir.join("options");
    std::fs::write(&options_file, options(connection)).unwrap();
    let options_arg = options_file.to_str().unwrap();
    let value = |user: &str| {
        query(&format!(
            "SELECT coalesce(userPassword, '<NULL>') FROM users WHERE username = '{}'",
            user.replace('\'', "''")
        ))
        .trim_end_matches('\n')
        .to_owned()
    };

    for (program, library) in programs {
        let library = library.unwrap_or(ours);
        let out = run(
            program,
            library,
            &[
                options_arg,
                HOSTILE_USER,
                "set",
                HOSTILE_FIRST,
                HOSTILE_SECOND,
            ],
        );
        assert_all_ok(&out, &format!("{engine}: set"));
        assert_eq!(
            value(HOSTILE_USER),
            HOSTILE_SECOND,
            "{engine}: stored literally"
        );
        assert_eq!(
            query("SELECT x FROM canary").trim(),
            "42",
            "{engine}: canary"
        );
        assert_eq!(query("SELECT count(*) FROM users").trim(), "1", "{engine}");
        let out = run(program, library, &[options_arg, HOSTILE_USER, "disable"]);
        assert_all_ok(&out, &format!("{engine}: disable"));
        assert_eq!(value(HOSTILE_USER), "<NULL>", "{engine}: disabled is NULL");
        query("DELETE FROM users");
    }

    // Cyrus's saslpasswd2 on our library, configured by saslpasswd.conf.
    if Path::new("/usr/sbin/saslpasswd2").is_file() {
        std::fs::write(dir.join("saslpasswd.conf"), options(connection)).unwrap();
        saslpasswd2(ours, &dir, "carol", "carol's \"pw\" \\", &["-p", "-c"]);
        assert_eq!(value("carol"), "carol's \"pw\" \\", "{engine}: saslpasswd2");
        saslpasswd2(ours, &dir, "carol", "second", &["-p"]);
        assert_eq!(value("carol"), "second", "{engine}: saslpasswd2 update");
        assert_eq!(query("SELECT count(*) FROM users").trim(), "1", "{engine}");
        saslpasswd2(ours, &dir, "carol", "", &["-d"]);
        assert_eq!(value("carol"), "<NULL>", "{engine}: saslpasswd2 -d");
        assert_eq!(
            query("SELECT x FROM canary").trim(),
            "42",
            "{engine}: canary"
        );
    } else {
        skip("/usr/sbin/saslpasswd2 (sasl2-bin) is missing");
    }
}

#[test]
fn setpass_and_saslpasswd2_write_users_to_sql() {
    if Command::new("cc").arg("--version").output().is_err()
        || !Path::new("/usr/include/sasl/sasl.h").is_file()
    {
        skip("cc or Cyrus's headers (libsasl2-dev) are missing");
        return;
    }
    let ours = link_library("lib-sql-setpass");
    let dir = scratch("sql-setpass");
    let program = dir.join("sql_setpass");
    compile(&program, Some(&ours));
    let cyrus = dir.join("sql_setpass-cyrus");
    compile(&cyrus, None);
    let mut programs = vec![(program, None)];
    if Path::new("/usr/lib/x86_64-linux-gnu/sasl2/libsql.so.2").is_file() {
        // Cyrus's sql plugin installed: the same checks on Cyrus's library (its sqlite3
        // engine never INSERTs, reference sql-crypt-authdaemond.md §1.8, so PostgreSQL only).
        programs.push((cyrus, Some(Path::new("/nonexistent"))));
    }

    // SQLite.
    if interop::find_tool("sqlite3").is_some() {
        let db = dir.join("users.db");
        let query = |sql: &str| {
            let out = Command::new("sqlite3").arg(&db).arg(sql).output().unwrap();
            assert!(out.status.success(), "sqlite3 {sql}: {}", text(&out));
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        query(SCHEMA);
        let connection = format!("sql_engine: sqlite3\nsql_database: {}\n", db.display());
        writes_through("sqlite3", &connection, &query, &programs[..1], &ours);
    } else {
        skip("sqlite3 (the command-line tool) is missing");
    }

    // PostgreSQL.
    if let Some(pg) = harness::Postgres::start() {
        pg.psql(&format!(
            "{SCHEMA} ALTER TABLE users OWNER TO {0}; ALTER TABLE canary OWNER TO {0};",
            harness::DB_USER
        ));
        let connection = format!(
            "sql_engine: pgsql\nsql_hostnames: 127.0.0.1:{}\nsql_user: {}\nsql_passwd: {}\n\
             sql_database: {}\n",
            pg.port,
            harness::DB_USER,
            harness::DB_PASSWORD,
            harness::DB_NAME
        );
        let query = |sql: &str| pg.psql(sql);
        writes_through("pgsql", &connection, &query, &programs, &ours);
    }
}
