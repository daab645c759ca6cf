#!/usr/bin/env python3
"""Frozen subscribers for slow_consumer.test.js: opens COUNT WebSocket connections with a
tiny receive buffer (SO_RCVBUF, which Node cannot set), subscribes each to TOPIC, prints
"ready", and then never reads again, so the server's queue for them fills up.

usage: frozen_subscribers.py PORT COUNT TOPIC
"""
import base64
import json
import os
import socket
import sys
import time


def masked_text_frame(text: bytes) -> bytes:
    key = os.urandom(4)
    assert len(text) < 126
    return bytes([0x81, 0x80 | len(text)]) + key + bytes(b ^ key[i % 4] for i, b in enumerate(text))


def open_frozen(port: int, index: int, topic: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET /ws/sync?user_id=frozen{index} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    received = b""
    while b"\r\n\r\n" not in received:  # a client waits for the 101 before its first frame
        chunk = sock.recv(4096)
        if not chunk:
            raise SystemExit(f"connection {index} refused")
        received += chunk
    sock.sendall(masked_text_frame(json.dumps({"type": "subscribe", "topic": topic, "id": "f"}).encode()))
    while b'"type":"subscribe"' not in received:
        chunk = sock.recv(4096)
        if not chunk:
            raise SystemExit(f"connection {index} closed before its subscribe ack")
        received += chunk
    return sock


def main() -> None:
    port, count, topic = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    sockets = [open_frozen(port, i, topic) for i in range(count)]
    print("ready", flush=True)
    # Never read again; exit when the test closes our stdin (or after 5 minutes at most).
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and sys.stdin.read(1):
        pass
    for sock in sockets:
        sock.close()


if __name__ == "__main__":
    main()
