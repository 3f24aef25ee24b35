#!/usr/bin/env python3
"""Writes the seed programs of the ffi_api fuzz target into fuzz/corpus/ffi_api/.

Each seed is a program for fuzz/api/body.rs: a server and a client connection, a full
exchange per mechanism with the right password (and one with interaction, one with a wrong
password), then property reads, a mechanism list, the error detail, and security-layer round
trips in both directions. Run from anywhere; rerun after changing the program format.
"""
import os
import struct

MECHS = ["PLAIN", "LOGIN", "CRAM-MD5", "DIGEST-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256"]


def server():  # op 0: realm example.org, addresses, no flags
    return bytes([0, 1, 0, 0])


def client(right=True, style=0):  # op 1: right credentials, empty USER, callbacks style
    return bytes([1, 1 if right else 0, 1]) + (b"" if right else b"\x04user\x05wrong") + bytes([style])


def sec_props(conn, min_ssf, max_ssf):  # op 5, SASL_SEC_PROPS (index 1 of SETTABLE)
    return (bytes([5, conn, 1]) + struct.pack("<I", 0) + b"\x00"
            + struct.pack("<IIII", min_ssf, max_ssf, 65536, 0))


def exchange(mech, mode=1):  # op 2: server 0, client 0, mechanism, list of one, initial only if any
    return bytes([2, 0, 0, MECHS.index(mech), 1, 1, 0, mode])


def layer(data, direction):  # op 4: a round trip through the negotiated layer
    return bytes([4, 0, 0, len(data)]) + data + bytes([1, direction, 1])


def observe():  # USERNAME and SSF of both connections (once each), a list, the error detail
    return (bytes([6, 0, 0, 0, 1, 6, 1, 0, 0, 1, 6, 0, 0, 1, 1, 6, 1, 0, 15, 1])
            + bytes([7, 0, 1, 0x2c, 1, 0x20, 1, 0x2e, 0, 0]) + bytes([8, 0, 8, 1]))


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus", "ffi_api")
    os.makedirs(out, exist_ok=True)
    seeds = {}
    for mech in MECHS:
        body = server() + client() + exchange(mech) + observe()
        seeds[f"seed-{mech.lower()}"] = body
    conf = (server() + client() + sec_props(0, 0, 256) + sec_props(1, 0, 256)
            + exchange("DIGEST-MD5") + observe()
            + layer(b"hello", 0) + layer(b"world", 1) + layer(b"x" * 200, 0))
    seeds["seed-digest-md5-auth-conf"] = conf
    integ = (server() + client() + sec_props(0, 0, 1) + sec_props(1, 0, 1)
             + exchange("DIGEST-MD5") + layer(b"integrity", 0) + layer(b"back", 1))
    seeds["seed-digest-md5-auth-int"] = integ
    seeds["seed-interact"] = server() + client(style=0x70) + exchange("SCRAM-SHA-256") + observe()
    seeds["seed-wrong-password"] = server() + client(right=False) + exchange("PLAIN") + observe()
    for name, body in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(body)


if __name__ == "__main__":
    main()
