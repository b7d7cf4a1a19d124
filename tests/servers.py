"""Start real ``workbench`` servers on free localhost ports for tests, and always stop them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """A ``python -m workbench <command>`` subprocess listening on a free port.

    Use as a context manager; ``url`` is the base URL. ``ready_path`` is polled until it answers.
    """

    def __init__(
        self,
        args: Sequence[str],
        *,
        port: int | None = None,
        ready_path: str = "/version",
        env: dict[str, str] | None = None,
        timeout_s: float = 60.0,
    ) -> None:
        self.port = port or free_port()
        self.args = [sys.executable, "-m", "workbench", *args, "--port", str(self.port)]
        self.ready_path = ready_path
        self.env = {**os.environ, **(env or {})}
        self.timeout_s = timeout_s
        self.proc: subprocess.Popen | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerProcess:
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"workbench-{self.port}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            self.args, cwd=REPO, env=self.env, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log_path.read_text()[-3000:]}")
            try:
                httpx.get(self.url + self.ready_path, timeout=1.0)
                return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not answer in {self.timeout_s}s: {self.args}")

    def kill9(self) -> None:
        """Kill the process with SIGKILL (crash tests)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if getattr(self, "_log", None):
            self._log.close()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class RawResponse:
    """What :func:`raw_http` got back, and the exact bytes it sent (``wire``)."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes, wire: bytes) -> None:
        self.status_code = status
        self.headers = headers
        self.content = body
        self.wire = wire

    def json(self):
        import json

        return json.loads(self.content)


def raw_http(
    url: str,
    method: str,
    target: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    timeout_s: float = 30.0,
) -> RawResponse:
    """Send one HTTP/1.1 request with ``target`` exactly as given (no normalisation).

    httpx and curl (without ``--path-as-is``) remove ``..`` segments before sending; this
    writes the request with h11 (which sends the target byte for byte) on a socket.
    """
    import h11

    parsed = httpx.URL(url)
    conn = h11.Connection(h11.CLIENT)
    fields = [("Host", f"{parsed.host}:{parsed.port}"), *(headers or {}).items()]
    fields += [("Content-Length", str(len(body))), ("Connection", "close")]
    wire = conn.send(h11.Request(method=method, target=target, headers=fields))
    wire += conn.send(h11.Data(data=body)) if body else b""
    wire += conn.send(h11.EndOfMessage())
    status, out_headers, chunks = 0, {}, []
    with socket.create_connection((parsed.host, parsed.port), timeout=timeout_s) as sock:
        sock.sendall(wire)
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(sock.recv(65536))
                continue
            if isinstance(event, h11.Response):
                status = event.status_code
                out_headers = {k.decode().lower(): v.decode("latin-1") for k, v in event.headers}
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                break
    return RawResponse(status, out_headers, b"".join(chunks), wire)
