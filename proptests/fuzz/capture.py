#!/usr/bin/env python3
"""Record what real clients send, as seed corpus for the fuzz targets.

A tiny TCP proxy on 127.0.0.1: every connection to LISTEN_PORT is forwarded
to the server at SERVER_PORT. Per connection, the bytes the client sent are
written to OUT_DIR/PREFIX-<n>, and the server's replies to
OUT_DIR/PREFIX-<n>.reply (seeds for the reply parser). Point redis-cli or
redis-benchmark at LISTEN_PORT. The proxy stops by itself once it has been
idle (no open connection, no new one) for IDLE seconds.

    capture.py LISTEN_PORT SERVER_PORT OUT_DIR PREFIX [IDLE=3]
"""
import os
import selectors
import socket
import sys
import time


class Connection:
    """One proxied connection and the bytes seen each way."""

    def __init__(self, number, client, server):
        self.number, self.client, self.server = number, client, server
        self.sent, self.replies = bytearray(), bytearray()

    def forward(self, sock):
        """Move bytes from `sock` to its peer; False once either side closed."""
        data = sock.recv(65536)
        if not data:
            return False
        if sock is self.client:
            self.sent.extend(data)
            self.server.sendall(data)
        else:
            self.replies.extend(data)
            self.client.sendall(data)
        return True

    def save(self, out_dir, prefix):
        for suffix, data in (("", self.sent), (".reply", self.replies)):
            path = os.path.join(out_dir, f"{prefix}-{self.number}{suffix}")
            with open(path, "wb") as f:
                f.write(data)
            print(f"{path}: {len(data)} bytes")


def main():
    listen_port, server_port = int(sys.argv[1]), int(sys.argv[2])
    out_dir, prefix = sys.argv[3], sys.argv[4]
    idle = float(sys.argv[5]) if len(sys.argv) > 5 else 3.0
    os.makedirs(out_dir, exist_ok=True)

    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", listen_port))
    listener.listen()
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ, None)
    count, last_activity = 0, time.monotonic()

    while True:
        open_connections = len(sel.get_map()) > 1
        if not open_connections and time.monotonic() - last_activity > idle:
            break
        for key, _ in sel.select(timeout=0.2):
            last_activity = time.monotonic()
            conn = key.data
            if conn is None:
                client, _ = listener.accept()
                server = socket.create_connection(("127.0.0.1", server_port))
                conn = Connection(count, client, server)
                count += 1
                sel.register(client, selectors.EVENT_READ, conn)
                sel.register(server, selectors.EVENT_READ, conn)
            elif not conn.forward(key.fileobj):
                for s in (conn.client, conn.server):
                    sel.unregister(s)
                    s.close()
                conn.save(out_dir, prefix)


if __name__ == "__main__":
    main()
