"""An HTTP proxy on 127.0.0.1 that records where each request was going and lets through only those to
127.0.0.1: set as HTTPS_PROXY and HTTP_PROXY for a client, it shows every address the client tried to reach,
and makes sure none but this machine's loopback is reached."""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

LOOPBACK = "127.0.0.1"


class RecordingProxy:
    def __init__(self) -> None:
        self.targets: list[str] = []  # host:port of every request, in order, allowed or not
        self._lock = threading.Lock()

    def record(self, host: str, port: int) -> bool:
        with self._lock:
            self.targets.append(f"{host}:{port}")
        return host == LOOPBACK

    @contextlib.contextmanager
    def serving(self) -> Iterator[str]:
        """Serve until the block ends; yields the proxy's URL."""
        server = ThreadingHTTPServer((LOOPBACK, 0), _handler(self))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield f"http://{LOOPBACK}:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()


def _handler(proxy: RecordingProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
            pass

        def do_CONNECT(self) -> None:
            host, _, port = self.path.rpartition(":")
            if not proxy.record(host, int(port)):
                self._refuse()
                return
            with socket.create_connection((host, int(port)), timeout=30) as upstream:
                self.send_response(200, "Connection established")
                self.end_headers()
                _relay(self.connection, upstream)
            self.close_connection = True

        def _forward(self) -> None:
            """A plain-HTTP request in absolute form: sent on in origin form, one request per connection."""
            url = urlsplit(self.path)
            port = url.port or 80
            if not proxy.record(url.hostname or "", port):
                self._refuse()
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            head = [f"{self.command} {url.path or '/'}{'?' + url.query if url.query else ''} HTTP/1.1"]
            head += [
                f"{k}: {v}" for k, v in self.headers.items() if k.lower() not in {"connection", "proxy-connection"}
            ]
            head.append("Connection: close")
            with socket.create_connection((url.hostname or "", port), timeout=30) as upstream:
                upstream.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
                while chunk := upstream.recv(65536):
                    self.connection.sendall(chunk)
            self.close_connection = True

        def _refuse(self) -> None:
            self.send_response(403, "Only 127.0.0.1 is reachable here")
            self.send_header("Content-Length", "0")
            self.end_headers()
            self.close_connection = True

        do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = do_HEAD = _forward  # noqa: N815 - the stdlib's names

    return Handler


def _relay(client: socket.socket, upstream: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    sockets = [client, upstream]
    while True:
        readable, _, _ = select.select(sockets, [], [], 30)
        if not readable:
            return
        for source in readable:
            data = source.recv(65536)
            if not data:
                return
            (upstream if source is client else client).sendall(data)
