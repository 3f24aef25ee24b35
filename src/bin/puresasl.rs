//! `puresasl`: administration of sasldb2 files, compatible with Cyrus's tools.
//!
//! ```text
//! puresasl passwd [-c] [-d] [-n] [-p] [-u REALM] [-f FILE] [-a APPNAME | --config FILE] USER
//! puresasl listusers [-f FILE]
//! ```
//!
//! `passwd` takes `saslpasswd2`'s flags with its defaults: `-u` defaults to the host name,
//! `-f` to the `sasldb_path` of `<APPNAME>.conf` or `/etc/sasldb2`, `-a` to `saslpasswd`
//! (`<APPNAME>.conf` is searched in `$SASL_CONF_PATH` or Cyrus's default path); `-p`
//! reads one line from standard input without a prompt, otherwise the password is asked
//! twice with echo off; `USER@REALM` names the realm (split at the first `@`, overriding
//! `-u`, as Cyrus does); `-c` (create) is accepted and, as in Cyrus, changing an existing user
//! works with or without it; `-d` deletes every property of the user. `--config FILE` reads
//! that file instead of `<APPNAME>.conf`.
//!
//! Users in a database: when the configuration's first `auxprop_plugin` is `sql` (or `pgsql`,
//! `mysql`, `sqlite3`, as the guides write it), `passwd` writes through the SQL store with the
//! same `sql_*` options as the library (`sql_insert` and `sql_update` must both be set; every
//! value is a bound parameter), unless `-f` names a sasldb2 file. It writes what Cyrus's
//! `saslpasswd2` writes through Cyrus's sql plugin, and no other column: `userPassword` (set,
//! or with `-n`/`-d` set to NULL) and, with `scram_secret_generate: yes`, `authPassword`.
//!
//! Records written, for the same command:
//!
//! - without `-n`: exactly what Cyrus's `saslpasswd2` writes: `userPassword`, plus
//!   `authPassword` (SCRAM-SHA-1 stored keys, `scram_iteration_counter` iterations) when the
//!   config says `scram_secret_generate: yes`;
//! - with `-n` (no plaintext at rest), where Cyrus writes nothing a mechanism can use: the
//!   derived secrets instead, `authPassword` and `cmusaslsecretSCRAM-SHA-{1,224,256,384,512}`
//!   (RFC 5803 stored keys), `cmusaslsecretDIGEST-MD5` (HA1) and `cmusaslsecretCRAM-MD5`
//!   (the HMAC-MD5 pad states), so every mechanism except the plaintext-needing ones keeps
//!   working and PLAIN/LOGIN verify against the stored keys.
//!
//! Either way, every credential property the user had before is replaced, so no secret of
//! an old password survives a change. `listusers` prints `user@realm: property` per record,
//! in file order, as `sasldblistusers2` does.

#![allow(
    clippy::print_stdout,
    reason = "a command-line tool: listusers prints to standard output"
)]

use std::io::{BufRead as _, Write as _};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};

use puresasl::auxprop::{Auxprop as _, property};
use puresasl::config::{self, Config};
use puresasl::credentials::{self, PasswordPolicy};
use puresasl::keys::{ScramHash, StoredKeys};
use puresasl::random::{OsRandom, Random as _};
use puresasl::sasldb::{self, SasldbStore};
use puresasl::secret::Secret;
use puresasl::sql::SqlStore;
use zeroize::Zeroizing;

const USAGE: &str = "usage: puresasl passwd [-c] [-d] [-n] [-p] [-u REALM] [-f FILE] \
                     [-a APPNAME | --config FILE] USER
       puresasl listusers [-f FILE]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("passwd" | "saslpasswd2") => passwd(&args[1..]),
        Some("listusers" | "sasldblistusers2") => listusers(&args[1..]),
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("puresasl: {message}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Default)]
struct PasswdOptions {
    delete: bool,
    no_plain: bool,
    from_stdin: bool,
    realm: Option<String>,
    file: Option<PathBuf>,
    appname: Option<String>,
    config: Option<PathBuf>,
    user: Option<String>,
}

/// Parses getopt-style flags (`-cp`, `-u REALM`, `-uREALM`).
fn parse_passwd(args: &[String]) -> Result<PasswdOptions, String> {
    let mut options = PasswdOptions::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--config" {
            let path = args.next().ok_or_else(|| USAGE.to_owned())?;
            options.config = Some(PathBuf::from(path));
            continue;
        }
        let Some(flags) = arg.strip_prefix('-').filter(|f| !f.is_empty()) else {
            if options.user.replace(arg.clone()).is_some() {
                return Err(USAGE.to_owned());
            }
            continue;
        };
        for (at, flag) in flags.char_indices() {
            match flag {
                'c' => {}
                'd' => options.delete = true,
                'n' => options.no_plain = true,
                'p' => options.from_stdin = true,
                'u' | 'f' | 'a' => {
                    let rest = &flags[at + 1..];
                    let value = if rest.is_empty() {
                        args.next().cloned().ok_or_else(|| USAGE.to_owned())?
                    } else {
                        rest.to_owned()
                    };
                    match flag {
                        'u' => options.realm = Some(value),
                        'f' => options.file = Some(PathBuf::from(value)),
                        _ => options.appname = Some(value),
                    }
                    break;
                }
                _ => return Err(USAGE.to_owned()),
            }
        }
    }
    Ok(options)
}

/// Whether the real and effective user and group IDs agree (not set-ID), from
/// /proc/self/status; Cyrus honours `SASL_CONF_PATH` only then.
fn not_set_id() -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    ["Uid:", "Gid:"].iter().all(|field| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .map(|ids| ids.split_whitespace().take(2).collect::<Vec<_>>())
            .is_some_and(|ids| ids.len() == 2 && ids[0] == ids[1])
    })
}

/// Cyrus's configuration search path: `$SASL_CONF_PATH` when not set-ID, else the default.
fn config_search_path() -> String {
    match std::env::var("SASL_CONF_PATH") {
        Ok(path) if !path.is_empty() && not_set_id() => path,
        _ => config::DEFAULT_SEARCH_PATH.to_owned(),
    }
}

fn host_name() -> Result<String, String> {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .map(|text| text.trim().to_owned())
        .find(|name| !name.is_empty())
        .ok_or_else(|| "cannot determine the host name; use -u REALM".to_owned())
}

/// Reads one line from standard input (`-p`), without its line ending.
fn password_from_stdin() -> Result<Zeroizing<String>, String> {
    let mut line = Zeroizing::new(String::new());
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|error| format!("cannot read the password: {error}"))?;
    let trimmed = line.trim_end_matches(['\n', '\r']).len();
    line.truncate(trimmed);
    Ok(line)
}

/// Switches terminal echo with `stty` on /dev/tty.
fn set_echo(on: bool) {
    if let Ok(tty) = std::fs::File::open("/dev/tty") {
        let _ = Command::new("stty")
            .arg(if on { "echo" } else { "-echo" })
            .stdin(tty)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn prompt(text: &str) -> Result<Zeroizing<String>, String> {
    let mut tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|error| format!("cannot open /dev/tty: {error} (use -p)"))?;
    let _ = write!(tty, "{text}");
    let _ = tty.flush();
    set_echo(false);
    let mut line = Zeroizing::new(String::new());
    let read = std::io::BufReader::new(&tty).read_line(&mut line);
    set_echo(true);
    let _ = writeln!(tty);
    read.map_err(|error| format!("cannot read the password: {error}"))?;
    let trimmed = line.trim_end_matches(['\n', '\r']).len();
    line.truncate(trimmed);
    Ok(line)
}

fn passwd(args: &[String]) -> Result<(), String> {
    let options = parse_passwd(args)?;
    let user = options.user.clone().ok_or_else(|| USAGE.to_owned())?;
    let appname = options.appname.as_deref().unwrap_or("saslpasswd");
    let search_path = config_search_path();
    let config = match &options.config {
        Some(path) => Config::read(path).map_err(|error| error.to_string())?,
        None => Config::find(appname, &search_path)
            .map_err(|error| error.to_string())?
            .unwrap_or_default(),
    };
    // As Cyrus (`_plug_parseuser`): `user@realm` names its realm, whatever -u says.
    let (user, realm) = match user.split_once('@') {
        Some((user, realm)) => (user.to_owned(), realm.to_owned()),
        None => match &options.realm {
            Some(realm) => (user, realm.clone()),
            None => (user, host_name()?),
        },
    };
    let sql = match options.file {
        Some(_) => None,
        None => sql_store(&config)?,
    };
    let iterations = match config.get("scram_iteration_counter") {
        Some(value) => value
            .parse::<u32>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("invalid scram_iteration_counter {value:?}"))?,
        None => 4096,
    };
    let scram_generate = config
        .get("scram_secret_generate")
        .is_some_and(config::is_true);
    if let Some(sql) = &sql
        && options.delete
    {
        return credentials::set_password_as_cyrus(
            sql,
            &user,
            &realm,
            None,
            false,
            scram_generate.then_some(iterations),
            &OsRandom,
        )
        .map_err(|error| error.to_string());
    }

    let path = options.file.clone().unwrap_or_else(|| {
        PathBuf::from(config.get("sasldb_path").unwrap_or(sasldb::DEFAULT_PATH))
    });
    let store = SasldbStore::new(&path);

    if options.delete {
        return store
            .edit(|edit| edit.delete_user(&user, &realm).map(drop))
            .map_err(|error| error.to_string());
    }

    let password = if options.from_stdin {
        password_from_stdin()?
    } else {
        let first = prompt("Password: ")?;
        let again = prompt("Again (for verification): ")?;
        if first.as_bytes() != again.as_bytes() {
            return Err("passwords don't match".to_owned());
        }
        first
    };
    if password.is_empty() {
        return Err("no password given".to_owned());
    }
    if let Some(sql) = &sql {
        return credentials::set_password_as_cyrus(
            sql,
            &user,
            &realm,
            Some(password.as_bytes()),
            !options.no_plain,
            scram_generate.then_some(iterations),
            &OsRandom,
        )
        .map_err(|error| error.to_string());
    }

    let random = OsRandom;
    store
        .edit(|edit| {
            edit.delete_user(&user, &realm)?;
            if options.no_plain {
                let policy = PasswordPolicy {
                    keep_plaintext: false,
                    scram_hashes: ScramHash::ALL.to_vec(),
                    scram_iterations: iterations,
                    digest_md5: true,
                    cram_md5: true,
                };
                credentials::set_password(
                    edit,
                    &user,
                    &realm,
                    password.as_bytes(),
                    &policy,
                    &random,
                )
            } else {
                edit.store(
                    &user,
                    &realm,
                    property::USER_PASSWORD,
                    &[Secret::from(password.as_str())],
                )?;
                if scram_generate {
                    let mut salt = [0u8; 16];
                    random.fill(&mut salt);
                    let record =
                        StoredKeys::derive(ScramHash::Sha1, password.as_bytes(), &salt, iterations)
                            .to_rfc5803();
                    edit.store(
                        &user,
                        &realm,
                        property::AUTH_PASSWORD,
                        &[Secret::from(record)],
                    )?;
                }
                Ok(())
            }
        })
        .map_err(|error| error.to_string())
}

/// The SQL store of `config`, when its first `auxprop_plugin` is `sql` or an engine's name
/// (meaning `sql` with that `sql_engine`, as the C library reads it).
fn sql_store(config: &Config) -> Result<Option<SqlStore>, String> {
    let Some(first) = config
        .get("auxprop_plugin")
        .and_then(|plugins| plugins.split_ascii_whitespace().next())
        .map(str::to_ascii_lowercase)
    else {
        return Ok(None);
    };
    let engine = match first.as_str() {
        "sql" => None,
        "pgsql" | "mysql" | "sqlite3" => Some(first.clone()),
        "sqlite" => Some("sqlite3".to_owned()),
        _ => return Ok(None),
    };
    let option = |name: &str| match (name, &engine) {
        ("sql_engine", Some(engine)) => Some(engine.clone()),
        _ => config.get(name).map(str::to_owned),
    };
    let store = SqlStore::from_options(&option)
        .map_err(|error| error.to_string())?
        .ok_or_else(|| "auxprop_plugin is sql but sql_select is not set".to_owned())?;
    if store.config().insert.is_none() || store.config().update.is_none() {
        return Err("writing to SQL needs both sql_insert and sql_update".to_owned());
    }
    Ok(Some(store))
}

fn listusers(args: &[String]) -> Result<(), String> {
    let mut path = PathBuf::from(sasldb::DEFAULT_PATH);
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-f" => path = PathBuf::from(args.next().ok_or_else(|| USAGE.to_owned())?),
            other if other.starts_with("-f") => path = PathBuf::from(&other[2..]),
            _ => return Err(USAGE.to_owned()),
        }
    }
    let store = SasldbStore::new(&path);
    let db = store
        .database()
        .map_err(|error| error.to_string())?
        .ok_or_else(|| format!("cannot open {}: no such file", path.display()))?;
    let keys = db.keys().map_err(|error| error.to_string())?;
    let mut out = std::io::stdout().lock();
    for key in keys {
        if let Some(entry) = sasldb::split_key(&key) {
            writeln!(out, "{}@{}: {}", entry.user, entry.realm, entry.property)
                .map_err(|error| error.to_string())?;
        }
    }
    Ok(())
}
