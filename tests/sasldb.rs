//! sasldb2 files against the real Cyrus and Berkeley DB tools, in both directions, plus crash
//! safety and concurrency of updates.
//!
//! Peers: `saslpasswd2`, `sasldblistusers2` (sasl2-bin), `db5.3_dump`, `db5.3_verify`,
//! `db5.3_load` (db5.3-util), and a tiny C program linked with Cyrus's libsasl2
//! (libsasl2-dev) calling `sasl_checkpass` through the sasldb auxprop plugin. A missing peer
//! fails the test when `CI` is set and skips it with a note otherwise.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    reason = "test helpers"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use puresasl::auxprop::{Auxprop, property};
use puresasl::credentials::{CredentialView, PasswordCheck};
use puresasl::error::StoreError;
use puresasl::sasldb::SasldbStore;
use puresasl::secret::Secret;
use puresasl::unstable::bdb_hash::{ByteOrder, HashDb};

use crate::interop::{Cyrus, compile_c, have, have_all, run_with_input, saslpasswd2, scratch};

type Pairs = BTreeMap<Vec<u8>, Vec<u8>>;

fn key(user: &str, realm: &str, property: &str) -> Vec<u8> {
    puresasl::sasldb::key(user, realm, property).unwrap()
}

fn run(command: &mut Command) -> String {
    let output = command.output().unwrap();
    assert!(output.status.success(), "{command:?} failed: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// Decodes one `db_dump -p` line (backslash escapes: `\\` and `\xx` hex).
fn unescape(line: &str) -> Vec<u8> {
    let bytes = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            if bytes[i + 1] == b'\\' {
                out.push(b'\\');
                i += 2;
            } else {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            }
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// The pairs `db5.3_dump -p` prints.
fn db_dump(file: &Path) -> Pairs {
    let text = run(Command::new("db5.3_dump").arg("-p").arg(file));
    let data = text.split_once("HEADER=END\n").unwrap().1;
    let lines: Vec<&str> = data
        .lines()
        .take_while(|line| *line != "DATA=END")
        .collect();
    assert_eq!(lines.len() % 2, 0);
    let mut pairs = Pairs::new();
    for pair in lines.chunks(2) {
        let key = unescape(pair[0].strip_prefix(' ').unwrap());
        let value = unescape(pair[1].strip_prefix(' ').unwrap());
        assert!(pairs.insert(key, value).is_none(), "duplicate key in dump");
    }
    pairs
}

/// Writes `pairs` in `db_dump -p` format and loads them with `db5.3_load` (libdb's own
/// `DB->put` path, as saslpasswd2 uses, with libdb's default table size).
fn db_load(file: &Path, pairs: &Pairs, extra: &[&str]) {
    let mut text = String::from("VERSION=3\nformat=print\ntype=hash\nHEADER=END\n");
    let escape = |bytes: &[u8]| -> String {
        bytes
            .iter()
            .map(|&b| match b {
                b'\\' => "\\\\".to_owned(),
                0x20..=0x7e => (b as char).to_string(),
                _ => format!("\\{b:02x}"),
            })
            .collect()
    };
    for (key, value) in pairs {
        text.push_str(&format!(" {}\n {}\n", escape(key), escape(value)));
    }
    text.push_str("DATA=END\n");
    let dump = file.with_extension("dump");
    std::fs::write(&dump, text).unwrap();
    run(Command::new("db5.3_load")
        .args(extra)
        .arg("-f")
        .arg(&dump)
        .arg(file));
}

/// `db5.3_verify` must print nothing but its "succeeded" line (order diagnostics otherwise).
fn verify(file: &Path) {
    let output = Command::new("db5.3_verify").arg(file).output().unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "verify failed: {all}");
    let expected = format!("BDB5105 Verification of {} succeeded.", file.display());
    assert!(
        all.trim() == expected,
        "verify printed diagnostics: {}",
        all.chars().take(2000).collect::<String>()
    );
}

/// Everything our reader sees, as pairs.
fn our_pairs(file: &Path) -> Pairs {
    let db = HashDb::parse(std::fs::read(file).unwrap()).unwrap();
    let pairs: Pairs = db
        .pairs()
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k, v.to_vec()))
        .collect();
    for (key, value) in &pairs {
        assert_eq!(db.get(key).unwrap().as_deref(), Some(value));
    }
    pairs
}

fn lookup(store: &dyn Auxprop, user: &str, realm: &str) -> Option<Vec<u8>> {
    let values = store.lookup(user, realm, property::USER_PASSWORD).unwrap();
    assert!(values.len() <= 1);
    values.first().map(|v| v.expose().to_vec())
}

/// Users in three realms, some with long passwords (inline 1024, overflow 1025 and 5000).
fn user_set(count: usize) -> Vec<(String, String, Vec<u8>)> {
    let mut users: Vec<(String, String, Vec<u8>)> = (0..count)
        .map(|i| {
            (
                format!("user{i}"),
                format!("realm{}.example", i % 3),
                format!("pass-{i}-{}", "x".repeat(i % 17)).into_bytes(),
            )
        })
        .collect();
    for len in [1024, 1025, 2048] {
        users.push((
            format!("long{len}"),
            "realm0.example".into(),
            (0..len).map(|i| b'a' + (i % 26) as u8).collect(),
        ));
    }
    users
}

fn as_pairs(users: &[(String, String, Vec<u8>)]) -> Pairs {
    users
        .iter()
        .map(|(u, r, p)| (key(u, r, property::USER_PASSWORD), p.clone()))
        .collect()
}

const CHECKPASS_C: &str = r#"
#include <stdio.h>
#include <string.h>
#include <sasl/sasl.h>
static const char *db;
static int getopt_cb(void *c, const char *plugin, const char *opt, const char **res, unsigned *len) {
    (void)c; (void)plugin;
    if (!strcmp(opt, "sasldb_path")) *res = db;
    else if (!strcmp(opt, "pwcheck_method")) *res = "auxprop";
    else if (!strcmp(opt, "auxprop_plugin")) *res = "sasldb";
    else return SASL_FAIL;
    if (len) *len = strlen(*res);
    return SASL_OK;
}
int main(int argc, char **argv) {
    static sasl_callback_t cb[] = {
        {SASL_CB_GETOPT, (int (*)(void))getopt_cb, NULL}, {SASL_CB_LIST_END, NULL, NULL}};
    static char line[16384];
    if (argc != 2) return 2;
    db = argv[1];
    if (sasl_server_init(cb, "puresasltest") != SASL_OK) return 3;
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = 0;
        char *user = strtok(line, "\t"), *realm = strtok(NULL, "\t"), *pw = strtok(NULL, "\t");
        sasl_conn_t *conn;
        if (!user || !realm || !pw) return 4;
        if (sasl_server_new("imap", "localhost", realm, NULL, NULL, cb, 0, &conn) != SASL_OK) return 5;
        printf("%d\n", sasl_checkpass(conn, user, strlen(user), pw, strlen(pw)));
        sasl_dispose(&conn);
    }
    sasl_done();
    return 0;
}
"#;

/// Compiles the libsasl2 checker, or `None` (after the gate) when the compiler or the
/// headers are missing.
fn checkpass_program(dir: &Path) -> Option<PathBuf> {
    let source = dir.join("checkpass.c");
    std::fs::write(&source, CHECKPASS_C).unwrap();
    compile_c(&source, &dir.join("checkpass"), "sasl2", "libsasl2-dev")
}

/// Runs `sasl_checkpass` for each `(user, realm, password)`; returns the SASL result codes.
fn cyrus_checkpass(program: &Path, file: &Path, attempts: &[(&str, &str, &[u8])]) -> Vec<i32> {
    let mut child = Command::new(program)
        .arg(file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = Vec::new();
    for (user, realm, password) in attempts {
        input.extend_from_slice(format!("{user}\t{realm}\t").as_bytes());
        input.extend_from_slice(password);
        input.push(b'\n');
    }
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&input).unwrap());
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(output.status.success(), "checkpass: {output:?}");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| line.parse().unwrap())
        .collect()
}

/// Writes `pairs` with our writer through the store, in one update.
fn write_ours(file: &Path, pairs: &Pairs) {
    let store = SasldbStore::new(file);
    store
        .edit(|edit| {
            for (key, value) in pairs {
                edit.set_raw(key.clone(), Some(value));
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn reads_files_written_by_saslpasswd2() {
    if !have_all(&["saslpasswd2", "db5.3_dump"]) {
        return;
    }
    let dir = scratch("cyrus-written");

    let one = dir.join("one.db");
    saslpasswd2(
        &one,
        &["-p", "-c", "-u", "EXAMPLE.ORG", "alice"],
        b"secret123",
    );
    let store = SasldbStore::new(&one);
    assert_eq!(
        lookup(&store, "alice", "EXAMPLE.ORG").unwrap(),
        b"secret123"
    );
    assert_eq!(lookup(&store, "alice", "example.org"), None);
    assert_eq!(our_pairs(&one), db_dump(&one));

    let many = dir.join("many.db");
    let users = user_set(100);
    for (user, realm, password) in &users {
        saslpasswd2(&many, &["-p", "-c", "-u", realm, user], password);
    }
    // Deleted users disappear; the rest stay.
    for (user, realm, _) in users.iter().step_by(7) {
        saslpasswd2(&many, &["-d", "-u", realm, user], b"");
    }
    let store = SasldbStore::new(&many);
    for (i, (user, realm, password)) in users.iter().enumerate() {
        let expected = (i % 7 != 0).then(|| password.clone());
        assert_eq!(lookup(&store, user, realm), expected, "{user}@{realm}");
    }
    let dumped = db_dump(&many);
    assert_eq!(our_pairs(&many), dumped);
    assert_eq!(store.entries().unwrap().len(), dumped.len());
    // The overflow case really is one.
    let long = lookup(&store, "long1025", "realm0.example").unwrap();
    assert_eq!(long.len(), 1025);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn reads_10000_user_files_from_libdb_in_both_byte_orders() {
    if !have_all(&["db5.3_load", "db5.3_dump"]) {
        return;
    }
    let dir = scratch("libdb-10000");
    let users = user_set(10_000);
    let pairs = as_pairs(&users);
    for (name, extra) in [("le.db", &[][..]), ("be.db", &["-c", "db_lorder=4321"][..])] {
        let file = dir.join(name);
        db_load(&file, &pairs, extra);
        let db = HashDb::parse(std::fs::read(&file).unwrap()).unwrap();
        let expected_order = if name == "be.db" {
            ByteOrder::Big
        } else {
            ByteOrder::Little
        };
        assert_eq!(db.byte_order(), expected_order);
        assert!(db.max_bucket() > 16, "libdb grew the table");
        let store = SasldbStore::new(&file);
        for (user, realm, password) in &users {
            assert_eq!(lookup(&store, user, realm).as_ref(), Some(password));
        }
        assert_eq!(lookup(&store, "user10000", "realm1.example"), None);
        assert_eq!(our_pairs(&file), pairs);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn libdb_and_cyrus_read_our_files() {
    if !have_all(&[
        "db5.3_dump",
        "db5.3_verify",
        "sasldblistusers2",
        "saslpasswd2",
    ]) {
        return;
    }
    let dir = scratch("ours");
    let checker = checkpass_program(&dir);
    for count in [1, 100, 10_000] {
        let file = dir.join(format!("users{count}.db"));
        let mut users = user_set(count);
        // Our writer is not limited to saslpasswd2's 2048 bytes: a 5000-byte password needs
        // a two-page overflow chain.
        users.push(("huge".into(), "realm2.example".into(), vec![b'z'; 5000]));
        let mut pairs = as_pairs(&users);
        // Derived secrets with binary values, as the tool writes for -n.
        pairs.insert(
            key("user0", "realm0.example", property::DIGEST_MD5_SECRET),
            vec![
                0, 1, 0x5c, 0xff, b'\n', 0x80, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
            ],
        );
        write_ours(&file, &pairs);
        // Then delete some users through the store, one update.
        let store = SasldbStore::new(&file);
        let deleted: BTreeSet<usize> = (0..users.len()).step_by(5).collect();
        store
            .edit(|edit| {
                for &i in &deleted {
                    let (user, realm, _) = &users[i];
                    edit.delete_user(user, realm)?;
                }
                Ok(())
            })
            .unwrap();
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&file).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o640);
        let remaining: Vec<_> = users
            .iter()
            .enumerate()
            .filter(|(i, _)| !deleted.contains(i))
            .map(|(_, u)| u.clone())
            .collect();
        let expected: Pairs = as_pairs(&remaining);

        verify(&file);
        assert_eq!(db_dump(&file), expected, "db5.3_dump of {count} users");
        let listed: BTreeSet<String> = run(Command::new("sasldblistusers2").arg("-f").arg(&file))
            .lines()
            .map(str::to_owned)
            .collect();
        let wanted: BTreeSet<String> = remaining
            .iter()
            .map(|(u, r, _)| format!("{u}@{r}: userPassword"))
            .collect();
        assert_eq!(listed, wanted);

        if let Some(checker) = &checker {
            // Every remaining user (libdb DB->get through Cyrus's sasldb plugin), then a
            // wrong password, a wrong realm, a deleted and an unknown user.
            let mut attempts: Vec<(&str, &str, &[u8])> = remaining
                .iter()
                .filter(|(_, _, p)| p.len() < 8000)
                .map(|(u, r, p)| (u.as_str(), r.as_str(), p.as_slice()))
                .collect();
            let good = attempts.len();
            let (u, r, p) = &remaining[0];
            let mut wrong = p.clone();
            wrong.push(b'!');
            attempts.push((u, r, &wrong));
            attempts.push((u, "other.example", p));
            let (du, dr, dp) = &users[0];
            attempts.push((du, dr, dp));
            attempts.push(("nobody", "realm0.example", b"pw"));
            let results = cyrus_checkpass(checker, &file, &attempts);
            assert_eq!(results.len(), attempts.len());
            assert!(
                results[..good].iter().all(|&r| r == 0),
                "libsasl2 rejected a user"
            );
            assert!(
                results[good..].iter().all(|&r| r != 0),
                "libsasl2 accepted a wrong login"
            );
        }

        // libdb keeps modifying our file: saslpasswd2 adds, changes and deletes users.
        if count == 100 {
            let mut expected = expected.clone();
            for i in 0..60 {
                let (user, realm, password) =
                    (format!("added{i}"), "realm1.example", format!("new{i}"));
                saslpasswd2(
                    &file,
                    &["-p", "-c", "-u", realm, &user],
                    password.as_bytes(),
                );
                expected.insert(
                    key(&user, realm, property::USER_PASSWORD),
                    password.into_bytes(),
                );
            }
            saslpasswd2(&file, &["-p", "-u", "realm1.example", "user1"], b"changed");
            expected.insert(
                key("user1", "realm1.example", property::USER_PASSWORD),
                b"changed".to_vec(),
            );
            saslpasswd2(&file, &["-d", "-u", "realm2.example", "user2"], b"");
            expected.remove(&key("user2", "realm2.example", property::USER_PASSWORD));
            verify(&file);
            assert_eq!(db_dump(&file), expected);
            assert_eq!(our_pairs(&file), expected);
            // The same store object sees libdb's in-place changes without a restart.
            assert_eq!(
                lookup(&store, "user1", "realm1.example").unwrap(),
                b"changed"
            );
            assert_eq!(
                lookup(&store, "added59", "realm1.example").unwrap(),
                b"new59"
            );
            assert_eq!(lookup(&store, "user2", "realm2.example"), None);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn tool_writes_what_saslpasswd2_writes() {
    if !have_all(&["saslpasswd2", "db5.3_dump", "sasldblistusers2"]) {
        return;
    }
    let dir = scratch("tool");
    let (ours, theirs) = (dir.join("ours.db"), dir.join("theirs.db"));
    let tool = env!("CARGO_BIN_EXE_puresasl");
    let commands: &[(&[&str], &[u8])] = &[
        (&["-p", "-c", "-u", "EXAMPLE.ORG", "alice"], b"secret123\n"),
        (&["-p", "-c", "-u", "EXAMPLE.ORG", "bob"], b"pw2\n"),
        (&["-p", "-u", "other.example", "bob"], b"pw3"),
        (&["-p", "-c", "-u", "EXAMPLE.ORG", "alice"], b"changed\n"),
        (&["-p", "-c", "-u", "EXAMPLE.ORG", "carol"], b"pw4\n"),
        (&["-d", "-u", "EXAMPLE.ORG", "carol"], b""),
        (&["-d", "-u", "EXAMPLE.ORG", "nobody"], b""),
        (&["-p", "-c", "dave"], b"hostrealm\n"),
        (&["-p", "-c", "-u", "EXAMPLE.ORG", "erin@X.ORG"], b"pw5\n"),
        (&["-p", "-c", "-u", "EXAMPLE.ORG", "c@d@e"], b"pw6\n"),
        (&["-d", "erin@X.ORG"], b""),
    ];
    for (args, password) in commands {
        saslpasswd2(&theirs, args, password);
        our_passwd(&ours, args, password);
        assert_eq!(db_dump(&ours), db_dump(&theirs), "after {args:?}");
    }
    // Both listers agree on both files (as sets: the files' layouts differ).
    for file in [&ours, &theirs] {
        let cyrus: BTreeSet<String> = run(Command::new("sasldblistusers2").arg("-f").arg(file))
            .lines()
            .map(str::to_owned)
            .collect();
        let listed: BTreeSet<String> = run(Command::new(tool).arg("listusers").arg("-f").arg(file))
            .lines()
            .map(str::to_owned)
            .collect();
        assert_eq!(cyrus, listed);
        assert_eq!(cyrus.len(), 5);
    }

    // -n: no plaintext, the derived secrets instead; every password check still works.
    our_passwd(
        &ours,
        &["-p", "-n", "-u", "EXAMPLE.ORG", "alice"],
        b"noplain\n",
    );
    let store = SasldbStore::new(&ours);
    assert_eq!(lookup(&store, "alice", "EXAMPLE.ORG"), None);
    let view = CredentialView::new(&store, "alice", "EXAMPLE.ORG");
    assert_eq!(view.check_password(b"noplain"), Ok(PasswordCheck::Match));
    assert_eq!(view.check_password(b"changed"), Ok(PasswordCheck::Mismatch));
    let names: BTreeSet<String> = store
        .entries()
        .unwrap()
        .into_iter()
        .filter(|e| e.user == "alice")
        .map(|e| e.property)
        .collect();
    assert!(names.contains(property::AUTH_PASSWORD));
    assert!(names.contains(property::DIGEST_MD5_SECRET));
    assert!(names.contains("cmusaslsecretSCRAM-SHA-256"));
    assert!(names.contains(property::CRAM_MD5_SECRET));
    assert!(!names.contains(property::USER_PASSWORD));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `-a APPNAME` reads `<APPNAME>.conf` (here through `SASL_CONF_PATH`, which both tools
/// honour): `sasldb_path`, `scram_secret_generate` and `scram_iteration_counter`.
#[test]
fn tool_reads_the_application_config_like_saslpasswd2() {
    if !have_all(&["saslpasswd2", "db5.3_dump"]) {
        return;
    }
    let dir = scratch("appconf");
    let records = |tool: &str, name: &str| -> Vec<(Vec<u8>, String)> {
        let conf = dir.join(name);
        std::fs::create_dir_all(&conf).unwrap();
        let db = conf.join("users.db");
        std::fs::write(
            conf.join("myapp.conf"),
            format!(
                "# test\nscram_secret_generate: yes\nscram_iteration_counter: 1000\n\
                 sasldb_path: {}\n",
                db.display()
            ),
        )
        .unwrap();
        let mut command = Command::new(tool);
        if tool != "saslpasswd2" {
            command.arg("passwd");
        }
        run_with_input(
            command
                .args(["-p", "-c", "-a", "myapp", "-u", "R", "alice"])
                .env("SASL_CONF_PATH", &conf),
            b"pw\n",
        );
        db_dump(&db)
            .into_iter()
            .map(|(key, value)| {
                // Salts are random: keep the scheme and iteration count.
                let value = String::from_utf8(value).unwrap();
                let stable = value.split(':').next().unwrap_or_default().to_owned();
                (key, stable)
            })
            .collect()
    };
    let theirs = records("saslpasswd2", "cyrus");
    let ours = records(env!("CARGO_BIN_EXE_puresasl"), "ours");
    assert_eq!(ours, theirs);
    assert_eq!(
        ours,
        vec![
            (
                key("alice", "R", property::AUTH_PASSWORD),
                "SCRAM-SHA-1$1000".into()
            ),
            (key("alice", "R", property::USER_PASSWORD), "pw".into()),
        ]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rejects_broken_and_foreign_files() {
    let dir = scratch("broken");
    let good = dir.join("good.db");
    let mut pairs = Pairs::new();
    for i in 0..200 {
        pairs.insert(
            key(&format!("u{i}"), "r", property::USER_PASSWORD),
            vec![b'p'; i * 10],
        );
    }
    write_ours(&good, &pairs);
    let bytes = std::fs::read(&good).unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("text", b"alice:secret\n".repeat(100)),
        ("truncated page", bytes[..bytes.len() - 100].to_vec()),
        ("truncated file", bytes[..4096 * 2].to_vec()),
        ("zeros", vec![0; 8192]),
    ];
    for (name, data) in cases {
        let file = dir.join(name);
        std::fs::write(&file, &data).unwrap();
        let store = SasldbStore::new(&file);
        let result = (0..200).try_for_each(|i| {
            store
                .lookup(&format!("u{i}"), "r", property::USER_PASSWORD)
                .map(drop)
        });
        assert!(
            matches!(result, Err(StoreError::Corrupt(_))),
            "{name}: {result:?}"
        );
    }
    // Other libdb formats.
    if have("db5.3_load") {
        for method in ["btree", "recno"] {
            let file = dir.join(format!("{method}.db"));
            let text = format!(
                "VERSION=3\nformat=print\ntype={method}\nHEADER=END\n {}\n v\nDATA=END\n",
                if method == "recno" { "1" } else { "k" }
            );
            std::fs::write(dir.join("in.txt"), text).unwrap();
            run(Command::new("db5.3_load")
                .arg("-f")
                .arg(dir.join("in.txt"))
                .arg(&file));
            let store = SasldbStore::new(&file);
            match store.lookup("u", "r", property::USER_PASSWORD) {
                Err(StoreError::Corrupt(message)) => {
                    assert!(message.contains("not a Berkeley DB hash"), "{message}")
                }
                other => panic!("{method}: {other:?}"),
            }
        }
    }
    // Missing file: no users, not an error, and nothing created.
    let missing = SasldbStore::new(dir.join("missing.db"));
    assert_eq!(lookup(&missing, "u1", "r"), None);
    assert!(!dir.join("missing.db").exists());
    // Unreadable file (meaningless as root, who reads everything).
    let root = run(Command::new("id").arg("-u")).trim() == "0";
    if !root {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&good, std::fs::Permissions::from_mode(0o000)).unwrap();
        let store = SasldbStore::new(&good);
        assert!(matches!(
            store.lookup("u1", "r", property::USER_PASSWORD),
            Err(StoreError::Io(_))
        ));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// An update keeps the file's mode, and its owner and group where the process may set them
/// (as root, the usual case for /etc/sasldb2); a new file is 0640.
#[test]
fn updates_keep_owner_group_and_mode() {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
    let dir = scratch("owner");
    let file = dir.join("sasldb2");
    let store = SasldbStore::new(&file);
    store
        .store("a", "r", property::USER_PASSWORD, &[Secret::from("1")])
        .unwrap();
    assert_eq!(std::fs::metadata(&file).unwrap().mode() & 0o7777, 0o640);
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o604)).unwrap();
    let root = run(Command::new("id").arg("-u")).trim() == "0";
    if root {
        run(Command::new("chown").arg("12345:23456").arg(&file));
    }
    let before = std::fs::metadata(&file).unwrap();
    store
        .store("b", "r", property::USER_PASSWORD, &[Secret::from("2")])
        .unwrap();
    let after = std::fs::metadata(&file).unwrap();
    assert_ne!(
        before.ino(),
        after.ino(),
        "the file was replaced, not edited"
    );
    assert_eq!(after.mode() & 0o7777, 0o604);
    assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
    assert_eq!(lookup(&store, "a", "r").unwrap(), b"1");
    assert_eq!(lookup(&store, "b", "r").unwrap(), b"2");
    // No temporary file is left behind.
    let names: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        BTreeSet::from(["sasldb2".to_owned(), "sasldb2.lock".to_owned()])
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The system calls of a store update that a crash can interrupt: every file creation,
/// write, sync, permission change, rename and removal.
const WRITE_PATH_SYSCALLS: &str =
    "openat,write,pwrite64,fsync,fdatasync,fchmod,fchown,rename,renameat,renameat2,unlink";

/// Kills `puresasl passwd` (through strace's fault injection) on entry to each system call of
/// the update in turn, from opening the lock file to the final directory sync, and checks
/// after every crash that the file opens and no committed user is lost. Deterministic: every
/// crash point is visited once, whatever the machine's speed.
#[test]
fn killed_writers_never_lose_users() {
    if !have("strace") {
        return;
    }
    let dir = scratch("kill");
    let file = dir.join("sasldb2");
    let tool = env!("CARGO_BIN_EXE_puresasl");
    // A base of 2000 users makes the rewrite take several writes.
    let mut pairs = Pairs::new();
    for i in 0..2000 {
        pairs.insert(
            key(&format!("base{i}"), "r", property::USER_PASSWORD),
            format!("pw{i}").into_bytes(),
        );
    }
    write_ours(&file, &pairs);
    let trace = dir.join("trace");
    let update = |user: &str, strace_args: &[String]| {
        let mut child = Command::new("strace")
            .args(["-f", "-qq", "-o"])
            .arg(&trace)
            .args(strace_args)
            .arg(tool)
            .args(["passwd", "-p", "-u", "r", "-f"])
            .arg(&file)
            .arg(user)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"pw\n").unwrap();
        child.wait().unwrap().success()
    };
    // The crash points: each traced call from the lock file's opening on, as (name, the
    // how-manieth call of that name in the process).
    assert!(update("first", &[format!("--trace={WRITE_PATH_SYSCALLS}")]));
    let log = std::fs::read_to_string(&trace).unwrap();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut points = Vec::new();
    let mut locked = false;
    for line in log.lines() {
        let call = line.split_whitespace().nth(1).unwrap_or_default();
        let Some((name, _)) = call.split_once('(') else {
            continue; // "+++ exited with 0 +++"
        };
        let count = seen.entry(name.to_owned()).or_default();
        *count += 1;
        locked |= line.contains("sasldb2.lock");
        if locked {
            points.push((name.to_owned(), *count));
        }
    }
    assert!(
        points.iter().any(|(name, _)| name.starts_with("rename")),
        "no rename in the traced update: {log}"
    );
    let mut committed: Vec<String> = vec!["first".into()];
    let mut killed = 0;
    for (round, (name, count)) in points.iter().enumerate() {
        let user = format!("new{round}");
        let inject = format!("--inject={name}:signal=KILL:when={count}");
        if update(&user, &[format!("--trace={name}"), inject]) {
            committed.push(user);
        } else {
            killed += 1;
        }
        // The file always opens, and every committed user is there.
        let store = SasldbStore::new(&file);
        for i in (0..2000).step_by(97) {
            assert_eq!(
                lookup(&store, &format!("base{i}"), "r").unwrap(),
                format!("pw{i}").as_bytes()
            );
        }
        for user in &committed {
            assert_eq!(
                lookup(&store, user, "r").unwrap(),
                b"pw",
                "{user} lost after a crash on {name} #{count}"
            );
        }
        assert!(our_pairs(&file).len() >= 2000 + committed.len());
    }
    println!(
        "kill test: {} crash points, {killed} writers killed, {} completed",
        points.len(),
        committed.len()
    );
    assert_eq!(killed, points.len(), "a writer outlived its crash point");
    if have("db5.3_verify") {
        verify(&file);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn readers_never_fail_during_writes() {
    let dir = scratch("concurrent");
    let file = dir.join("sasldb2");
    let mut pairs = Pairs::new();
    for i in 0..500 {
        pairs.insert(
            key(&format!("stable{i}"), "r", property::USER_PASSWORD),
            format!("pw{i}").into_bytes(),
        );
    }
    write_ours(&file, &pairs);
    let store = Arc::new(SasldbStore::new(&file));
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|t| {
            let (store, done) = (Arc::clone(&store), Arc::clone(&done));
            let file = file.clone();
            std::thread::spawn(move || {
                // A shared store, and fresh stores (as Cyrus opens per lookup).
                let mut lookups = 0;
                while !done.load(Ordering::Relaxed) {
                    let i = (lookups * 7 + t) % 500;
                    let fresh = SasldbStore::new(&file);
                    for s in [&*store, &fresh] {
                        let got = s
                            .lookup(&format!("stable{i}"), "r", property::USER_PASSWORD)
                            .unwrap();
                        assert_eq!(got.len(), 1);
                        assert!(got[0].matches(format!("pw{i}").as_bytes()));
                    }
                    lookups += 1;
                }
                lookups
            })
        })
        .collect();
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let file = file.clone();
            std::thread::spawn(move || {
                let store = SasldbStore::new(&file);
                for n in 0..25 {
                    store
                        .store(
                            &format!("writer{w}-{n}"),
                            "r",
                            property::USER_PASSWORD,
                            &[Secret::from("x")],
                        )
                        .unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    done.store(true, Ordering::Relaxed);
    let lookups: usize = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(lookups > 0);
    // Both writers' updates all landed: the lock serialised them.
    let store = SasldbStore::new(&file);
    for w in 0..2 {
        for n in 0..25 {
            assert_eq!(
                lookup(&store, &format!("writer{w}-{n}"), "r").unwrap(),
                b"x"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `puresasl passwd -f file args...`, the password on stdin.
fn our_passwd(file: &Path, args: &[&str], password: &[u8]) {
    run_with_input(
        Command::new(env!("CARGO_BIN_EXE_puresasl"))
            .args(["passwd", "-f"])
            .arg(file)
            .args(args),
        password,
    );
}

/// Without plaintext at rest (`-n`), Cyrus's CRAM-MD5 server authenticates from our
/// `cmusaslsecretCRAM-MD5` (its precomputed HMAC-MD5 state layout), and so does ours.
#[test]
fn cram_md5_from_the_precomputed_secret_cyrus_and_ours() {
    use puresasl::{ClientSession, Credentials, ServerConfig, ServerSession, ServerStep};

    let dir = scratch("cram-secret");
    let file = dir.join("sasldb2");
    our_passwd(
        &file,
        &["-p", "-n", "-u", "example.org", "tim"],
        b"tanstaaftanstaaf\n",
    );
    let store = Arc::new(SasldbStore::new(&file));
    assert_eq!(lookup(store.as_ref(), "tim", "example.org"), None);
    let secret = store
        .lookup("tim", "example.org", property::CRAM_MD5_SECRET)
        .unwrap();
    assert_eq!(secret.len(), 1);
    assert_eq!(secret[0].len(), 32);

    let server = |store: Arc<SasldbStore>| {
        let config = ServerConfig::builder("imap", "mail.example.org")
            .user_realm("example.org")
            .store(store)
            .mechanisms(["CRAM-MD5"])
            .build()
            .unwrap();
        ServerSession::new(Arc::new(config))
    };
    for (password, accepted) in [("tanstaaftanstaaf", true), ("wrong", false)] {
        // Ours, in memory.
        let mut client = ClientSession::new(crate::pair::client_config(
            "CRAM-MD5",
            Credentials::new("tim", password),
        ));
        let mut session = server(Arc::clone(&store));
        client.start("CRAM-MD5").unwrap();
        let challenge = match session.start("CRAM-MD5", None).unwrap() {
            ServerStep::Continue(challenge) => challenge,
            ServerStep::Done { .. } => panic!("CRAM-MD5 needs a challenge"),
        };
        let response = match client.step(&challenge).unwrap() {
            puresasl::ClientStep::Continue(r) => r,
            puresasl::ClientStep::Done(r) => r.unwrap_or_default(),
        };
        assert_eq!(
            session.step(&response).is_ok(),
            accepted,
            "ours, {password}"
        );

        // Cyrus's server reading our file.
        let options = [("sasldb", file.to_str().unwrap()), ("realm", "example.org")];
        let mut client = ClientSession::new(crate::pair::client_config(
            "CRAM-MD5",
            Credentials::new("tim", password),
        ));
        let Some(result) =
            crate::interop::our_client_vs_cyrus_server(&mut client, "CRAM-MD5", &options)
        else {
            continue;
        };
        println!(
            "cyrus {password}: {:?}",
            result.as_ref().map(|o| o.username.clone())
        );
        assert_eq!(result.is_ok(), accepted, "cyrus, {password}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Relays one exchange between a Cyrus client and a Cyrus server (both the interop Cyrus
/// peer), the server reading `file`. `Ok(username)` or `Err(what failed)`; `None` without
/// the peer.
fn cyrus_vs_cyrus(file: &Path, mechanism: &str, password: &str) -> Option<Result<String, String>> {
    let mut server = Cyrus::spawn(
        "server",
        mechanism,
        &[("sasldb", file.to_str().unwrap()), ("realm", "example.org")],
    )?;
    let mut client = Cyrus::spawn(
        "client",
        mechanism,
        &[
            ("user", "tim"),
            ("password", password),
            ("realm", "example.org"),
        ],
    )?;
    let first = client.start(mechanism, None);
    assert_eq!(client.query("MECH"), mechanism);
    let mut reply = server.start(mechanism, first.data.as_deref());
    loop {
        match reply.tag.as_str() {
            "OK" => return Some(Ok(server.query("USER"))),
            "CONTINUE" => {}
            _ => return Some(Err(format!("server: {reply:?}"))),
        }
        let answer = client.step(&reply.bytes());
        // After the client's OK (it needs nothing more) the server still expects its last
        // response (CRAM-MD5's digest, or SCRAM's empty answer to v=).
        if answer.tag != "CONTINUE" && answer.tag != "OK" {
            return Some(Err(format!("client: {answer:?}")));
        }
        reply = server.step(&answer.bytes());
    }
}

/// The derived secrets our tool writes with -n are the ones Cyrus reads: its DIGEST-MD5
/// server uses `cmusaslsecretDIGEST-MD5`, its SCRAM-SHA-1 server the RFC 5803
/// `authPassword`, its CRAM-MD5 server `cmusaslsecretCRAM-MD5`; and the properties Cyrus
/// does not know (our other SCRAM hashes) do not disturb it.
#[test]
fn cyrus_servers_use_our_derived_secrets() {
    if !have_all(&["saslpasswd2"]) {
        return;
    }
    let dir = scratch("cyrus-derived");
    let file = dir.join("sasldb2");
    our_passwd(
        &file,
        &["-p", "-n", "-u", "example.org", "tim"],
        b"tanstaaftanstaaf\n",
    );
    // A plaintext neighbour, so the file also holds what Cyrus writes itself.
    our_passwd(&file, &["-p", "-u", "example.org", "other"], b"pw\n");
    for mechanism in ["DIGEST-MD5", "SCRAM-SHA-1", "CRAM-MD5"] {
        let Some(good) = cyrus_vs_cyrus(&file, mechanism, "tanstaaftanstaaf") else {
            return;
        };
        assert_eq!(good, Ok("tim@example.org".to_owned()), "{mechanism}");
        let bad = cyrus_vs_cyrus(&file, mechanism, "wrong").unwrap();
        assert!(
            bad.is_err(),
            "{mechanism} accepted a wrong password: {bad:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

const BDBGET_C: &str = r#"
#include <db.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static size_t unhex(const char *s, unsigned char *out) {
    size_t n = 0;
    for (; s[0] && s[1]; s += 2) { unsigned b; sscanf(s, "%2x", &b); out[n++] = (unsigned char)b; }
    return n;
}
static char line[1 << 21];
static unsigned char k[1 << 20], v[1 << 20];
int main(int argc, char **argv) {
    DB *db;
    long n = 0, bad = 0;
    if (argc != 2 || db_create(&db, NULL, 0)) return 2;
    if (db->open(db, NULL, argv[1], NULL, DB_HASH, DB_RDONLY, 0)) return 3;
    while (fgets(line, sizeof line, stdin)) {
        char *val = strchr(line, '\t');
        if (!val) return 4;
        *val++ = 0;
        val[strcspn(val, "\n")] = 0;
        DBT key, data;
        memset(&key, 0, sizeof key); memset(&data, 0, sizeof data);
        key.data = k; key.size = (u_int32_t)unhex(line, k);
        int r = db->get(db, NULL, &key, &data, 0);
        if (!strcmp(val, "-")) {
            if (r != DB_NOTFOUND) { bad++; fprintf(stderr, "absent key found: %.60s\n", line); }
        } else {
            size_t vl = unhex(val, v);
            if (r || data.size != vl || memcmp(data.data, v, vl)) { bad++; fprintf(stderr, "key %.60s: %d\n", line, r); }
        }
        n++;
    }
    db->close(db, 0);
    printf("%ld %ld\n", n, bad);
    return bad ? 1 : 0;
}
"#;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// libdb's own `DB->get` on every key of files from our writer (the binary search that
/// needs libdb's in-page key order), and `DB_NOTFOUND` for absent keys that are prefixes
/// or extensions of present ones; in several page sizes and both byte orders, with on-page
/// and off-page keys that are prefixes of each other.
#[test]
fn libdb_finds_every_key_our_writer_stores() {
    use puresasl::unstable::bdb_hash::{WriteOptions, write};
    if !have_all(&["cc", "db5.3_verify", "db5.3_dump"]) {
        return;
    }
    let dir = scratch("bdbget");
    let source = dir.join("bdbget.c");
    std::fs::write(&source, BDBGET_C).unwrap();
    let Some(program) = compile_c(&source, &dir.join("bdbget"), "db-5.3", "libdb5.3-dev") else {
        return;
    };
    let mut pairs = Pairs::new();
    for i in 0..3000 {
        pairs.insert(
            key(&format!("user{i}"), "example.org", property::USER_PASSWORD),
            format!("password{i}").into_bytes(),
        );
        // Keys that are proper prefixes of other keys in the same table.
        pairs.insert(
            key(&format!("user{i}"), "example.org", "userPasswordX"),
            vec![u8::try_from(i % 256).unwrap(); i % 40],
        );
    }
    for len in [1, 2, 3, 30, 1024, 1100, 5000] {
        pairs.insert(vec![b'a'; len], vec![b'v'; len]);
    }
    pairs.insert(b"ab".to_vec(), Vec::new());
    pairs.insert(b"binary".to_vec(), (0..=255).collect());
    pairs.insert(b"huge".to_vec(), vec![0x5c; 70_000]);
    let absent: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        vec![b'a'; 4],
        vec![b'a'; 1099],
        vec![b'a'; 1101],
        b"abc".to_vec(),
        key("user1", "example.org", "userPass"),
        key("user3000", "example.org", property::USER_PASSWORD),
    ];
    let mut input = String::new();
    for (k, v) in &pairs {
        input.push_str(&format!("{}\t{}\n", hex(k), hex(v)));
    }
    for k in &absent {
        input.push_str(&format!("{}\t-\n", hex(k)));
    }
    let borrowed: Vec<(&[u8], &[u8])> = pairs
        .iter()
        .map(|(k, v)| (k.as_slice(), v.as_slice()))
        .collect();
    for page_size in [512, 4096, 65536] {
        for byte_order in [ByteOrder::Little, ByteOrder::Big] {
            let file = dir.join(format!("{page_size}-{byte_order:?}.db"));
            let options = WriteOptions {
                page_size,
                byte_order,
                uid: [page_size.to_le_bytes()[1]; 20],
            };
            std::fs::write(&file, write(&borrowed, &options).unwrap()).unwrap();
            verify(&file);
            let mut child = Command::new(&program)
                .arg(&file)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdin = child.stdin.take().unwrap();
            let text = input.clone();
            let feeder = std::thread::spawn(move || stdin.write_all(text.as_bytes()).unwrap());
            let output = child.wait_with_output().unwrap();
            feeder.join().unwrap();
            assert!(
                output.status.success(),
                "{page_size} {byte_order:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            assert_eq!(
                String::from_utf8_lossy(&output.stdout).trim(),
                format!("{} 0", pairs.len() + absent.len())
            );
            assert_eq!(db_dump(&file), pairs);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `store_many` on a sasldb2 file is one update, all or nothing: a batch with one bad key
/// writes none of its changes (the default, one `store` after another, would have written
/// the password before failing); `set_password` and `delete_user` make one such update.
#[test]
fn batched_changes_are_all_or_nothing() {
    struct Counting {
        inner: SasldbStore,
        single: std::sync::atomic::AtomicUsize,
        batches: std::sync::atomic::AtomicUsize,
    }
    impl Auxprop for Counting {
        fn lookup(
            &self,
            user: &str,
            realm: &str,
            property: &str,
        ) -> Result<Vec<Secret>, StoreError> {
            self.inner.lookup(user, realm, property)
        }
        fn store(
            &self,
            user: &str,
            realm: &str,
            property: &str,
            values: &[Secret],
        ) -> Result<(), StoreError> {
            self.single.fetch_add(1, Ordering::Relaxed);
            self.inner.store(user, realm, property, values)
        }
        fn store_many(
            &self,
            user: &str,
            realm: &str,
            changes: &[(String, Vec<Secret>)],
        ) -> Result<(), StoreError> {
            self.batches.fetch_add(1, Ordering::Relaxed);
            self.inner.store_many(user, realm, changes)
        }
    }
    let dir = scratch("sasldb-store-many");
    let file = dir.join("sasldb2");
    let _ = std::fs::remove_file(&file);
    let store = Counting {
        inner: SasldbStore::new(&file),
        single: Default::default(),
        batches: Default::default(),
    };
    let changes = vec![
        (
            property::USER_PASSWORD.to_owned(),
            vec![Secret::from("new")],
        ),
        ("bad\0name".to_owned(), vec![Secret::from("x")]),
    ];
    assert!(store.store_many("alice", "example", &changes).is_err());
    assert_eq!(lookup(&store, "alice", "example"), None);

    let policy = puresasl::credentials::PasswordPolicy {
        scram_iterations: 64,
        ..Default::default()
    };
    let random = puresasl::OsRandom;
    puresasl::credentials::set_password(&store, "alice", "example", b"pw", &policy, &random)
        .unwrap();
    assert_eq!(lookup(&store, "alice", "example"), Some(b"pw".to_vec()));
    for name in property::CREDENTIALS {
        assert!(
            !store.lookup("alice", "example", name).unwrap().is_empty(),
            "{name} written"
        );
    }
    let view = CredentialView::new(&store, "alice", "example");
    assert_eq!(view.check_password(b"pw").unwrap(), PasswordCheck::Match);
    puresasl::credentials::delete_user(&store, "alice", "example").unwrap();
    assert_eq!(lookup(&store, "alice", "example"), None);
    assert!(our_pairs(&file).is_empty());
    assert_eq!(
        store.single.load(Ordering::Relaxed),
        0,
        "property by property"
    );
    assert_eq!(
        store.batches.load(Ordering::Relaxed),
        3,
        "one batch per call"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
