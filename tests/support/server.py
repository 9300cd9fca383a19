"""Real `modelport` processes for end-to-end tests: start, wait until ready, kill, restart."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import httpx

T = TypeVar("T")
TEST_KEY = "sk-" + "e2eTestKey0123456789abcdefghijklmnopqrstu"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def readme_serve(folder: Path, port: int, env: Mapping[str, str]) -> Iterator[None]:
    """`.venv/bin/modelport serve --port PORT` run in `folder` as a README reader would, ready
    (readyz 200) on entry and stopped on exit; its output goes to folder/serve.log."""
    with (folder / "serve.log").open("wb") as log:
        server = subprocess.Popen(
            [str(folder / ".venv/bin/modelport"), "serve", "--port", str(port)],
            cwd=folder,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:

        def ready() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, timeout=60)
        yield
    finally:
        server.terminate()
        server.wait(timeout=60)


def wait_for(condition: Callable[[], T | None], timeout: float = 60.0, interval: float = 0.05) -> T:
    """Poll `condition` until it returns a truthy value; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


class ModelportProcess:
    """One `modelport <args>` process with its own environment."""

    def __init__(self, args: list[str], env: Mapping[str, str], log: Path) -> None:
        self.args = args
        self.env = dict(env)
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ModelportProcess:
        handle = self.log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "modelport", *self.args],
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        handle.close()
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL: no cleanup, no goodbye; what a crash or an OOM kill looks like."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def terminate(self, timeout: float = 60.0) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class Server(ModelportProcess):
    def __init__(self, data_dir: Path, env: Mapping[str, str] | None = None, *, extra_args: list[str] | None = None):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "MODELPORT_DATA_DIR": str(data_dir),
            "MODELPORT_API_KEY": TEST_KEY,
            "MODELPORT_POLL_SECONDS": "0.1",
            **(env or {}),
        }
        super().__init__(["serve", "--port", str(self.port), *(extra_args or [])], environment, data_dir / "serve.log")

    def start(self) -> Server:
        super().start()
        wait_for(self._ready, timeout=60)
        return self

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"modelport serve exited:\n{self.output()}")
        try:
            return httpx.get(f"{self.base_url}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.env['MODELPORT_API_KEY']}"}

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, f"{self.base_url}{path}", headers=self.headers, timeout=30, **kwargs)

    def job(self, job_id: str) -> dict[str, Any]:
        response = self.call("GET", f"/api/v1/custom_models/import/{job_id}")
        assert response.status_code == 200, response.text
        output: dict[str, Any] = response.json()["output"]
        return output

    def progress(self, job_id: str) -> dict[str, Any]:
        response = self.call("GET", f"/api/v1/custom_models/import/{job_id}/report")
        assert response.status_code == 200, response.text
        progress: dict[str, Any] = response.json()["output"]["progress"]
        return progress

    def wait_terminal(self, job_id: str, timeout: float = 120.0) -> dict[str, Any]:
        return wait_for(lambda: (job := self.job(job_id))["status"] in ("SUCCESSED", "FAILED") and job, timeout)
