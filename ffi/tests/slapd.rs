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
//! A second test logs in with GSSAPI through Cyrus's own plug-in module
//! (`libsasl2-modules-gssapi-mit`'s `libgssapiv2.so`, loaded by our library from the plug-in
//! path) against a throwaway MIT KDC (realm, database and keytab in a temporary directory,
//! stopped by pid), with a security layer: `ldapwhoami` and `ldapsearch` run through the layer,
//! on our library (the module's client mechanism loaded by ours too) and on Cyrus's.
//!
//! slapd runs in a private mount namespace with an empty `/etc/ldap/sasl2`, so a SASL
//! configuration file left there on the machine cannot change what is tested (root only,
//! as the Postfix tests).
//!
//! Needs the packages in `.ci/apt-packages` (`slapd`, `ldap-utils`, `krb5-kdc`,
//! `krb5-admin-server`, `krb5-user`, `libsasl2-modules-gssapi-mit`); without them the test
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
             sasl-host localhost\n\
             authz-regexp \"uid=([^,]*),cn=[^,]*,cn=gssapi,cn=auth\" \"uid=$1,ou=people,dc=example,dc=org\"\n\
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

/// Starts slapd on `library` (our libsasl2's folder) and waits for its pid file; `envs` are
/// added to its environment. It runs in its own mount namespace with an empty
/// `/etc/ldap/sasl2` (see the module documentation).
fn start(dir: &Path, library: &Path, port: u16, envs: &[(&str, String)]) -> Slapd {
    let ldapi = dir.join("ldapi").display().to_string().replace('/', "%2F");
    let script = "[ -d /etc/ldap/sasl2 ] && mount -t tmpfs none /etc/ldap/sasl2; \
                  exec /usr/sbin/slapd -f \"$0\" -h \"$1\"";
    let mut command = Command::new("unshare");
    command
        .args(["-m", "sh", "-c", script])
        .arg(dir.join("slapd.conf"))
        .arg(format!("ldap://127.0.0.1:{port}/ ldapi://{ldapi}"))
        .env("LD_LIBRARY_PATH", library);
    for (key, value) in envs {
        command.env(key, value);
    }
    let out = command.output().unwrap();
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

/// A fresh directory with slapd.conf and the database loaded.
fn instance(name: &str) -> PathBuf {
    let dir: PathBuf = profile_dir().join("ffi-tests").join(name);
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
    dir
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
    let dir = instance("slapd-instance");
    let port = free_port();
    let slapd = start(&dir, &library, port, &[]);
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

/// A throwaway MIT KDC for the realm EXAMPLE.ORG, stopped by pid when dropped.
struct Kdc {
    dir: PathBuf,
    pid: String,
}

impl Drop for Kdc {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(&self.pid).output();
    }
}

impl Kdc {
    fn envs(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "KRB5_CONFIG",
                self.dir.join("krb5.conf").display().to_string(),
            ),
            (
                "KRB5_KDC_PROFILE",
                self.dir.join("kdc.conf").display().to_string(),
            ),
        ]
    }

    fn run(&self, program: &str, args: &[&str], input: Option<&str>) -> Output {
        let mut command = Command::new(program);
        command
            .args(args)
            .envs(self.envs())
            .env_remove("LD_LIBRARY_PATH");
        command.stdin(std::process::Stdio::piped());
        command.stdout(std::process::Stdio::piped());
        command.stderr(std::process::Stdio::piped());
        let mut child = command.spawn().unwrap();
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().unwrap();
            if let Some(input) = input {
                stdin.write_all(input.as_bytes()).unwrap();
            }
        }
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{program} {args:?}: {}", text(&out));
        out
    }

    /// Creates the realm (alice, ldap/localhost in a keytab), starts the KDC and gets
    /// alice's ticket into `cc`.
    fn start(dir: &Path) -> Kdc {
        std::fs::create_dir_all(dir).unwrap();
        let port = free_port();
        let d = dir.display();
        std::fs::write(
            dir.join("krb5.conf"),
            format!(
                "[libdefaults]\n default_realm = EXAMPLE.ORG\n dns_lookup_realm = false\n \
                 dns_lookup_kdc = false\n rdns = false\n dns_canonicalize_hostname = false\n\
                 [realms]\n EXAMPLE.ORG = {{\n  kdc = 127.0.0.1:{port}\n }}\n"
            ),
        )
        .unwrap();
        std::fs::write(
            dir.join("kdc.conf"),
            format!(
                "[kdcdefaults]\n kdc_ports = {port}\n kdc_tcp_ports = {port}\n[realms]\n \
                 EXAMPLE.ORG = {{\n  database_name = {d}/principal\n  key_stash_file = \
                 {d}/stash\n  acl_file = {d}/kadm5.acl\n }}\n[logging]\n kdc = FILE:{d}/kdc.log\n"
            ),
        )
        .unwrap();
        let mut kdc = Kdc {
            dir: dir.to_path_buf(),
            pid: String::new(),
        };
        kdc.run(
            "kdb5_util",
            &[
                "create",
                "-s",
                "-r",
                "EXAMPLE.ORG",
                "-P",
                "unused-master-password",
            ],
            None,
        );
        kdc.run("kadmin.local", &["-q", "addprinc -pw alicepw alice"], None);
        kdc.run(
            "kadmin.local",
            &["-q", "addprinc -randkey ldap/localhost"],
            None,
        );
        let keytab = format!("ktadd -k {d}/keytab ldap/localhost");
        kdc.run("kadmin.local", &["-q", &keytab], None);
        let pid_file = dir.join("kdc.pid");
        kdc.run("krb5kdc", &["-P", &pid_file.display().to_string()], None);
        for _ in 0..100 {
            if let Ok(pid) = std::fs::read_to_string(&pid_file)
                && !pid.trim().is_empty()
            {
                kdc.pid = pid.trim().to_owned();
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert!(!kdc.pid.is_empty(), "krb5kdc did not start");
        let cache = format!("FILE:{d}/cc");
        let mut kinit = Command::new("kinit");
        kinit
            .arg("alice")
            .envs(kdc.envs())
            .env("KRB5CCNAME", &cache)
            .env_remove("LD_LIBRARY_PATH")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = kinit.spawn().unwrap();
        {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(b"alicepw\n").unwrap();
        }
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "kinit: {}", text(&out));
        kdc
    }
}

#[test]
fn slapd_gssapi_login_through_cyrus_module_with_a_security_layer() {
    for tool in [
        "/usr/sbin/slapd",
        "/usr/sbin/krb5kdc",
        "/usr/sbin/kdb5_util",
        "/usr/sbin/kadmin.local",
        "/usr/bin/kinit",
        "/usr/bin/ldapwhoami",
        "/usr/lib/x86_64-linux-gnu/sasl2/libgssapiv2.so",
    ] {
        if !available(tool) {
            return;
        }
    }
    let library = link_library("slapd");
    let dir = instance("slapd-gssapi");
    let kdc = Kdc::start(&dir.join("krb5"));
    let mut envs = kdc.envs();
    envs.push((
        "KRB5_KTNAME",
        dir.join("krb5").join("keytab").display().to_string(),
    ));
    let port = free_port();
    let slapd = start(&dir, &library, port, &envs);
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", slapd.pid)).unwrap();
    assert!(
        maps.contains(&library.join("libsasl2.so.2").display().to_string()),
        "slapd does not run our library"
    );
    let client = |program: &str, extra: &[&str], lib: Option<&Path>| {
        let mut command = Command::new(program);
        command
            .args([
                "-N",
                "-H",
                &format!("ldap://localhost:{port}"),
                "-Y",
                "GSSAPI",
            ])
            .args(extra)
            .envs(kdc.envs())
            .env(
                "KRB5CCNAME",
                format!("FILE:{}", dir.join("krb5").join("cc").display()),
            );
        match lib {
            Some(lib) => command.env("LD_LIBRARY_PATH", lib),
            None => command.env_remove("LD_LIBRARY_PATH"),
        };
        let out = command.output().unwrap();
        assert!(out.status.success(), "{program} ({lib:?}): {}", text(&out));
        out
    };
    // Our library on the client side too (the module's client mechanism), and Cyrus's.
    for lib in [Some(library.as_path()), None] {
        let out = client("ldapwhoami", &["-X", &format!("dn:{DN}")], lib);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(&format!("dn:{DN}")),
            "{}",
            text(&out)
        );
        // A security layer was negotiated, and the extended operation went through it.
        let ssf: u32 = stderr
            .lines()
            .find_map(|l| l.strip_prefix("SASL SSF: "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0);
        assert!(
            ssf > 0 && stderr.contains("SASL data security layer installed"),
            "{stderr}"
        );
        // Several PDUs each way through the layer.
        let out = client(
            "ldapsearch",
            &["-b", "dc=example,dc=org", "-LLL", "cn", "ou"],
            lib,
        );
        let listed = String::from_utf8_lossy(&out.stdout);
        assert!(
            listed.contains("cn: Alice") && listed.contains("ou: people"),
            "{listed}"
        );
    }
    drop(slapd);
    drop(kdc);
}
