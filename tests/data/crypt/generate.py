#!/usr/bin/env python3
"""Regenerates vectors.txt: hashes made by real tools, verdicts decided by libxcrypt.

Needs Debian 12's python3 (3.11, whose `crypt` module wraps libxcrypt), `mkpasswd`
(package whois), `openssl` and `htpasswd` (apache2-utils). Run from this directory:
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


def libxcrypt_verdict(candidate, stored):
    if stored.startswith("{SHA}"):
        import base64, hashlib
        return base64.b64encode(hashlib.sha1(candidate).digest()).decode() == stored[5:]
    return crypt.crypt(candidate.decode("utf-8", "surrogateescape"), stored) == stored


def field(pw):
    if pw and all(0x21 <= b < 0x7F for b in pw):
        return "text:" + pw.decode()
    return "hex:" + pw.hex()


print("# crypt(3) and {SHA} vectors: <label> <match|nomatch> <password> <stored value>")
print("# <password> is text:<printable ASCII> or hex:<bytes>. Made by generate.py; the")
print("# verdicts are libxcrypt's (Debian 12, libxcrypt 4.4.33).")
for pw in PASSWORDS:
    for label, stored in tools(pw):
        if label.startswith("htpasswd-s"):
            stored = "{SHA}" + stored[len("{SHA}"):]
        candidates = [pw, bytes([pw[0] ^ 1]) + pw[1:], pw + b"x", pw[:8], pw[:72], b"",
                      stored.encode()]
        seen = set()
        for candidate in candidates:
            if candidate in seen:
                continue
            seen.add(candidate)
            verdict = "match" if libxcrypt_verdict(candidate, stored) else "nomatch"
            print(f"{label} {verdict} {field(candidate)} {stored}")
