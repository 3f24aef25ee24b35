#!/usr/bin/env python3
"""One side of a SCRAM exchange with Python scramp, speaking base64 lines on stdin/stdout.

usage: scramp_peer.py client|server MECHANISM USER PASSWORD [CB-TYPE CB-DATA-BASE64]

The client prints client-first, reads server-first, prints client-final, reads server-final
and prints "OK" once scramp accepted the server signature. The server reads client-first,
prints server-first, reads client-final, prints server-final and then "OK" if the client
was authenticated. Any failure prints "ERROR <message>" (after the server's e= message,
if scramp produced one) and exits with status 1.
"""

import base64
import sys

from scramp import ScramClient, ScramException, ScramMechanism


def send(text):
    print(base64.b64encode(text.encode()).decode(), flush=True)


def receive():
    line = sys.stdin.readline()
    if not line:
        raise SystemExit("ERROR peer closed")
    return base64.b64decode(line.strip()).decode()


def main():
    role, mechanism, user, password = sys.argv[1:5]
    binding = None
    if len(sys.argv) > 5:
        binding = (sys.argv[5], base64.b64decode(sys.argv[6]))
    try:
        if role == "client":
            client = ScramClient([mechanism], user, password, channel_binding=binding)
            send(client.get_client_first())
            client.set_server_first(receive())
            send(client.get_client_final())
            client.set_server_final(receive())
        else:
            scram = ScramMechanism(mechanism)
            auth_info = scram.make_auth_info(password, iteration_count=4096)

            def auth_fn(name):
                if name != user:
                    raise ScramException("unknown user", "unknown-user")
                return auth_info

            server = scram.make_server(auth_fn, channel_binding=binding)
            server.set_client_first(receive())
            send(server.get_server_first())
            try:
                server.set_client_final(receive())
            finally:
                send(server.get_server_final())
    except ScramException as error:
        print(f"ERROR {error}", flush=True)
        sys.exit(1)
    print("OK", flush=True)


main()
