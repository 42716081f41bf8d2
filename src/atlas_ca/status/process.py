"""``atlas-ca serve`` as a child process on a free loopback port (the demo and the tests).

Waits for ``/health`` in a bounded loop, and stops the server with SIGTERM (gunicorn's
graceful shutdown), then SIGKILL if it has not exited within the grace period.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from atlas_ca.errors import Unavailable

__all__ = ["ServerProcess", "free_port", "http_get", "http_post"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def http_post(
    url: str, body: bytes, content_type: str, timeout: float = 30
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(  # noqa: S310 - loopback URLs built by the caller
        url, data=body, headers={"Content-Type": content_type}, method="POST"
    )
    return _send(request, timeout)


def http_get(
    url: str, headers: Mapping[str, str] | None = None, timeout: float = 30
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=dict(headers or {}))  # noqa: S310
    return _send(request, timeout)


def _send(request: urllib.request.Request, timeout: float) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310
            return resp.status, dict(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers.items()), exc.read()


class ServerProcess:
    """``atlas-ca serve --config CONFIG --listen 127.0.0.1:PORT --workers N`` in a child."""

    def __init__(
        self,
        config: Path,
        *,
        workers: int = 2,
        port: int | None = None,
        env: Mapping[str, str] | None = None,
        log_path: Path | None = None,
        startup_seconds: float = 60,
    ) -> None:
        self.config = config
        self.port = port or free_port()
        self.workers = workers
        self.env = dict(os.environ if env is None else env)
        self.log_path = log_path or config.with_name(f"serve-{self.port}.log")
        self.startup_seconds = startup_seconds
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerProcess:
        argv = [
            sys.executable, "-c", "from atlas_ca.cli import main; main()",
            "serve", "--config", str(self.config),
            "--listen", f"127.0.0.1:{self.port}", "--workers", str(self.workers),
        ]  # fmt: skip
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(argv, stdout=log, stderr=log, env=self.env)
        log.close()
        deadline = time.monotonic() + self.startup_seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Unavailable(f"atlas-ca serve exited ({self.proc.returncode}): {self.log()}")
            with contextlib.suppress(OSError):
                status, _, _ = http_get(self.url + "/health", timeout=5)
                if status == 200:
                    return self
            time.sleep(0.2)
        self.stop()
        raise Unavailable(f"atlas-ca serve did not become healthy: {self.log()[-2000:]}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, grace: float = 30) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
