#!/usr/bin/env python3
"""Connections as a cost (issue 20): how long N connections opened one
after another take to be accepted and answered, and what N idle
connections cost the server's CPU afterwards.

    python3 bench/scripts/conns.py                      # redis-server, shard/threads, shard/loop
    python3 bench/scripts/conns.py --accept 5000 --idle 10000 --configs redis,shard/loop

For each server: open --accept connections one after another, each sending
PING and reading +PONG before the next opens (the time is printed); then
hold --idle connections open for --seconds seconds and read the server's
CPU time (utime + stime from /proc) over that window. Everything is on
127.0.0.1, and every connection and server is closed at the end.
"""

import argparse
import os
import random
import resource
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVER = os.path.join(ROOT, "target", "release", "myongoredis")


def start(config, port):
    if config == "redis":
        cmd = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--maxclients", "20000"]
    else:
        mode, io, *loops = config.split("/")
        cmd = [SERVER, "--port", str(port), "--bind", "127.0.0.1", "--mode", mode, "--io", io,
               "--maxclients", "20000"]
        if loops:
            cmd += ["--io-threads", loops[0]]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    sys.exit(f"{config} did not start")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ping(sock):
    sock.sendall(b"*1\r\n$4\r\nPING\r\n")
    reply = b""
    while not reply.endswith(b"\r\n"):
        chunk = sock.recv(64)
        if not chunk:
            raise OSError("closed")
        reply += chunk
    assert reply == b"+PONG\r\n", reply


def measure(config, accept, idle, seconds):
    port = 19600 + random.randrange(300)
    proc = start(config, port)
    socks = []
    try:
        began = time.perf_counter()
        for _ in range(accept):
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            ping(s)
            socks.append(s)
        accept_s = time.perf_counter() - began
        while len(socks) < idle:
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            ping(s)
            socks.append(s)
        time.sleep(1)  # let the last connections settle
        before = cpu_seconds(proc.pid)
        time.sleep(seconds)
        used = cpu_seconds(proc.pid) - before
        return accept_s, used / seconds * 100
    finally:
        for s in socks:
            s.close()
        proc.terminate()
        proc.wait(timeout=30)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--configs", default="redis,shard/threads,shard/loop")
    p.add_argument("--accept", type=int, default=5000)
    p.add_argument("--idle", type=int, default=10000)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args()
    need = max(args.accept, args.idle) + 100
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))
    print(f"load average at start: {os.getloadavg()}")
    for rnd in range(1, args.rounds + 1):
        for config in args.configs.split(","):
            accept_s, cpu = measure(config, args.accept, args.idle, args.seconds)
            print(f"round {rnd} {config:16} {args.accept} connections accepted and answered in "
                  f"{accept_s:6.2f} s; {args.idle} idle: {cpu:5.2f} % of a core")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
