"""Relay TCP connections on 127.0.0.1 to the LLM gateway's unix socket.

Runs inside the sandbox (standard library only, any Python 3.6+). It binds the port, prints
the port number on one line, closes stdout, and serves until its parent process is gone:
each accepted connection gets a fresh connection to the unix socket and two pump threads.

    python3 relay.py --socket /hgm/gateway.sock [--port 0] [--host 127.0.0.1]
"""

import argparse
import contextlib
import os
import socket
import sys
import threading
import time

CHUNK = 65536


def pump(src, dst):
    """Copy bytes from src to dst until EOF, then half-close dst so the peer sees EOF too."""
    try:
        while True:
            data = src.recv(CHUNK)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


def serve_one(client, socket_path):
    upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        upstream.connect(socket_path)
    except OSError:
        client.close()
        upstream.close()
        return
    splice(client, upstream)


def splice(client, upstream):
    """Copy both ways between two connected sockets until both sides are done; close them."""
    back = threading.Thread(target=pump, args=(upstream, client), daemon=True)
    back.start()
    pump(client, upstream)
    back.join()
    client.close()
    upstream.close()


def accept_forever(listener, socket_path):
    while True:
        client, _ = listener.accept()
        threading.Thread(target=serve_one, args=(client, socket_path), daemon=True).start()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--socket", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)

    # Small stacks: RLIMIT_AS counts every thread's reserved stack.
    threading.stack_size(256 * 1024)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((args.host, args.port))
    listener.listen(128)
    sys.stdout.write(f"{listener.getsockname()[1]}\n")
    sys.stdout.flush()
    # Whoever waits for the port reads until EOF; let go of stdout now.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)

    threading.Thread(target=accept_forever, args=(listener, args.socket), daemon=True).start()
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(0.5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
