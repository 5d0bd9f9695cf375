#!/usr/bin/env python3
"""Record what real clients send, as seed corpus for the fuzz targets.

A tiny TCP proxy on 127.0.0.1: every connection to LISTEN_PORT is forwarded
to the server at SERVER_PORT, and the bytes the *client* sent are written,
one file per connection, to OUT_DIR/PREFIX-<n>. Point redis-cli or
redis-benchmark at LISTEN_PORT. The proxy stops by itself once it has been
idle (no open connection, no new one) for IDLE seconds.

    capture.py LISTEN_PORT SERVER_PORT OUT_DIR PREFIX [IDLE=3]
"""
import os
import selectors
import socket
import sys
import time


def main():
    listen_port, server_port = int(sys.argv[1]), int(sys.argv[2])
    out_dir, prefix = sys.argv[3], sys.argv[4]
    idle = float(sys.argv[5]) if len(sys.argv) > 5 else 3.0
    os.makedirs(out_dir, exist_ok=True)

    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", listen_port))
    lsock.listen()
    sel = selectors.DefaultSelector()
    sel.register(lsock, selectors.EVENT_READ, None)
    peers = {}  # socket -> (other socket, recorded bytes or None)
    count, last_activity = 0, time.monotonic()

    while True:
        if not peers and time.monotonic() - last_activity > idle:
            break
        for key, _ in sel.select(timeout=0.2):
            last_activity = time.monotonic()
            if key.data is None:
                client, _ = lsock.accept()
                server = socket.create_connection(("127.0.0.1", server_port))
                record = bytearray()
                peers[client] = (server, record, count)
                peers[server] = (client, None, count)
                count += 1
                sel.register(client, selectors.EVENT_READ, "peer")
                sel.register(server, selectors.EVENT_READ, "peer")
                continue
            sock = key.fileobj
            other, record, n = peers[sock]
            data = sock.recv(65536)
            if data:
                if record is not None:
                    record.extend(data)
                other.sendall(data)
                continue
            # One side closed: close both and save what the client sent.
            for s in (sock, other):
                sel.unregister(s)
                s.close()
            client_record = record if record is not None else peers[other][1]
            del peers[sock], peers[other]
            path = os.path.join(out_dir, f"{prefix}-{n}")
            with open(path, "wb") as f:
                f.write(client_record)
            print(f"{path}: {len(client_record)} bytes")


if __name__ == "__main__":
    main()
