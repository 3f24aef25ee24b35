//! The C side of the library: links `libsasl2.so.2`, checks the header against the committed
//! copy and against Cyrus's, and runs C programs against the library (plain, under
//! AddressSanitizer and under valgrind), and Cyrus's own tools on top of it.
//!
//! Peers (cc, Cyrus's headers, valgrind, ...) that are missing make a test fail when the
//! environment variable `CI` is set, and skip with a note otherwise.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    reason = "test code"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

mod common;
use common::{ffi_dir, link_library, profile_dir, text};

fn repo_dir() -> PathBuf {
    ffi_dir().parent().unwrap().to_path_buf()
}

fn scratch(name: &str) -> PathBuf {
    let dir = profile_dir().join("ffi-tests").join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Whether `tool` can run; when it cannot, fails under CI and skips (with a note) otherwise.
fn have(tool: &str, args: &[&str]) -> bool {
    let ok = Command::new(tool)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success() || !o.stdout.is_empty() || !o.stderr.is_empty());
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("{tool} is required in CI (see .ci/apt-packages)");
        }
        println!("note: skipping, {tool} is not installed");
    }
    ok
}

fn have_file(path: &str) -> bool {
    let ok = Path::new(path).exists();
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("{path} is required in CI (see .ci/apt-packages)");
        }
        println!("note: skipping, {path} is missing");
    }
    ok
}

/// Links `libsasl2.so.2` from the static library cargo built for this test run (once).
fn library_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| link_library("lib"))
}

/// An empty plug-in directory: programs on our library get it as `$SASL_PATH`, so they run
/// the built-in mechanisms only (Cyrus's modules in the system directory would add server
/// mechanisms, NTLM and ANONYMOUS, that these programs' clients cannot do on our library);
/// the plug-in tests set their own.
fn no_modules() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| scratch("no-modules"))
}

/// Compiles `source` (in ffi/tests/c) against our header and library, or Cyrus's.
fn compile(source: &str, output: &Path, ours: bool, extra: &[&str]) {
    let mut cc = Command::new("cc");
    cc.args(["-std=c11", "-g", "-O1", "-Wall", "-Wextra", "-Werror"])
        .arg("-Wno-cast-function-type")
        .args(extra)
        .arg("-o")
        .arg(output)
        .arg(ffi_dir().join("tests/c").join(source));
    if ours {
        cc.arg(format!("-I{}", repo_dir().join("include").display()))
            .arg(format!("-L{}", library_dir().display()))
            .arg("-l:libsasl2.so.2");
    } else {
        cc.arg("-DCYRUS").arg("-lsasl2");
    }
    let out = cc.output().unwrap();
    assert!(out.status.success(), "compiling {source}: {}", text(&out));
}

/// A command that runs on the system's (Cyrus's) libsasl2: cargo puts the target directory,
/// where our `libsasl2.so.2` lives, on `LD_LIBRARY_PATH` for tests.
fn cyrus_command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new(program);
    command.env_remove("LD_LIBRARY_PATH");
    command
}

fn run_ours(program: &Path, wrapper: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut command = match wrapper.split_first() {
        Some((tool, args)) => {
            let mut c = Command::new(tool);
            c.args(args).arg(program);
            c
        }
        None => Command::new(program),
    };
    command
        .env("LD_LIBRARY_PATH", library_dir())
        .env("SASL_PATH", no_modules());
    for (k, v) in envs {
        command.env(k, v);
    }
    command.output().unwrap()
}

#[test]
fn library_exports_every_symbol_at_version_sasl2() {
    if !have("cc", &["--version"]) || !have("readelf", &["--version"]) {
        return;
    }
    let lib = library_dir().join("libsasl2.so.2");
    let dynamic = Command::new("readelf")
        .arg("-d")
        .arg(&lib)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&dynamic.stdout).contains("Library soname: [libsasl2.so.2]"),
        "{}",
        text(&dynamic)
    );
    let symbols = Command::new("readelf")
        .args(["--dyn-syms", "-W"])
        .arg(&lib)
        .output()
        .unwrap();
    let symbols = String::from_utf8_lossy(&symbols.stdout).into_owned();
    let map = std::fs::read_to_string(ffi_dir().join("sasl2.map")).unwrap();
    let exports: Vec<&str> = map
        .lines()
        .map(str::trim)
        .filter(|l| l.ends_with(';') && l.starts_with(|c: char| c.is_ascii_lowercase()))
        .map(|l| l.trim_end_matches(';'))
        .collect();
    assert!(exports.len() >= 68, "{exports:?}");
    // Every symbol Debian's libsasl2 exports at SASL2 but the documented omission (its
    // private MD5 helpers; plug-ins reach MD5 through sasl_utils_t).
    let cyrus = "/usr/lib/x86_64-linux-gnu/libsasl2.so.2";
    if have_file(cyrus) {
        let theirs = Command::new("readelf")
            .args(["--dyn-syms", "-W", cyrus])
            .output()
            .unwrap();
        let theirs = String::from_utf8_lossy(&theirs.stdout).into_owned();
        for name in theirs
            .lines()
            .filter(|l| l.contains(" GLOBAL ") && !l.contains(" UND "))
            .filter_map(|l| l.split_whitespace().last()?.strip_suffix("@@SASL2"))
            .filter(|n| !n.starts_with("_sasl_MD5"))
        {
            assert!(exports.contains(&name), "Cyrus exports {name}, we do not");
        }
    }
    for name in &exports {
        assert!(
            symbols.contains(&format!(" {name}@@SASL2")),
            "{name} is not exported at SASL2"
        );
    }
    // Nothing else (no Rust symbols) is exported.
    for line in symbols
        .lines()
        .filter(|l| l.contains(" GLOBAL ") && !l.contains(" UND "))
    {
        assert!(
            line.contains("@@SASL2") || line.contains(" SASL2"),
            "unexpected export: {line}"
        );
    }
    // Every function Postfix imports is there.
    for name in [
        "sasl_server_init",
        "sasl_server_new",
        "sasl_server_start",
        "sasl_server_step",
        "sasl_client_init",
        "sasl_client_new",
        "sasl_client_start",
        "sasl_client_step",
        "sasl_listmech",
        "sasl_setprop",
        "sasl_getprop",
        "sasl_dispose",
        "sasl_done",
        "sasl_errstring",
        "sasl_version_info",
        "sasl_set_path",
        "sasl_encode64",
        "sasl_decode64",
    ] {
        assert!(exports.contains(&name), "{name} missing");
    }
}

#[test]
fn header_matches_cbindgen_output() {
    let config = cbindgen::Config::from_file(ffi_dir().join("cbindgen.toml")).unwrap();
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(ffi_dir())
        .with_config(config)
        .generate()
        .unwrap()
        .write(&mut generated);
    let path = repo_dir().join("include/sasl/sasl.h");
    if std::env::var_os("UPDATE_HEADER").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read(&path).unwrap();
    assert!(
        committed == generated,
        "include/sasl/sasl.h is stale: run `UPDATE_HEADER=1 cargo test -p puresasl-ffi header`"
    );
}

#[test]
fn header_constants_and_layouts_match_cyrus() {
    if !have("cc", &["--version"]) || !have_file("/usr/include/sasl/sasl.h") {
        return;
    }
    let dir = scratch("abi");
    compile("abi.c", &dir.join("abi-cyrus"), false, &[]);
    compile("abi.c", &dir.join("abi-ours"), true, &[]);
    let cyrus = cyrus_command(dir.join("abi-cyrus")).output().unwrap();
    let ours = run_ours(&dir.join("abi-ours"), &[], &[]);
    assert!(cyrus.status.success() && ours.status.success());
    let cyrus = String::from_utf8_lossy(&cyrus.stdout).into_owned();
    let ours = String::from_utf8_lossy(&ours.stdout).into_owned();
    assert!(cyrus.lines().count() > 150, "{cyrus}");
    for (a, b) in cyrus.lines().zip(ours.lines()) {
        assert_eq!(a, b, "Cyrus vs puresasl header");
    }
    assert_eq!(cyrus.lines().count(), ours.lines().count());
}

fn exchange_program(variant: &str, extra: &[&str]) -> Option<PathBuf> {
    if !have("cc", &["--version"]) {
        return None;
    }
    let program = scratch("exchange").join(format!("exchange-{variant}"));
    compile("exchange.c", &program, true, extra);
    Some(program)
}

/// A fresh sasldb2 path for one run.
fn fresh_db(name: &str) -> String {
    let db = scratch("sasldb").join(name);
    let _ = std::fs::remove_file(&db);
    db.to_string_lossy().into_owned()
}

fn assert_all_ok(out: &Output) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("ok all") && stdout.contains("ok PLAIN"),
        "{}",
        text(out)
    );
}

#[test]
fn c_exchanges_every_mechanism() {
    let Some(program) = exchange_program("plain", &[]) else {
        return;
    };
    let db = fresh_db("plain");
    assert_all_ok(&run_ours(&program, &[], &[("TEST_SASLDB", &db)]));
}

#[test]
fn c_exchanges_under_address_sanitizer() {
    let Some(program) = exchange_program(
        "asan",
        &["-fsanitize=address,undefined", "-fno-omit-frame-pointer"],
    ) else {
        return;
    };
    let out = run_ours(
        &program,
        &[],
        &[
            (
                "ASAN_OPTIONS",
                "detect_leaks=1:abort_on_error=0:exitcode=23",
            ),
            ("UBSAN_OPTIONS", "halt_on_error=1"),
            ("TEST_SASLDB", &fresh_db("asan")),
        ],
    );
    assert_all_ok(&out);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("ERROR: AddressSanitizer"));
}

#[test]
fn c_exchanges_under_valgrind() {
    if !have("valgrind", &["--version"]) {
        return;
    }
    let Some(program) = exchange_program("valgrind", &[]) else {
        return;
    };
    let out = run_ours(
        &program,
        &[
            "valgrind",
            "--error-exitcode=9",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect",
            "-q",
        ],
        &[("TEST_SASLDB", &fresh_db("valgrind"))],
    );
    assert_all_ok(&out);
}

#[test]
fn the_same_program_passes_on_cyrus() {
    // The exchange program's expectations are Cyrus's: check them against the real library.
    if !have("cc", &["--version"]) || !have_file("/usr/include/sasl/sasl.h") {
        return;
    }
    let dir = scratch("exchange-cyrus");
    let program = dir.join("exchange-cyrus");
    compile("exchange.c", &program, false, &[]);
    let db = dir.join("sasldb2");
    let _ = std::fs::remove_file(&db);
    let out = cyrus_command(&program)
        .env("TEST_SASLDB", &db)
        .env("TEST_MECH_LIST", "CRAM-MD5 PLAIN LOGIN")
        .output()
        .unwrap();
    assert_all_ok(&out);
}

/// The mechanisms both libraries have, for programs that also run on Cyrus's.
const COMMON_MECHANISMS: &str = "SCRAM-SHA-256 SCRAM-SHA-1 DIGEST-MD5 CRAM-MD5 PLAIN LOGIN";

fn assert_canon_ok(out: &Output, mechanisms: &[&str]) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success()
            && stdout.contains("ok all")
            && mechanisms
                .iter()
                .all(|m| stdout.lines().any(|l| l == format!("ok {m}"))),
        "{}",
        text(out)
    );
}

#[test]
fn canon_user_callback_as_cyrus() {
    // canon.c: the callback lower-cases names (BOB logs in as bob, SASL_USERNAME says so), sees
    // the user realm, and its error code is the exchange's. The same program on both
    // libraries; ours with every mechanism it offers, and under valgrind.
    if !have("cc", &["--version"]) || !have_file("/usr/include/sasl/sasl.h") {
        return;
    }
    let dir = scratch("canon");
    let ours = dir.join("canon-ours");
    compile("canon.c", &ours, true, &[]);
    let db = fresh_db("canon-ours");
    let mechanisms: Vec<&str> = puresasl::unstable::MECHANISMS
        .iter()
        .filter(|m| !m.channel_binding && !["ANONYMOUS", "EXTERNAL"].contains(&m.name))
        .map(|m| m.name)
        .collect();
    assert_canon_ok(&run_ours(&ours, &[], &[("TEST_SASLDB", &db)]), &mechanisms);
    if have("valgrind", &["--version"]) {
        let db = fresh_db("canon-valgrind");
        let out = run_ours(
            &ours,
            &[
                "valgrind",
                "--error-exitcode=9",
                "--leak-check=full",
                "--errors-for-leak-kinds=definite,indirect",
                "-q",
            ],
            &[
                ("TEST_SASLDB", &db),
                ("TEST_MECH_LIST", "PLAIN SCRAM-SHA-1"),
            ],
        );
        assert_canon_ok(&out, &["PLAIN", "SCRAM-SHA-1"]);
    }
    let cyrus = dir.join("canon-cyrus");
    compile("canon.c", &cyrus, false, &[]);
    let db = fresh_db("canon-cyrus");
    let out = cyrus_command(&cyrus)
        .env("TEST_SASLDB", &db)
        .env("TEST_MECH_LIST", COMMON_MECHANISMS)
        .output()
        .unwrap();
    let common: Vec<&str> = COMMON_MECHANISMS.split(' ').collect();
    assert_canon_ok(&out, &common);
}

fn saslpasswd2(db: &Path, user: &str, password: &str, ours: bool, extra: &[&str]) -> Output {
    saslpasswd2_with_modules(db, user, password, ours, extra, no_modules())
}

/// `saslpasswd2` (in the realm `bench.example.org` unless `extra` names another) with the
/// plug-in modules of `modules` on our library.
fn saslpasswd2_with_modules(
    db: &Path,
    user: &str,
    password: &str,
    ours: bool,
    extra: &[&str],
    modules: &Path,
) -> Output {
    use std::io::Write;
    let mut command = cyrus_command("saslpasswd2");
    command
        .arg("-f")
        .arg(db)
        .args(["-p", "-u", "bench.example.org"])
        .args(extra)
        .arg(user)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if ours {
        command
            .env("LD_LIBRARY_PATH", library_dir())
            .env("SASL_PATH", modules);
    }
    let mut child = command.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(password.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn bench_program(ours: bool) -> PathBuf {
    let dir = scratch("bench");
    let program = dir.join(if ours { "bench-ours" } else { "bench-cyrus" });
    let mut cc = Command::new("cc");
    cc.args(["-O1", "-Wall", "-Werror", "-Wno-cast-function-type", "-o"])
        .arg(&program)
        .arg(repo_dir().join("benches/c/sasl_bench.c"));
    if ours {
        cc.arg(format!("-I{}", repo_dir().join("include").display()))
            .arg(format!("-L{}", library_dir().display()))
            .arg("-l:libsasl2.so.2");
    } else {
        cc.arg("-lsasl2");
    }
    let out = cc.output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    program
}

fn authenticate(ours: bool, db: &Path, user: &str, password: &str, mechs: &[&str]) -> Output {
    let mut command = cyrus_command(bench_program(ours));
    command.arg(db).args([user, password, "1"]).args(mechs);
    if ours {
        command
            .env("LD_LIBRARY_PATH", library_dir())
            .env("SASL_PATH", no_modules());
    }
    command.output().unwrap()
}

#[test]
fn saslpasswd2_runs_on_our_library_and_both_libraries_share_sasldb2() {
    if !have("cc", &["--version"])
        || !have_file("/usr/include/sasl/sasl.h")
        || !have_file("/usr/sbin/saslpasswd2")
        || !have_file("/usr/sbin/sasldblistusers2")
    {
        return;
    }
    let db = PathBuf::from(fresh_db("shared"));
    // Cyrus's own tool, once on Cyrus's library and once on ours.
    let out = saslpasswd2(&db, "bob", "pw2", false, &["-c"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = saslpasswd2(&db, "carol", "pw3", true, &["-c"]);
    assert!(
        out.status.success(),
        "saslpasswd2 on puresasl: {}",
        text(&out)
    );
    let out = saslpasswd2(&db, "dave", "pw4", true, &["-c"]);
    assert!(out.status.success(), "{}", text(&out));
    let list = cyrus_command("sasldblistusers2")
        .arg("-f")
        .arg(&db)
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout).into_owned();
    assert!(
        list.contains("bob@bench.example.org: userPassword"),
        "{list}"
    );
    assert!(
        list.contains("carol@bench.example.org: userPassword"),
        "{list}"
    );

    // Every password mechanism we have reads both users.
    let ours: Vec<&str> = puresasl::unstable::MECHANISMS
        .iter()
        .filter(|m| !m.channel_binding && !["ANONYMOUS", "EXTERNAL"].contains(&m.name))
        .map(|m| m.name)
        .collect();
    for (user, password) in [("bob", "pw2"), ("carol", "pw3")] {
        let out = authenticate(true, &db, user, password, &ours);
        assert!(out.status.success(), "puresasl, {user}: {}", text(&out));
        let out = authenticate(true, &db, user, "wrong", &["PLAIN"]);
        assert!(!out.status.success(), "puresasl accepted a wrong password");
    }
    // Cyrus reads what saslpasswd2 wrote through our library.
    let cyrus = [
        "PLAIN",
        "LOGIN",
        "CRAM-MD5",
        "DIGEST-MD5",
        "SCRAM-SHA-1",
        "SCRAM-SHA-256",
    ];
    let out = authenticate(false, &db, "carol", "pw3", &cyrus);
    assert!(out.status.success(), "Cyrus, carol: {}", text(&out));

    // Deleting through our library.
    let out = saslpasswd2(&db, "dave", "", true, &["-d"]);
    assert!(
        out.status.success(),
        "saslpasswd2 -d on puresasl: {}",
        text(&out)
    );
    let list = cyrus_command("sasldblistusers2")
        .arg("-f")
        .arg(&db)
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout).into_owned();
    assert!(!list.contains("dave@"), "{list}");
    assert!(list.contains("carol@"), "{list}");
}

#[test]
fn config_file_search_and_options_as_cyrus() {
    if !have("cc", &["--version"]) || !have_file("/usr/include/sasl/sasl.h") {
        return;
    }
    let dir = scratch("config");
    let files = [
        ("a", "mech_list: plain\n"),
        (
            "b",
            "# first key wins\nmech_list: login\nmech_list: plain\n",
        ),
        ("c", "  mech_list: cram-md5 login   \n"),
        ("bad", "mech_list : plain\n"),
        ("comma", "mech_list: cram-md5, plain\n"),
    ];
    for (name, contents) in files {
        std::fs::create_dir_all(dir.join(name)).unwrap();
        std::fs::write(dir.join(name).join("app.conf"), contents).unwrap();
    }
    let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let ours = dir.join("config-ours");
    let cyrus = dir.join("config-cyrus");
    compile("config.c", &ours, true, &[]);
    compile("config.c", &cyrus, false, &[]);
    let cases: Vec<(Vec<String>, &str)> = vec![
        // $SASL_CONF_PATH when nothing else is set.
        (vec![], "init 0\nmechs PLAIN\n"),
        // sasl_set_path beats $SASL_CONF_PATH; the first key wins.
        (
            vec!["--set-path".into(), path("b")],
            "init 0\nmechs LOGIN\n",
        ),
        // The GETCONFPATH callback beats sasl_set_path.
        (
            vec![
                "--set-path".into(),
                path("b"),
                "--confpath-callback".into(),
                path("c"),
            ],
            "init 0\nmechs CRAM-MD5 LOGIN\n",
        ),
        // Directories without the file are skipped.
        (
            vec![
                "--set-path".into(),
                format!("{}:{}", path("none"), path("c")),
            ],
            "init 0\nmechs CRAM-MD5 LOGIN\n",
        ),
        // GETOPT beats the file.
        (
            vec![
                "--set-path".into(),
                path("c"),
                "--getopt".into(),
                "mech_list=plain".into(),
            ],
            "init 0\nmechs PLAIN\n",
        ),
        // A space before the colon is a configuration error.
        (vec!["--set-path".into(), path("bad")], "init -100\n"),
        // "cram-md5," is not a mechanism name: only PLAIN remains.
        (
            vec!["--set-path".into(), path("comma")],
            "init 0\nmechs PLAIN\n",
        ),
    ];
    for (args, expected) in &cases {
        let run = |program: &Path, ours: bool| {
            let mut command = cyrus_command(program);
            if ours {
                command
                    .env("LD_LIBRARY_PATH", library_dir())
                    .env("SASL_PATH", no_modules());
            }
            let out = command
                .arg("app")
                .args(args)
                .env("SASL_CONF_PATH", path("a"))
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        assert_eq!(run(&cyrus, false), *expected, "Cyrus with {args:?}");
        assert_eq!(run(&ours, true), *expected, "puresasl with {args:?}");
    }
    // No file anywhere: every mechanism, strongest first (EXTERNAL only with
    // SASL_AUTH_EXTERNAL).
    let mut command = cyrus_command(&ours);
    let out = command
        .env("LD_LIBRARY_PATH", library_dir())
        .env("SASL_PATH", no_modules())
        .env_remove("SASL_CONF_PATH")
        .args(["app", "--set-path"])
        .arg(path("none"))
        .output()
        .unwrap();
    let all: Vec<&str> = puresasl::unstable::MECHANISMS
        .iter()
        .filter(|m| !m.channel_binding && m.name != "EXTERNAL")
        .map(|m| m.name)
        .collect();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("init 0\nmechs {}\n", all.join(" "))
    );
}

/// Runs `pair client` against `pair server` over pipes; returns (server, client) outputs.
fn run_pair(
    server_ours: bool,
    client_ours: bool,
    db: &Path,
    mech: &str,
    password: &str,
) -> (Output, Output) {
    run_pair_full(server_ours, client_ours, db, mech, password, &[])
}

/// `run_pair` with our client and extra environment for the server (`SASL_PATH` also for the
/// client).
fn run_pair_env(
    server_ours: bool,
    db: &Path,
    mech: &str,
    password: &str,
    envs: &[(&str, &str)],
) -> (Output, Output) {
    run_pair_full(server_ours, true, db, mech, password, envs)
}

fn run_pair_full(
    server_ours: bool,
    client_ours: bool,
    db: &Path,
    mech: &str,
    password: &str,
    envs: &[(&str, &str)],
) -> (Output, Output) {
    use std::io::{Read, Write};
    use std::process::Stdio;
    let dir = scratch("pair");
    let program = |ours: bool| {
        let path = dir.join(if ours { "pair-ours" } else { "pair-cyrus" });
        static BUILT: std::sync::Mutex<Vec<bool>> = std::sync::Mutex::new(Vec::new());
        let mut built = BUILT.lock().unwrap_or_else(|p| p.into_inner());
        if !built.contains(&ours) {
            compile("pair.c", &path, ours, &[]);
            built.push(ours);
        }
        path
    };
    let mut server = cyrus_command(program(server_ours));
    if server_ours {
        server
            .env("LD_LIBRARY_PATH", library_dir())
            .env("SASL_PATH", no_modules());
    }
    for (key, value) in envs {
        server.env(key, value);
    }
    let mut server = server
        .arg("server")
        .arg(db)
        .arg(mech)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut client = cyrus_command(program(client_ours));
    if client_ours {
        client
            .env("LD_LIBRARY_PATH", library_dir())
            .env("SASL_PATH", no_modules());
    }
    // The plug-in path goes to both sides (the other variables only matter to the server).
    for (key, value) in envs.iter().filter(|(key, _)| *key == "SASL_PATH") {
        client.env(key, value);
    }
    let mut client = client
        .args(["client", mech, "bob", password])
        .stdin(Stdio::from(server.stdout.take().unwrap()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut to_server = server.stdin.take().unwrap();
    let mut from_client = client.stdout.take().unwrap();
    let relay = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = from_client.read(&mut buf) {
            if n == 0 || to_server.write_all(&buf[..n]).is_err() {
                break;
            }
        }
    });
    let client = client.wait_with_output().unwrap();
    let server = server.wait_with_output().unwrap();
    relay.join().unwrap();
    (server, client)
}

#[test]
fn cross_library_pairs_for_every_common_mechanism() {
    if !have("cc", &["--version"])
        || !have_file("/usr/include/sasl/sasl.h")
        || !have_file("/usr/sbin/saslpasswd2")
    {
        return;
    }
    let db = PathBuf::from(fresh_db("pairs"));
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "printf pw2 | saslpasswd2 -f '{}' -p -c -u pair.example.org bob",
            db.display()
        ))
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    // Cyrus 2.1.28 as Debian ships it; each joins as the core gains it.
    let cyrus = [
        "PLAIN",
        "LOGIN",
        "CRAM-MD5",
        "DIGEST-MD5",
        "SCRAM-SHA-1",
        "SCRAM-SHA-256",
    ];
    let common: Vec<&str> = puresasl::unstable::MECHANISMS
        .iter()
        .map(|m| m.name)
        .filter(|name| cyrus.contains(name))
        .collect();
    assert!(common.len() >= 3, "{common:?}");
    for mech in common {
        for (server_ours, client_ours) in [(true, false), (false, true), (true, true)] {
            let (server, client) = run_pair(server_ours, client_ours, &db, mech, "pw2");
            assert!(
                server.status.success() && client.status.success(),
                "{mech} server ours={server_ours} client ours={client_ours}:\n{}\n{}",
                text(&server),
                text(&client)
            );
            assert!(String::from_utf8_lossy(&server.stderr).contains("authenticated bob"));
            let (server, _) = run_pair(server_ours, client_ours, &db, mech, "wrong");
            assert!(
                !server.status.success(),
                "{mech}: wrong password accepted (server ours={server_ours})"
            );
        }
    }
}

#[test]
fn one_connection_per_thread_in_parallel() {
    if !have("cc", &["--version"]) {
        return;
    }
    let dir = scratch("threads");
    for (variant, extra) in [
        ("plain", &["-pthread"][..]),
        ("asan", &["-pthread", "-fsanitize=address,undefined"][..]),
    ] {
        let program = dir.join(format!("threads-{variant}"));
        compile("threads.c", &program, true, extra);
        let db = fresh_db(&format!("threads-{variant}"));
        let mut command = cyrus_command(&program);
        let out = command
            .arg(&db)
            .env("LD_LIBRARY_PATH", library_dir())
            .env("SASL_PATH", no_modules())
            .output()
            .unwrap();
        assert!(
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains("0 bad"),
            "{variant}: {}",
            text(&out)
        );
    }
}

/// A fake saslauthd: answers `OK` to `bob`/`right` (with the service and realm it expects)
/// and `NO` otherwise; records each request.
fn fake_saslauthd(path: &Path) -> std::sync::mpsc::Receiver<Vec<String>> {
    use std::io::{Read, Write};
    let _ = std::fs::remove_file(path);
    let listener = std::os::unix::net::UnixListener::bind(path).unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let mut fields = Vec::new();
            for _ in 0..4 {
                let mut len = [0u8; 2];
                if stream.read_exact(&mut len).is_err() {
                    break;
                }
                let mut field = vec![0u8; usize::from(u16::from_be_bytes(len))];
                if stream.read_exact(&mut field).is_err() {
                    break;
                }
                fields.push(String::from_utf8_lossy(&field).into_owned());
            }
            let ok = fields.len() == 4 && fields[0] == "bob" && fields[1] == "right";
            let reply: &[u8] = if ok { b"OK" } else { b"NO bad password" };
            let mut message = u16::try_from(reply.len()).unwrap().to_be_bytes().to_vec();
            message.extend_from_slice(reply);
            let _ = stream.write_all(&message);
            if sender.send(fields).is_err() {
                break;
            }
        }
    });
    receiver
}

#[test]
fn pwcheck_saslauthd_speaks_cyrus_protocol() {
    if !have("cc", &["--version"]) || !have_file("/usr/include/sasl/sasl.h") {
        return;
    }
    let dir = scratch("saslauthd");
    let socket = dir.join("mux");
    let requests = fake_saslauthd(&socket);
    let db = PathBuf::from(fresh_db("saslauthd"));
    for server_ours in [false, true] {
        for (password, accepted) in [("right", true), ("wrong", false)] {
            let (server_out, _) = run_pair_env(
                server_ours,
                &db,
                "PLAIN",
                password,
                &[
                    ("PAIR_PWCHECK", "saslauthd"),
                    ("PAIR_SASLAUTHD_PATH", &socket.to_string_lossy()),
                ],
            );
            assert_eq!(
                server_out.status.success(),
                accepted,
                "server ours={server_ours} password={password}: {}",
                text(&server_out)
            );
            let fields = requests
                .recv_timeout(std::time::Duration::from_secs(5))
                .unwrap();
            // authid, password, service, realm (no user_realm: empty).
            assert_eq!(fields, ["bob", password, "pair", ""], "ours={server_ours}");
        }
    }
}

#[test]
fn cyrus_sample_server_runs_on_our_library() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    use std::sync::Arc;
    if !have_file("/usr/sbin/sasl-sample-server")
        || !have_file("/usr/sbin/saslpasswd2")
        || !have_file("/usr/bin/stdbuf")
    {
        return;
    }
    let dir = scratch("sample");
    let db = PathBuf::from(fresh_db("sample"));
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_owned();
    // saslpasswd2's default realm is the host name, which is also the sample server's.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "printf pw2 | saslpasswd2 -f '{}' -p -c bob",
            db.display()
        ))
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let b64 = |bytes: &[u8]| {
        let mut out = vec![0u8; puresasl_ffi::base64::encoded_len(bytes.len()) + 1];
        puresasl_ffi::base64::encode_into(bytes, &mut out);
        out.pop();
        String::from_utf8(out).unwrap()
    };
    let unb64 = |text: &str| {
        let mut out = vec![0u8; text.len() + 1];
        let decoded = puresasl_ffi::base64::decode(text.as_bytes(), &mut out);
        out.truncate(decoded.len.unwrap_or(0));
        out
    };
    let cyrus = [
        "PLAIN",
        "LOGIN",
        "CRAM-MD5",
        "DIGEST-MD5",
        "SCRAM-SHA-1",
        "SCRAM-SHA-256",
    ];
    let mechs: Vec<&str> = puresasl::unstable::MECHANISMS
        .iter()
        .map(|m| m.name)
        .filter(|m| cyrus.contains(m))
        .collect();
    for mech in mechs {
        for (password, accepted) in [("pw2", true), ("wrong", false)] {
            std::fs::write(
                dir.join("sample.conf"),
                format!(
                    "sasldb_path: {}\nmech_list: {mech}\npwcheck_method: auxprop\n",
                    db.display()
                ),
            )
            .unwrap();
            // The sample server does not flush its output: line-buffer it (stdbuf), or a
            // conversation over pipes deadlocks.
            let mut server = Command::new("stdbuf")
                .args(["-oL", "-eL", "/usr/sbin/sasl-sample-server"])
                .args(["-s", "rcmd", "-m", mech])
                .env("SASL_CONF_PATH", &dir)
                .env("LD_LIBRARY_PATH", library_dir())
                .env("SASL_PATH", no_modules())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let mut to_server = server.stdin.take().unwrap();
            let mut from_server = BufReader::new(server.stdout.take().unwrap());
            let transcript = std::cell::RefCell::new(String::new());
            let mut next_s = || -> Option<Vec<u8>> {
                let mut line = String::new();
                loop {
                    line.clear();
                    if from_server.read_line(&mut line).ok()? == 0 {
                        return None;
                    }
                    transcript.borrow_mut().push_str(&line);
                    if let Some(data) = line.trim_end().strip_prefix("S: ") {
                        return Some(unb64(data));
                    }
                    if line.trim_end() == "S:" {
                        return Some(Vec::new());
                    }
                }
            };
            let offered = next_s().expect("mechanism list");
            assert_eq!(String::from_utf8_lossy(&offered), mech);
            let config = Arc::new(puresasl::ClientConfig::new(
                "rcmd",
                &host,
                Arc::new(puresasl::Credentials::new("bob", password)),
            ));
            let mut client = puresasl::ClientSession::new(config);
            let start = client.start(mech).unwrap();
            let mut first = mech.as_bytes().to_vec();
            if let Some(initial) = start.initial_response {
                first.push(0);
                first.extend_from_slice(&initial);
            }
            writeln!(to_server, "C: {}", b64(&first)).unwrap();
            let mut done = false;
            // Challenges until the server sends its first application message.
            while let Some(challenge) = next_s() {
                if done || String::from_utf8_lossy(&challenge).starts_with("srv message") {
                    // The server's first application message: negotiation is over.
                    break;
                }
                match client.step(&challenge) {
                    Ok(puresasl::ClientStep::Continue(r)) => {
                        writeln!(to_server, "C: {}", b64(&r)).unwrap();
                    }
                    Ok(puresasl::ClientStep::Done(r)) => {
                        writeln!(to_server, "C: {}", b64(&r.unwrap_or_default())).unwrap();
                        done = true;
                    }
                    Err(_) => break,
                }
            }
            drop(to_server);
            let out = server.wait_with_output().unwrap();
            let all = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            let transcript_text = transcript.borrow().clone();
            let negotiated = transcript_text.contains("Negotiation complete")
                && transcript_text.contains("Username: bob");
            assert_eq!(
                negotiated,
                accepted,
                "sample server, {mech}, password {password}: {all}\n{}",
                transcript.borrow()
            );
        }
    }
}

fn assert_utils_ok(out: &Output, ours: bool) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let ours_only: &[&str] = if ours { &["plugins"] } else { &[] };
    assert!(
        out.status.success()
            && ["buffers", "rand", "props", "mkchal", "encodev", "all"]
                .iter()
                .chain(ours_only)
                .all(|check| stdout.lines().any(|l| l == format!("ok {check}"))),
        "{}",
        text(out)
    );
}

#[test]
fn saslutil_functions_and_encodev_as_cyrus() {
    // utils.c: sasl_erasebuffer, sasl_strlower, sasl_mkchal, the sasl_rand* pool, sasl_idle,
    // sasl_encodev (against sasl_encode) and prop_dup/erase/setvals/format; on ours only, the
    // plug-in calls (refused) and sasl_checkapop (unsupported). The same program on both
    // libraries, ours also under valgrind.
    if !have("cc", &["--version"]) || !have_file("/usr/include/sasl/saslutil.h") {
        return;
    }
    let dir = scratch("utils");
    let ours = dir.join("utils-ours");
    compile("utils.c", &ours, true, &[]);
    assert_utils_ok(&run_ours(&ours, &[], &[]), true);
    if have("valgrind", &["--version"]) {
        let out = run_ours(
            &ours,
            &[
                "valgrind",
                "--error-exitcode=9",
                "--leak-check=full",
                "--errors-for-leak-kinds=definite,indirect",
                "-q",
            ],
            &[],
        );
        assert_utils_ok(&out, true);
    }
    let cyrus = dir.join("utils-cyrus");
    compile("utils.c", &cyrus, false, &[]);
    assert_utils_ok(&cyrus_command(&cyrus).output().unwrap(), false);
}

#[test]
fn debian_config_exports_as_cyrus() {
    // debian.c: sasl_config_init/getstring/done on a file and after sasl_server_init, and
    // sasl_common_done; the same program on both libraries.
    if !have("cc", &["--version"]) || !have_file("/usr/include/sasl/sasl.h") {
        return;
    }
    let dir = scratch("debian");
    std::fs::write(
        dir.join("debian.conf"),
        "# Debian's config list\nmech_list: plain login\nlog_level: 3\n",
    )
    .unwrap();
    let conf_dir = dir.to_str().unwrap();
    let check = |out: &Output| {
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("ok common_done") && stdout.contains("ok all"),
            "{}",
            text(out)
        );
    };
    let ours = dir.join("debian-ours");
    compile("debian.c", &ours, true, &[]);
    check(&run_ours(&ours, &[], &[("TEST_CONF_DIR", conf_dir)]));
    let cyrus = dir.join("debian-cyrus");
    compile("debian.c", &cyrus, false, &[]);
    check(
        &cyrus_command(&cyrus)
            .env("TEST_CONF_DIR", conf_dir)
            .output()
            .unwrap(),
    );
}

/// Every check of security.c passed; `ours`: also those run on our library only.
fn assert_security_ok(out: &Output, ours: bool) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let only_ours: &[&str] = if ours { &["restart"] } else { &[] };
    assert!(
        out.status.success()
            && [
                "setpass",
                "lifetimes",
                "boundaries",
                "critical",
                "fork",
                "unknown",
                "scramcache",
                "all",
            ]
            .iter()
            .chain(only_ours)
            .all(|check| stdout.lines().any(|l| l == format!("ok {check}"))),
        "{}",
        text(out)
    );
}

#[test]
fn security_guarantees_as_cyrus_and_under_address_sanitizer() {
    // security.c: fresh randomness in every fork()ed child (CRAM-MD5 challenge, DIGEST-MD5
    // nonce, SCRAM nonce, sasl_rand), pointers held across hundreds of later calls, critical
    // channel binding, sasl_setpass with an empty password, long seterror texts, base64 and
    // prop_format output at the boundary, a second exchange replacing the first one's layer.
    // Ours plainly, under ASan and under valgrind; then Cyrus's.
    if !have("cc", &["--version"]) || !have_file("/usr/include/sasl/sasl.h") {
        return;
    }
    let dir = scratch("security");
    let ours = dir.join("security-ours");
    compile("security.c", &ours, true, &[]);
    let db = fresh_db("security-ours");
    assert_security_ok(&run_ours(&ours, &[], &[("TEST_SASLDB", &db)]), true);
    let asan = dir.join("security-asan");
    compile(
        "security.c",
        &asan,
        true,
        &["-fsanitize=address", "-fno-omit-frame-pointer"],
    );
    let db = fresh_db("security-asan");
    assert_security_ok(
        &run_ours(
            &asan,
            &[],
            &[("TEST_SASLDB", &db), ("ASAN_OPTIONS", "detect_leaks=0")],
        ),
        true,
    );
    if have("valgrind", &["--version"]) {
        let db = fresh_db("security-valgrind");
        assert_security_ok(
            &run_ours(
                &ours,
                &[
                    "valgrind",
                    "--error-exitcode=9",
                    "--trace-children=no",
                    "-q",
                ],
                &[("TEST_SASLDB", &db)],
            ),
            true,
        );
    }
    let codes = |out: &Output| -> Vec<String> {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with("code "))
            .map(str::to_owned)
            .collect()
    };
    let db = fresh_db("security-ours-codes");
    let our_codes = codes(&run_ours(&ours, &[], &[("TEST_SASLDB", &db)]));
    // An unknown user and a wrong password: the same prompts, and the codes Cyrus gives.
    assert!(our_codes.contains(&"code LOGIN alice -13 Username:|Password:".to_owned()));
    assert!(our_codes.contains(&"code LOGIN nobody -20 Username:|Password:".to_owned()));
    if have_file("/usr/lib/x86_64-linux-gnu/sasl2/libsasldb.so") {
        let cyrus = dir.join("security-cyrus");
        compile("security.c", &cyrus, false, &[]);
        let db = fresh_db("security-cyrus");
        let out = cyrus_command(&cyrus)
            .env("TEST_SASLDB", &db)
            .output()
            .unwrap();
        assert_security_ok(&out, false);
        assert_eq!(codes(&out), our_codes);
    }
}

#[test]
fn scram_salts_are_stable_across_processes() {
    // An unknown user's fake salt, and a plaintext user's derived salt, are the same in every
    // process (the server secret lives beside the store), and look alike.
    if !have("cc", &["--version"]) {
        return;
    }
    let dir = scratch("salts");
    let program = dir.join("security-salts");
    compile("security.c", &program, true, &[]);
    let db = fresh_db("salts");
    let _ = std::fs::remove_file(format!("{db}.puresasl-secret"));
    let run = || {
        let out = run_ours(&program, &[], &[("TEST_SASLDB", &db), ("TEST_SALTS", "1")]);
        assert!(out.status.success(), "{}", text(&out));
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let salt = |user: &str| {
            stdout
                .lines()
                .find_map(|l| l.strip_prefix(&format!("salt {user} ")))
                .unwrap()
                .to_owned()
        };
        (salt("alice"), salt("nobody"))
    };
    let (alice, nobody) = run();
    assert_ne!(nobody, "none");
    assert_eq!(run(), (alice.clone(), nobody.clone()));
    let secret = std::fs::metadata(format!("{db}.puresasl-secret")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&secret.permissions()) & 0o777,
        0o640
    );
    let (salt, iterations) = alice.split_once(",i=").unwrap();
    let (fake_salt, fake_iterations) = nobody.split_once(",i=").unwrap();
    assert_eq!(salt.len(), fake_salt.len());
    assert_eq!(iterations, fake_iterations);
}

#[test]
fn callbacks_that_reenter_the_library() {
    // reentry.c: every server and client callback (GETOPT, LOG, CANON_USER, PROXY_POLICY,
    // AUTHNAME, USER, PASS, GETREALM) calls sasl_getprop, sasl_errdetail and sasl_seterror on
    // its own connection during exchanges of every common mechanism and the user-database
    // calls. Ours under AddressSanitizer, then Cyrus's.
    if !have("cc", &["--version"]) || !have_file("/usr/include/sasl/sasl.h") {
        return;
    }
    let check = |out: &Output| {
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success()
                && [
                    "PLAIN",
                    "LOGIN",
                    "CRAM-MD5",
                    "DIGEST-MD5",
                    "SCRAM-SHA-256",
                    "all"
                ]
                .iter()
                .all(|m| stdout.lines().any(|l| l == format!("ok {m}"))),
            "{}",
            text(out)
        );
    };
    let dir = scratch("reentry");
    let asan = dir.join("reentry-asan");
    compile(
        "reentry.c",
        &asan,
        true,
        &["-fsanitize=address", "-fno-omit-frame-pointer"],
    );
    let db = fresh_db("reentry-ours");
    check(&run_ours(
        &asan,
        &[],
        &[("TEST_SASLDB", &db), ("ASAN_OPTIONS", "detect_leaks=0")],
    ));
    if have_file("/usr/lib/x86_64-linux-gnu/sasl2/libsasldb.so") {
        let cyrus = dir.join("reentry-cyrus");
        compile("reentry.c", &cyrus, false, &[]);
        let db = fresh_db("reentry-cyrus");
        check(
            &cyrus_command(&cyrus)
                .env("TEST_SASLDB", &db)
                .output()
                .unwrap(),
        );
    }
}

/// The "ok <case>" lines and the "code ..." lines of a run of a program that prints them.
fn cases_and_codes(out: &Output, cases: &[&str]) -> Vec<String> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success()
            && cases
                .iter()
                .all(|c| stdout.lines().any(|l| l == format!("ok {c}"))),
        "{}",
        text(out)
    );
    stdout
        .lines()
        .filter(|l| l.starts_with("code "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn server_fidelity_as_cyrus() {
    // server_fidelity.c (issue 14): CANON_USER returning user@REALM for every mechanism,
    // sasl_server_start's codes for filtered mechanisms, the store's options read at lookup
    // time, PROXY_POLICY after every exchange with Cyrus's names, sasl_decode64's edge cases;
    // and in a second run SASL_CB_VERIFYFILE over the configuration search path. Ours, then
    // Cyrus's; the printed codes must be the same.
    if !have("cc", &["--version"]) || !have_file("/usr/include/sasl/sasl.h") {
        return;
    }
    let cases = [
        "late-options",
        "canon-realm",
        "codes",
        "proxy-policy",
        "decode64",
        "all",
    ];
    let dir = scratch("server-fidelity");
    let run = |ours: bool| -> Vec<String> {
        let side = if ours { "ours" } else { "cyrus" };
        let program = dir.join(format!("server-fidelity-{side}"));
        compile("server_fidelity.c", &program, ours, &[]);
        let db = fresh_db(&format!("server-fidelity-{side}"));
        let conf = dir.join(format!("conf-{side}"));
        let _ = std::fs::remove_dir_all(&conf);
        std::fs::create_dir_all(&conf).unwrap();
        let envs = [
            ("TEST_SASLDB", db.as_str()),
            ("TEST_DIR", conf.to_str().unwrap()),
        ];
        let (mut main, mut verify) = if ours {
            let mut main = Command::new(&program);
            main.env("LD_LIBRARY_PATH", library_dir());
            let mut verify = Command::new(&program);
            verify.env("LD_LIBRARY_PATH", library_dir());
            (main, verify)
        } else {
            (cyrus_command(&program), cyrus_command(&program))
        };
        verify.arg("verifyfile");
        for (k, v) in envs {
            main.env(k, v);
            verify.env(k, v);
        }
        let (main, verify) = (main.output().unwrap(), verify.output().unwrap());
        let mut codes = cases_and_codes(&main, &cases);
        codes.extend(cases_and_codes(&verify, &["verifyfile", "all"]));
        codes
    };
    let ours = run(true);
    if have_file("/usr/lib/x86_64-linux-gnu/sasl2/libsasldb.so") {
        assert_eq!(run(false), ours);
    }
}

#[test]
fn anonymous_and_external_as_cyrus() {
    // anon_external.c (issue 14): ANONYMOUS listed unless noanonymous, its trace logged, the
    // user "anonymous"; EXTERNAL offered only with SASL_AUTH_EXTERNAL, authorising as it or as
    // the identity the proxy policy allows, on both sides, again on the same connection, with
    // the security flags filtering both. Ours, then Cyrus's (ANONYMOUS from
    // libsasl2-modules); the printed codes must be the same.
    if !have("cc", &["--version"]) || !have_file("/usr/include/sasl/sasl.h") {
        return;
    }
    let cases = [
        "anonymous",
        "external-server",
        "external-client",
        "anonymous-client",
        "pairs",
        "all",
    ];
    let dir = scratch("anon-external");
    let ours = dir.join("anon-external-ours");
    compile("anon_external.c", &ours, true, &[]);
    let db = fresh_db("anon-external-ours");
    let our_codes = cases_and_codes(&run_ours(&ours, &[], &[("TEST_SASLDB", &db)]), &cases);
    if have_file("/usr/lib/x86_64-linux-gnu/sasl2/libanonymous.so") {
        let cyrus = dir.join("anon-external-cyrus");
        compile("anon_external.c", &cyrus, false, &[]);
        let db = fresh_db("anon-external-cyrus");
        let out = cyrus_command(&cyrus)
            .env("TEST_SASLDB", &db)
            .output()
            .unwrap();
        assert_eq!(cases_and_codes(&out, &cases), our_codes);
    }
}

/// The lines `client_interact.c` prints, as Cyrus 2.1.28 prints them (issue 14).
const CLIENT_INTERACT_LINES: &[&str] = &[
    r"plain: start=2 mech=PLAIN [USER AUTHNAME PASS] start=0 mech=PLAIN out=\x00tim\x00tanstaaftanstaaf username=tim",
    r"plain-authzid: start=2 mech=PLAIN [USER AUTHNAME PASS] start=0 mech=PLAIN out=boss\x00tim\x00tanstaaftanstaaf username=boss",
    r"plain-step-answers: start=2 mech=PLAIN [USER AUTHNAME PASS] step=0 out=\x00tim\x00tanstaaftanstaaf username=tim",
    r"scram-step-answers: start=2 [USER AUTHNAME PASS] step=1 out=n,,n=tim",
    r"no-clientout: start=1 mech=PLAIN step=2 [USER AUTHNAME PASS] step=0 out=\x00tim\x00tanstaaftanstaaf; start=1 mech=SCRAM-SHA-1 step=2 [USER AUTHNAME PASS] step=1 out=n,,n=tim; start=1 mech=CRAM-MD5 step=2 [AUTHNAME PASS] step=0 out=tim b913a602c7eda7a495b4e6e7334d3890;",
    r"scram: start=2 mech=SCRAM-SHA-1 [USER AUTHNAME PASS] start=1 mech=SCRAM-SHA-1 out=n,,n=tim",
    r"cram: start=1 mech=CRAM-MD5 out=NULL step=2 [AUTHNAME PASS] step=0 out=tim ",
    r"cram-same-input: start=1 mech=CRAM-MD5 step=2 [AUTHNAME PASS] step=0 out=tim b913a602c7eda7a495b4e6e7334d3890",
    r"login: start=1 mech=LOGIN out=NULL step=2 [AUTHNAME] step=1 out=tim step=2 [PASS] step=0 out=tanstaaftanstaaf",
    r#"digest-two-realms: start=1 mech=DIGEST-MD5 out=NULL step=2 [USER AUTHNAME PASS] step=1 username="tim" realm="mail.example.org""#,
    r#"digest-no-realm: start=1 mech=DIGEST-MD5 step=2 [USER AUTHNAME PASS] step=1 username="tim" realm="mail.example.org""#,
    r#"digest-one-realm-listed: start=1 mech=DIGEST-MD5 step=2 [USER AUTHNAME PASS] step=1 username="tim" realm="a.example""#,
    r#"digest-two-realms-listed: start=1 mech=DIGEST-MD5 step=2 [USER AUTHNAME PASS GETREALM] step=1 username="tim" realm="b.example""#,
    r"unanswered: start=2 start=-7",
    r#"digest-getrealm-procedure: start=1 mech=DIGEST-MD5 step=2 [USER AUTHNAME PASS] step=1 username="tim" realm="a.example" calls=0; start=1 mech=DIGEST-MD5 step=2 [USER AUTHNAME PASS] step=1 username="tim" realm="b.example" calls=2; start=1 mech=DIGEST-MD5 step=2 [USER AUTHNAME PASS] step=1 username="tim" realm="mail.example.org" calls=0;"#,
    r"failing-callback: start=-1 mech=PLAIN",
    r"nomech: start=-4 mech=unset detail-ok",
    r"external-ssf: start=-4 mech=unset start=2 mech=PLAIN [USER AUTHNAME PASS] start=0 mech=PLAIN out=\x00tim\x00tanstaaftanstaaf",
    r"no-password: start=-4 mech=unset detail-ok",
    r"default-authname: start=0 mech=PLAIN out=\x00envuser\x00pw username=envuser",
    r"prompt-user-only: start=2 mech=PLAIN [USER] start=0 mech=PLAIN out=boss\x00envuser\x00pw username=boss",
];

#[test]
fn client_interaction_as_cyrus() {
    // client_interact.c: SASL_INTERACT from the global callback list, answers through
    // sasl_client_start again or sasl_client_step (NULL or the same challenge), prompts only
    // when the mechanism needs them (DIGEST-MD5's realm only when offered and listed), *mech
    // on failure, SASL_USERNAME after start, an external SSF lifting noplaintext, and "No
    // worthy mechs found". The same lines from our library and from Cyrus's.
    if !have("cc", &["--version"]) || !have_file("/usr/include/sasl/sasl.h") {
        return;
    }
    let dir = scratch("client_interact");
    // Ours also under AddressSanitizer: the prompts are read and written by the application
    // between calls, and the answers may be read after the next call has replaced them.
    let run = |ours: bool, asan: bool| -> Vec<String> {
        let program = dir.join(match (ours, asan) {
            (true, true) => "ci-asan",
            (true, false) => "ci-ours",
            _ => "ci-cyrus",
        });
        let flags: &[&str] = if asan {
            &["-fsanitize=address", "-fno-omit-frame-pointer"]
        } else {
            &[]
        };
        compile("client_interact.c", &program, ours, flags);
        let mut lines = Vec::new();
        for mode in ["global", "none"] {
            let mut command = cyrus_command(&program);
            if ours {
                command.env("LD_LIBRARY_PATH", library_dir());
                command.env("ASAN_OPTIONS", "detect_leaks=0");
            }
            let out = command.arg(mode).env("USER", "envuser").output().unwrap();
            assert!(out.status.success(), "ours={ours} {mode}: {}", text(&out));
            lines.extend(
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .map(str::to_owned),
            );
        }
        lines
    };
    assert_eq!(run(true, false), CLIENT_INTERACT_LINES, "our library");
    assert_eq!(run(true, true), CLIENT_INTERACT_LINES, "ours under ASan");
    if have_file("/usr/lib/x86_64-linux-gnu/sasl2/libplain.so") {
        assert_eq!(run(false, false), CLIENT_INTERACT_LINES, "Cyrus's library");
    }
}

/// Runs `layers client` against `layers server` (one on each library, or both on ours) with
/// the client's SSF range `min`..=`max`; returns (server, client) outputs.
fn run_layers(
    program: &dyn Fn(bool) -> PathBuf,
    server_ours: bool,
    client_ours: bool,
    db: &Path,
    (min, max): (u32, u32),
) -> (Output, Output) {
    use std::io::{Read, Write};
    use std::process::Stdio;
    let mut server = cyrus_command(program(server_ours));
    if server_ours {
        server.env("LD_LIBRARY_PATH", library_dir());
    }
    let mut server = server
        .arg("server")
        .arg(db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut client = cyrus_command(program(client_ours));
    if client_ours {
        client.env("LD_LIBRARY_PATH", library_dir());
    }
    let mut client = client
        .args(["client", "bob", "pw2", &min.to_string(), &max.to_string()])
        .stdin(Stdio::from(server.stdout.take().unwrap()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut to_server = server.stdin.take().unwrap();
    let mut from_client = client.stdout.take().unwrap();
    let relay = std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        while let Ok(n) = from_client.read(&mut buf) {
            if n == 0 || to_server.write_all(&buf[..n]).is_err() {
                break;
            }
        }
    });
    let client = client.wait_with_output().unwrap();
    let server = server.wait_with_output().unwrap();
    relay.join().unwrap();
    (server, client)
}

#[test]
fn security_layers_across_libraries() {
    // layers.c: DIGEST-MD5 auth-int and every auth-conf cipher, payloads of 1 byte to 1 MB
    // both ways, sasl_encode splitting what exceeds SASL_MAXOUTBUF, sasl_decode fed whole
    // frames (several packets) and pieces of 1, 3, 4093 and 70000 bytes; SASL_MAXOUTBUF as
    // Cyrus reports it. Our client with Cyrus's server, Cyrus's client with our server, and
    // ours with ours (issue 14).
    if !have("cc", &["--version"])
        || !have_file("/usr/include/sasl/sasl.h")
        || !have_file("/usr/sbin/saslpasswd2")
        || !have_file("/usr/lib/x86_64-linux-gnu/sasl2/libdigestmd5.so")
    {
        return;
    }
    let dir = scratch("layers");
    let db = PathBuf::from(fresh_db("layers"));
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "printf pw2 | saslpasswd2 -f '{}' -p -c -u pair.example.org bob",
            db.display()
        ))
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let built: std::sync::Mutex<Vec<bool>> = std::sync::Mutex::new(Vec::new());
    let program = |ours: bool| {
        let path = dir.join(if ours { "layers-ours" } else { "layers-cyrus" });
        let mut built = built.lock().unwrap();
        if !built.contains(&ours) {
            compile("layers.c", &path, ours, &[]);
            built.push(ours);
        }
        path
    };
    // (client SSF range, SSF, the client's SASL_MAXOUTBUF); the server's is 4 less.
    let layers = [
        ((1, 1), 1, 65520),
        ((40, 40), 40, 65511),
        ((55, 55), 55, 65511),
        ((56, 56), 56, 65511),
        ((112, 112), 112, 65511),
        ((128, 128), 128, 65511),
    ];
    for (range, ssf, maxoutbuf) in layers {
        for (server_ours, client_ours) in [(true, false), (false, true), (true, true)] {
            // Debian's Cyrus cannot set up 3DES under OpenSSL 3 ("failed to init cipher
            // '3des'"): that cipher runs between our two ends only.
            if ssf == 112 && !(server_ours && client_ours) {
                continue;
            }
            let (server, client) = run_layers(&program, server_ours, client_ours, &db, range);
            let what = format!("ssf {ssf}, server ours={server_ours}, client ours={client_ours}");
            let (server_err, client_err) = (
                String::from_utf8_lossy(&server.stderr),
                String::from_utf8_lossy(&client.stderr),
            );
            assert!(
                server.status.success() && client.status.success(),
                "{what}:\n{}\n{}",
                text(&server),
                text(&client)
            );
            assert_eq!(
                client_err.lines().collect::<Vec<_>>(),
                [format!("maxoutbuf {maxoutbuf} ssf {ssf}").as_str(), "ok"],
                "client, {what}"
            );
            assert_eq!(
                server_err.lines().collect::<Vec<_>>(),
                [
                    format!("maxoutbuf {} ssf {ssf}", maxoutbuf - 4).as_str(),
                    "ok"
                ],
                "server, {what}"
            );
        }
    }
}

/// An application auxprop and canon_user plug-in of our own (`ffi/tests/c/plugin.c`),
/// compiled against Cyrus's headers and against ours: registration with version negotiation,
/// every `sasl_utils_t` entry the plug-ins can reach, PLAIN logins answered by the plug-in
/// (issue 12). Under AddressSanitizer on both libraries.
#[test]
fn application_plugins_on_both_libraries() {
    if !have("cc", &["--version"]) || !have_file("/usr/include/sasl/saslplug.h") {
        return;
    }
    let dir = scratch("plugin");
    let asan = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer"];
    let envs = [
        (
            "ASAN_OPTIONS",
            "detect_leaks=1:abort_on_error=0:exitcode=23",
        ),
        ("UBSAN_OPTIONS", "halt_on_error=1"),
    ];
    compile("plugin.c", &dir.join("plugin-ours"), true, &asan);
    let ours = run_ours(&dir.join("plugin-ours"), &[], &envs);
    assert!(
        ours.status.success() && String::from_utf8_lossy(&ours.stdout).contains("ok all"),
        "ours: {}",
        text(&ours)
    );
    let plain = "/usr/lib/x86_64-linux-gnu/sasl2/libplain.so";
    if have_file(plain) {
        // Cyrus with its PLAIN module only (other modules, GSSAPI's among them, leak
        // memory of their own under LeakSanitizer).
        let modules = dir.join("cyrus-modules");
        std::fs::create_dir_all(&modules).unwrap();
        let _ = std::fs::remove_file(modules.join("libplain.so"));
        std::os::unix::fs::symlink(plain, modules.join("libplain.so")).unwrap();
        compile("plugin.c", &dir.join("plugin-cyrus"), false, &asan);
        let mut command = cyrus_command(dir.join("plugin-cyrus"));
        command.envs(envs).env("SASL_PATH", &modules);
        let cyrus = command.output().unwrap();
        assert!(
            cyrus.status.success() && String::from_utf8_lossy(&cyrus.stdout).contains("ok all"),
            "cyrus: {}",
            text(&cyrus)
        );
    }
}

/// Cyrus's `sasldblistusers2` imports the data object `sasl_global_utils` and reaches the
/// sasldb2 file through it (`getcallback`, `getopt`, `malloc`...): on our library it lists
/// what it lists on Cyrus's (issue 12, issue 14).
#[test]
fn sasldblistusers2_lists_users_on_our_library() {
    if !have("saslpasswd2", &["-v"]) || !have("sasldblistusers2", &["-v"]) {
        return;
    }
    let db = fresh_db("listusers");
    for (user, realm) in [("alice", "example.org"), ("bob", "example.net")] {
        let mut add = cyrus_command("saslpasswd2");
        add.args(["-p", "-c", "-f", &db, "-u", realm, user])
            .stdin(std::process::Stdio::piped());
        let mut child = add.spawn().unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(b"secret\n").unwrap();
        assert!(child.wait().unwrap().success());
    }
    let cyrus = cyrus_command("sasldblistusers2")
        .args(["-f", &db])
        .output()
        .unwrap();
    let ours = Command::new("sasldblistusers2")
        .args(["-f", &db])
        .env("LD_LIBRARY_PATH", library_dir())
        .env("SASL_PATH", no_modules())
        .output()
        .unwrap();
    assert!(ours.status.success(), "{}", text(&ours));
    let listed = String::from_utf8_lossy(&ours.stdout).into_owned();
    assert!(
        listed.contains("alice@example.org: userPassword"),
        "{listed}"
    );
    assert!(listed.contains("bob@example.net: userPassword"), "{listed}");
    assert_eq!(listed, String::from_utf8_lossy(&cyrus.stdout));
}

/// A server mechanism plug-in of our own (`ffi/tests/c/mechplug.c`), compiled against
/// Cyrus's headers as a plug-in module and loaded from `$SASL_PATH` by both libraries:
/// listing, start with and without an initial response, canonicalisation and properties
/// through `sparams`, `SASL_USERNAME`/`SASL_SSF`/`SASL_MAXOUTBUF`/`SASL_MECHNAME`, the
/// plug-in's security layer under `sasl_encode`/`sasl_decode`, a wrong password, filtering by
/// `min_ssf`; and, on ours, `plugin_modules: no` (issue 12). Under ASan.
#[test]
fn mechanism_plugin_module_on_both_libraries() {
    if !have("cc", &["--version"]) || !have_file("/usr/include/sasl/saslplug.h") {
        return;
    }
    let dir = scratch("mechplug");
    let modules = dir.join("modules");
    std::fs::create_dir_all(&modules).unwrap();
    compile(
        "mechplug.c",
        &modules.join("libxpureplug.so"),
        false,
        &["-DMODULE", "-shared", "-fPIC"],
    );
    let asan = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer"];
    let path = modules.display().to_string();
    let envs = [
        (
            "ASAN_OPTIONS",
            "detect_leaks=1:abort_on_error=0:exitcode=23",
        ),
        ("UBSAN_OPTIONS", "halt_on_error=1"),
        ("SASL_PATH", path.as_str()),
    ];
    compile("mechplug.c", &dir.join("mechplug-ours"), true, &asan);
    let ours = run_ours(&dir.join("mechplug-ours"), &[], &envs);
    assert!(
        ours.status.success() && String::from_utf8_lossy(&ours.stdout).contains("ok all"),
        "ours: {}",
        text(&ours)
    );
    let mut off = envs.to_vec();
    off.push(("NO_MODULES", "1"));
    let ours = run_ours(&dir.join("mechplug-ours"), &[], &off);
    assert!(
        ours.status.success() && String::from_utf8_lossy(&ours.stdout).contains("ok not loaded"),
        "ours with plugin_modules: no: {}",
        text(&ours)
    );
    compile("mechplug.c", &dir.join("mechplug-cyrus"), false, &asan);
    let mut command = cyrus_command(dir.join("mechplug-cyrus"));
    command.envs(envs);
    let cyrus = command.output().unwrap();
    assert!(
        cyrus.status.success() && String::from_utf8_lossy(&cyrus.stdout).contains("ok all"),
        "cyrus: {}",
        text(&cyrus)
    );
}

/// Cyrus's `saslpluginviewer` on our library: the built-in mechanisms described as Cyrus
/// describes its modules, Cyrus's NTLM module (from the system plug-in directory) loaded and
/// described identically, the auxprop stores; every server mechanism we list is one Cyrus
/// lists (issue 12).
#[test]
fn pluginviewer_lists_builtins_and_modules() {
    let ntlm = "/usr/lib/x86_64-linux-gnu/sasl2/libntlm.so";
    if !have("saslpluginviewer", &["-h"]) || !have_file(ntlm) {
        return;
    }
    let ours = Command::new("saslpluginviewer")
        .args(["-s", "-a"])
        .env("LD_LIBRARY_PATH", library_dir())
        .output()
        .unwrap();
    let cyrus = cyrus_command("saslpluginviewer")
        .args(["-s", "-a"])
        .output()
        .unwrap();
    assert!(ours.status.success(), "{}", text(&ours));
    let ours = String::from_utf8_lossy(&ours.stdout).into_owned();
    let cyrus = String::from_utf8_lossy(&cyrus.stdout).into_owned();
    let block = |out: &str, plugin: &str| -> Vec<String> {
        let mut lines = out.lines().skip_while(|l| !l.starts_with(plugin));
        let mut block: Vec<String> = lines.next().into_iter().map(str::to_owned).collect();
        block.extend(lines.take_while(|l| l.starts_with('\t')).map(str::to_owned));
        block
    };
    for plugin in [
        "Plugin \"ntlm\"",
        "Plugin \"plain\"",
        "Plugin \"digestmd5\"",
    ] {
        let ours_block = block(&ours, plugin);
        assert!(ours_block.len() == 4, "{plugin} in {ours}");
        assert_eq!(ours_block, block(&cyrus, plugin), "{plugin}");
    }
    assert!(ours.contains("List of auxprop plugins follows\nPlugin \"sasldb\""));
    let listed = |out: &str| -> Vec<String> {
        out.lines()
            .skip_while(|l| !l.starts_with("Installed and properly configured SASL (server side)"))
            .nth(1)
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    let (ours_list, cyrus_list) = (listed(&ours), listed(&cyrus));
    assert!(ours_list.contains(&"NTLM".to_owned()), "{ours_list:?}");
    for mech in &ours_list {
        assert!(
            cyrus_list.contains(mech),
            "{mech} not listed by Cyrus: {cyrus_list:?}"
        );
    }
}

/// Where `.ci/run` unpacks Cyrus's plug-in modules that the tests load privately (installed,
/// they would change what both libraries load in every other test): `None` when absent.
fn unpacked_module(package_dir: &str, file: &str) -> Option<PathBuf> {
    let path = repo_dir()
        .join("target/cyrus-modules")
        .join(package_dir)
        .join("usr/lib/x86_64-linux-gnu/sasl2")
        .join(file);
    path.exists().then_some(path)
}

/// Cyrus's OTP module (Debian's `libsasl2-modules-otp`) on our library, a program that uses
/// the plug-in interface differently from slapd and GSSAPI: `saslpasswd2` sets the OTP secret
/// through the module's `setpass` (its `mech_avail` and `setpass` ask `sasl_auxprop_store`,
/// without and with a connection, and it stores a value with its NUL counted); logins through
/// the module, with our client and with Cyrus's, each use up one sequence number (the module
/// rewrites its secret through `sasl_auxprop_store`); a wrong pass phrase is refused.
#[test]
fn otp_module_on_our_library() {
    let Some(otp) = unpacked_module("otp", "libotp.so") else {
        eprintln!("skipped: no target/cyrus-modules/otp (.ci/run unpacks libsasl2-modules-otp)");
        return;
    };
    let dir = scratch("otp");
    let modules = dir.join("modules");
    std::fs::create_dir_all(&modules).unwrap();
    let link = modules.join("libotp.so");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&otp, &link).unwrap();
    let db = dir.join("sasldb2");
    let _ = std::fs::remove_file(&db);
    let phrase = "pass phrase 123";
    let out = saslpasswd2_with_modules(
        &db,
        "bob",
        phrase,
        true,
        &["-c", "-u", "pair.example.org"],
        &modules,
    );
    assert!(out.status.success(), "saslpasswd2: {}", text(&out));
    // The module's secret: "md5 TAB sequence TAB seed TAB otp TAB timeout".
    let sequence = || -> u32 {
        use puresasl::Auxprop as _;
        let values = puresasl::sasldb::SasldbStore::new(&db)
            .lookup("bob", "pair.example.org", "cmusaslsecretOTP")
            .unwrap();
        let secret =
            String::from_utf8_lossy(values.first().expect("an OTP secret").expose()).into_owned();
        assert!(!secret.contains('\0'), "stored as a C string: {secret:?}");
        secret.split('\t').nth(1).unwrap().parse().unwrap()
    };
    assert_eq!(sequence(), 499);
    let modules_env = modules.to_str().unwrap();
    for (client_ours, left) in [(true, 498), (false, 497)] {
        let (server, client) = run_pair_full(
            true,
            client_ours,
            &db,
            "OTP",
            phrase,
            &[("SASL_PATH", modules_env)],
        );
        assert!(
            server.status.success() && client.status.success(),
            "OTP, our client {client_ours}: server {}\nclient {}",
            text(&server),
            text(&client)
        );
        assert_eq!(sequence(), left, "one sequence number per login");
    }
    let (server, _) = run_pair_full(
        true,
        true,
        &db,
        "OTP",
        "wrong phrase 12",
        &[("SASL_PATH", modules_env)],
    );
    assert!(
        !server.status.success(),
        "a wrong pass phrase: {}",
        text(&server)
    );
}
