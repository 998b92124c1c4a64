"""A real HTTP proxy for fault tests: it sits on a loopback port in front of a real server.

It forwards every request to the upstream server unchanged, and on demand:
- delays answers (to push a real server past the client's timeout),
- answers 429 itself (always, or the first N requests; optionally with Retry-After),
- counts requests per path (the query-count benchmark uses this),
- calls a hook before forwarding (e.g. to stop the real server mid-diagnosis),
- stops listening (`refuse()`): new connections are refused, like a stopped server.

Used in-process by the tests (`with FaultProxy(url) as proxy: ...`), or standalone:

    python tests/delay_proxy.py --upstream http://127.0.0.1:9090 --port 9091 --delay 30
"""

from __future__ import annotations

import argparse
import http.client
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "content-length",
}


class FaultProxy:
    def __init__(
        self,
        upstream: str,
        *,
        delay_s: float = 0.0,
        delay_paths: tuple[str, ...] = ("/",),
        status: int | None = None,
        status_times: int | None = None,
        status_body: str = "too many outstanding requests",
        retry_after: str | None = None,
        before_forward: Callable[[str, int], None] | None = None,
        upstream_timeout: float = 120.0,
    ):
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.delay_s = delay_s
        self.delay_paths = delay_paths
        self.status = status
        self.status_times = status_times  # None: every request; N: only the first N
        self.status_body = status_body
        self.retry_after = retry_after
        self.before_forward = before_forward
        self.upstream_timeout = upstream_timeout
        self.counts: Counter[str] = Counter()
        self.answered_status = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, port: int = 0) -> FaultProxy:
        proxy = self

        class Handler(_Handler):
            owner = proxy

        server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        server.daemon_threads = True
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def refuse(self) -> None:
        """Stop listening: from now on connections to the proxy's port are refused."""
        server = self._server
        if server is not None:
            server.shutdown()
            server.server_close()
            self._server = None

    def stop(self) -> None:
        self._stopping.set()  # wake delayed handlers so nothing lingers after the test
        self.refuse()

    def __enter__(self) -> FaultProxy:
        return self.start() if self._server is None else self

    def __exit__(self, *exc) -> None:
        self.stop()

    def total(self, prefix: str = "") -> int:
        with self._lock:
            return sum(n for path, n in self.counts.items() if path.startswith(prefix))

    # -- per request ----------------------------------------------------------------------
    def _should_refuse_with_status(self) -> bool:
        with self._lock:
            if self.status is None:
                return False
            if self.status_times is None or self.answered_status < self.status_times:
                self.answered_status += 1
                return True
            return False


class _Handler(BaseHTTPRequestHandler):
    owner: FaultProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        proxy = self.owner
        path = self.path.split("?", 1)[0]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        with proxy._lock:
            proxy.counts[path] += 1
            n = proxy.counts[path]
        if proxy._should_refuse_with_status():
            data = proxy.status_body.encode()
            self.send_response(proxy.status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            if proxy.retry_after is not None:
                self.send_header("Retry-After", proxy.retry_after)
            self.end_headers()
            self.wfile.write(data)
            return
        if proxy.delay_s and path.startswith(proxy.delay_paths):
            if proxy._stopping.wait(proxy.delay_s):
                self.close_connection = True
                return
        if proxy.before_forward is not None:
            try:
                proxy.before_forward(path, n)
            except ConnectionError:  # the hook says: this request dies with the server
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
        headers = {
            k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP and k.lower() != "host"
        }
        conn = http.client.HTTPConnection(
            proxy.upstream_host, proxy.upstream_port, timeout=proxy.upstream_timeout
        )
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            upstream = conn.getresponse()
            data = upstream.read()
        except (OSError, http.client.HTTPException):
            # The real server is gone: drop the client's connection the way a dead server would.
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        finally:
            conn.close()
        try:
            self.send_response(upstream.status, upstream.reason)
            for key, value in upstream.getheaders():
                if key.lower() not in HOP_BY_HOP:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True  # the client gave up (its timeout): nothing to tell it


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to hold every answer")
    parser.add_argument("--status", type=int, help="answer this status instead of forwarding (e.g. 429)")
    parser.add_argument("--status-times", type=int, help="only for the first N requests")
    parser.add_argument("--retry-after", help="Retry-After header value on those answers")
    args = parser.parse_args(argv)
    proxy = FaultProxy(
        args.upstream,
        delay_s=args.delay,
        status=args.status,
        status_times=args.status_times,
        retry_after=args.retry_after,
    ).start(args.port)
    print(f"proxy {proxy.url} -> {args.upstream}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        proxy.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
