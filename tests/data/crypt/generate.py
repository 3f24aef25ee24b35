#!/usr/bin/env python3
"""Regenerates vectors.txt: hashes made by real tools, verdicts decided by libxcrypt.

Needs Debian 12's python3 (3.11, whose `crypt` module wraps libxcrypt), `mkpasswd`
(package whois), `openssl`, `htpasswd` (apache2-utils) and `doveadm` (dovecot-core, for
the {SCHEME} values, whose verdicts are `doveadm pw -t`'s). Run from this directory:
    python3 generate.py > vectors.txt

Each hash is checked against several candidate passwords (the password itself, a changed
first byte, the password with a byte appended, its prefixes at the DES and bcrypt limits, the
empty password, the hash itself); whether each matches is what libxcrypt's crypt(3) says, so
the file records libxcrypt's behaviour (DES's 8 characters, bcrypt's 72 bytes) rather than
ours.
"""
import subprocess
import warnings

warnings.simplefilter("ignore", DeprecationWarning)
import crypt  # noqa: E402

PASSWORDS = [
    b"password",
    b"correct horse battery staple",
    "pässwörd€".encode(),
    b"p@$$w0rd!{}:\\",
    b"a" * 40 + b"b" * 40,  # 80 bytes: past bcrypt's 72
]


def run(args, stdin=None):
    return subprocess.run(args, input=stdin, capture_output=True, check=True).stdout.decode().strip()


def tools(pw):
    """(label, hash) pairs made by each tool for pw."""
    text = pw.decode()
    out = []
    for method, rounds in [("yescrypt", None), ("yescrypt", "1"), ("sha512crypt", "1000"),
                           ("sha256crypt", "1000"), ("sha512crypt", None), ("bcrypt", "4"),
                           ("bcrypt-a", "4"), ("md5crypt", None), ("descrypt", None)]:
        args = ["mkpasswd", "-s", "-m", method] + (["-R", rounds] if rounds else [])
        out.append((f"mkpasswd-{method}" + (f"-R{rounds}" if rounds else ""), run(args, pw)))
    for flag in ["-1", "-5", "-6"]:
        out.append((f"openssl-passwd{flag}", run(["openssl", "passwd", flag, "-stdin"], pw)))
    for flag, extra, label in [("-B", ["-C", "4"], "B"), ("-2", ["-r", "1000"], "2"),
                               ("-5", ["-r", "1000"], "5"), ("-d", [], "d"), ("-s", [], "s")]:
        line = run(["htpasswd", "-nb" + flag[1:]] + extra + ["user", text])
        out.append((f"htpasswd-{label}", line.split(":", 1)[1]))
    for name, method, rounds in [("sha512", crypt.METHOD_SHA512, 1000),
                                 ("sha256", crypt.METHOD_SHA256, 1000),
                                 ("blowfish", crypt.METHOD_BLOWFISH, 16),
                                 ("md5", crypt.METHOD_MD5, None), ("crypt", crypt.METHOD_CRYPT, None)]:
        out.append((f"python-crypt-{name}", crypt.crypt(text, crypt.mksalt(method, rounds=rounds))))
    return out


DOVECOT_SCHEMES = [
    "SHA512-CRYPT", "SHA256-CRYPT", "BLF-CRYPT", "MD5-CRYPT", "DES-CRYPT", "CRYPT", "SSHA",
    "SSHA256", "SSHA512", "SHA", "SHA1", "SHA256", "SHA512", "SMD5", "LDAP-MD5", "PLAIN-MD5",
    "PLAIN", "CLEARTEXT", "CLEAR", "PBKDF2", "SCRAM-SHA-1", "SCRAM-SHA-256", "SHA256.HEX",
    "SSHA.HEX", "PLAIN.B64", "SHA512.b64", "MD5",
]


def dovecot(pw, expensive):
    """(label, value) pairs made by Dovecot's `doveadm pw` (Debian 12: Dovecot 2.3)."""
    schemes = DOVECOT_SCHEMES + (["ARGON2I", "ARGON2ID"] if expensive else [])
    out = []
    for scheme in schemes:
        rounds = {"SHA512-CRYPT": "1000", "SHA256-CRYPT": "1000", "BLF-CRYPT": "5",
                  "PBKDF2": "1000", "SCRAM-SHA-1": "1000", "SCRAM-SHA-256": "1000"}.get(scheme)
        args = ["doveadm", "pw", "-s", scheme, "-p", pw.decode()] + (["-r", rounds] if rounds else [])
        out.append((f"doveadm-{scheme}", run(args)))
    return out


def libxcrypt_verdict(candidate, stored):
    """Whether libxcrypt (or, for {SCHEME} values, Dovecot) accepts candidate."""
    if stored.startswith("{"):
        if not candidate:
            return False  # doveadm would prompt; no scheme here matches an empty password
        check = subprocess.run(["doveadm", "pw", "-t", stored, "-p",
                                candidate.decode("utf-8", "surrogateescape")], capture_output=True)
        return check.returncode == 0
    return crypt.crypt(candidate.decode("utf-8", "surrogateescape"), stored) == stored


def field(pw):
    if pw and all(0x21 <= b < 0x7F for b in pw):
        return "text:" + pw.decode()
    return "hex:" + pw.hex()


print("# crypt(3) and Dovecot {SCHEME} vectors: <label> <match|nomatch> <password> <stored value>")
print("# <password> is text:<printable ASCII> or hex:<bytes>; the stored value is the rest of")
print("# the line. Made by generate.py; the")
print("# verdicts are libxcrypt's (Debian 12, libxcrypt 4.4.33), or Dovecot 2.3's for {SCHEME}.")
for index, pw in enumerate(PASSWORDS):
    for label, stored in tools(pw) + dovecot(pw, expensive=index in (0, 2)):
        candidates = [pw, bytes([pw[0] ^ 1]) + pw[1:], pw + b"x", pw[:8], pw[:72], b"",
                      stored.encode()]
        seen = set()
        for candidate in candidates:
            if candidate in seen:
                continue
            seen.add(candidate)
            verdict = "match" if libxcrypt_verdict(candidate, stored) else "nomatch"
            print(f"{label} {verdict} {field(candidate)} {stored}")
