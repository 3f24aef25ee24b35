//! Unmodified Debian OpenLDAP `slapd` on our `libsasl2.so.2` (issue 12): slapd registers its
//! own auxprop plug-in (`sasl_auxprop_add_plugin("slapd", ...)`) at start-up and checks SASL
//! passwords against the `userPassword` of the bind DN's entry, found by its canon_user
//! callback, which stores the DN in the connection's property context. A throwaway slapd
//! (slapd.conf style, an mdb database in a temporary directory, loopback and ldapi, stopped
//! by pid) runs on our library with no `sasl-auxprops` and no SASL configuration file;
//! `ldapwhoami` binds with PLAIN, DIGEST-MD5 and SCRAM-SHA-256, on our library and on
//! Cyrus's as the client. The binds name the entry as authorization id (`-X dn:...`), so
//! slapd's proxy-policy callback reports the DN.
//!
//! Needs the packages in `.ci/apt-packages` (`slapd`, `ldap-utils`); without them the test
//! fails under `CI` and skips otherwise.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    reason = "test code"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::{link_library, profile_dir, text};

const DN: &str = "uid=alice,ou=people,dc=example,dc=org";

fn available(path: &str) -> bool {
    if Path::new(path).exists() {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{path} is required in CI (see .ci/apt-packages)");
    }
    println!("note: skipping, {path} is missing");
    false
}

/// A slapd started for one test, stopped (by its pid) when dropped.
struct Slapd {
    pid: String,
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(&self.pid).output();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn write_config(dir: &Path) {
    let d = dir.display();
    std::fs::write(
        dir.join("slapd.conf"),
        format!(
            "include /etc/ldap/schema/core.schema\n\
             include /etc/ldap/schema/cosine.schema\n\
             include /etc/ldap/schema/inetorgperson.schema\n\
             modulepath /usr/lib/ldap\n\
             moduleload back_mdb\n\
             pidfile {d}/slapd.pid\n\
             argsfile {d}/slapd.args\n\
             sasl-secprops none\n\
             authz-regexp \"uid=([^,]*),cn=[^,]*,cn=auth\" \"uid=$1,ou=people,dc=example,dc=org\"\n\
             authz-regexp \"uid=([^,]*),cn=auth\" \"uid=$1,ou=people,dc=example,dc=org\"\n\
             database mdb\n\
             suffix \"dc=example,dc=org\"\n\
             rootdn \"cn=admin,dc=example,dc=org\"\n\
             rootpw unused-root-password\n\
             directory {d}/db\n\
             access to attrs=userPassword by * auth\n\
             access to * by * read\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("data.ldif"),
        "dn: dc=example,dc=org\nobjectClass: dcObject\nobjectClass: organization\no: Example\n\
         dc: example\n\n\
         dn: ou=people,dc=example,dc=org\nobjectClass: organizationalUnit\nou: people\n\n\
         dn: uid=alice,ou=people,dc=example,dc=org\nobjectClass: inetOrgPerson\nuid: alice\n\
         cn: Alice\nsn: A\nuserPassword: s3cret\n",
    )
    .unwrap();
}

/// Starts slapd on `library` (our libsasl2's folder) and waits for its pid file.
fn start(dir: &Path, library: &Path, port: u16) -> Slapd {
    let ldapi = dir.join("ldapi").display().to_string().replace('/', "%2F");
    let out = Command::new("/usr/sbin/slapd")
        .arg("-f")
        .arg(dir.join("slapd.conf"))
        .arg("-h")
        .arg(format!("ldap://127.0.0.1:{port}/ ldapi://{ldapi}"))
        .env("LD_LIBRARY_PATH", library)
        .output()
        .unwrap();
    assert!(out.status.success(), "slapd: {}", text(&out));
    let pid_file = dir.join("slapd.pid");
    for _ in 0..100 {
        if let Ok(pid) = std::fs::read_to_string(&pid_file)
            && !pid.trim().is_empty()
            && dir.join("ldapi").exists()
        {
            return Slapd {
                pid: pid.trim().to_owned(),
            };
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("slapd did not start");
}

fn whoami(uri: &str, mech: &str, password: &str, library: Option<&Path>) -> Output {
    let mut command = Command::new("ldapwhoami");
    command
        .args(["-H", uri, "-Y", mech, "-U", "alice", "-w", password])
        .args(["-X", &format!("dn:{DN}")]);
    if mech == "PLAIN" {
        // The client library's default security properties refuse plaintext mechanisms.
        command.args(["-O", "none"]);
    }
    match library {
        Some(dir) => command.env("LD_LIBRARY_PATH", dir),
        None => command.env_remove("LD_LIBRARY_PATH"),
    };
    command.output().unwrap()
}

#[test]
fn slapd_checks_directory_passwords_through_its_auxprop_plugin() {
    for tool in [
        "/usr/sbin/slapd",
        "/usr/sbin/slapadd",
        "/usr/bin/ldapwhoami",
    ] {
        if !available(tool) {
            return;
        }
    }
    let library = link_library("slapd");
    let dir: PathBuf = profile_dir().join("ffi-tests").join("slapd-instance");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("db")).unwrap();
    write_config(&dir);
    let added = Command::new("/usr/sbin/slapadd")
        .arg("-f")
        .arg(dir.join("slapd.conf"))
        .arg("-l")
        .arg(dir.join("data.ldif"))
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .unwrap();
    assert!(added.status.success(), "slapadd: {}", text(&added));
    let port = free_port();
    let slapd = start(&dir, &library, port);
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", slapd.pid)).unwrap();
    assert!(
        maps.contains(&library.join("libsasl2.so.2").display().to_string()),
        "slapd does not run our library"
    );
    let tcp = format!("ldap://127.0.0.1:{port}");
    let ldapi = format!(
        "ldapi://{}",
        dir.join("ldapi").display().to_string().replace('/', "%2F")
    );
    for mech in ["PLAIN", "DIGEST-MD5", "SCRAM-SHA-256"] {
        for (client, lib) in [("ours", Some(library.as_path())), ("cyrus", None)] {
            for uri in [&tcp, &ldapi] {
                let out = whoami(uri, mech, "s3cret", lib);
                assert!(
                    out.status.success()
                        && String::from_utf8_lossy(&out.stdout).contains(&format!("dn:{DN}")),
                    "{mech} with the {client} client on {uri}: {}",
                    text(&out)
                );
            }
            // The password is the directory's: a wrong one is refused (LDAP 49).
            let out = whoami(&tcp, mech, "wrong", lib);
            assert_eq!(
                out.status.code(),
                Some(49),
                "{mech} with a wrong password, {client} client: {}",
                text(&out)
            );
        }
    }
    drop(slapd);
}
