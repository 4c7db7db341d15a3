"""Plumbing shared by the local stand-ins (groq_peer.py, supabase_peer.py): a threaded HTTP/1.1
server whose connections a peer can track, abort with a TCP reset, and close when it stops."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

IDLE_TIMEOUT = 10.0  # seconds an idle keep-alive connection is kept
MAX_BODY = 16 * 1024 * 1024


class ConnectionBook:
    """A peer's server thread and open connections (the base of the peer classes).

    Subclasses set ``_lock``, ``_connections``, ``_rst``, ``_stopping``, ``_server`` and
    ``_thread`` in ``__init__`` and write ``start()``/``stop()`` around ``_serve``/``_shutdown``.
    """

    _lock: threading.Lock
    _connections: set[socket.socket]
    _rst: set[socket.socket]
    _stopping: threading.Event
    _server: Any
    _thread: threading.Thread | None

    def start(self) -> Any:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def _serve(self, server_class: type[PeerServer], handler: type[PeerHandler], name: str) -> None:
        """Bind 127.0.0.1 on a free port and serve from a daemon thread."""
        self._stopping.clear()
        server = server_class(("127.0.0.1", 0), handler)
        server.peer = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"{name}-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def _shutdown(self) -> None:
        """Stop serving: end sleeps, close open connections, close the socket (idempotent)."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port the peer listens on."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not running")
        return int(self._server.server_address[1])

    def _track(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.add(conn)

    def _untrack(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.discard(conn)

    def _mark_rst(self, conn: socket.socket) -> None:
        with self._lock:
            self._rst.add(conn)

    def _take_rst(self, conn: socket.socket) -> bool:
        with self._lock:
            if conn in self._rst:
                self._rst.discard(conn)
                return True
            return False


class PeerServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True
    peer: Any

    def shutdown_request(self, request: Any) -> None:
        # A hard abort must reach the client as a RST: skip the FIN socketserver sends.
        if self.peer._take_rst(request):
            self.close_request(request)
        else:
            super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out or hang up mid-answer are expected here, not test failures.
        exc = sys.exc_info()[1]
        if isinstance(exc, (OSError, ValueError)):
            return
        super().handle_error(request, client_address)


class PeerHandler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1; every method goes to ``_dispatch``, which subclasses write."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT
    max_body = MAX_BODY  # a peer that takes large uploads raises it
    server: PeerServer

    @property
    def peer(self) -> Any:
        return self.server.peer

    def version_string(self) -> str:
        return "cloudflare"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle's algorithm meets
        # the client's delayed ACK and every answer waits ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.peer._track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.peer._untrack(self.connection)

    def _dispatch(self) -> None:
        raise NotImplementedError

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_OPTIONS(self) -> None:
        self._dispatch()

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            parts: list[bytes] = []
            size = 0
            while True:
                line = self.rfile.readline(1024)
                length = int(line.split(b";")[0].strip() or b"0", 16)
                if length == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                size += length
                if size > self.max_body:
                    raise ValueError("request body too large")
                parts.append(self.rfile.read(length))
                self.rfile.readline(1024)
        length = int(self.headers.get("content-length") or 0)
        if length > self.max_body:
            raise ValueError("request body too large")
        return self.rfile.read(length) if length else b""
