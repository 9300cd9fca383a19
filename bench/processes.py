"""Real `modelport` processes for the benchmarks: `serve --no-worker` and `worker`, started with their own
environment, waited for until they answer, read from /proc, and stopped by their own process id.

Mirrors tests/support/server.py (bench/ does not import from tests/).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import httpx

T = TypeVar("T")
BENCH_KEY = "sk-" + "benchmarkKey0123456789abcdefghijklmnopq"
IMPORT_ROUTE = "/api/v1/custom_models/import"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: Callable[[], T | None], timeout: float, interval: float = 0.05, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not met within {timeout} s")
        time.sleep(interval)


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM ... from /proc/<pid>/status, in KiB."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if len(parts) == 2 and parts[1] == "kB":
            values[name] = int(parts[0])
    return values


def proc_io(pid: int) -> dict[str, int]:
    """rchar, read_bytes ... from /proc/<pid>/io (bytes read through read syscalls, from storage)."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        name, _, value = line.partition(":")
        values[name] = int(value)
    return values


class ModelportProcess:
    """One `python -m modelport <args>` process; its output goes to `log`."""

    def __init__(self, args: list[str], env: Mapping[str, str], log: Path) -> None:
        self.args = args
        self.env = dict(env)
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ModelportProcess:
        with self.log.open("ab") as handle:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "modelport", *self.args],
                env=self.env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def peak_rss_mib(self) -> float:
        return proc_status(self.pid)["VmHWM"] / 1024

    def rss_mib(self) -> float:
        return proc_status(self.pid)["VmRSS"] / 1024

    def stop(self, timeout: float = 60.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"modelport {' '.join(self.args)} exited:\n{self.output()[-3000:]}")


def base_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a modelport process: PATH, data folder, the bench key, and `extra`."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "MODELPORT_DATA_DIR": str(data_dir),
        "MODELPORT_API_KEY": BENCH_KEY,
        "MODELPORT_LOG_FORMAT": "text",
    }
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if name in os.environ:
            env[name] = os.environ[name]
    env.update(extra)
    return env


class ApiServer(ModelportProcess):
    """`modelport serve --no-worker` (or with its built-in worker when `worker=True`)."""

    def __init__(self, env: Mapping[str, str], log: Path, *, worker: bool = False, args: list[str] | None = None):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        flags = [] if worker else ["--no-worker"]
        super().__init__(["serve", "--port", str(self.port), *flags, *(args or [])], env, log)
        self.client = httpx.Client(
            base_url=self.base_url, headers={"Authorization": f"Bearer {BENCH_KEY}"}, timeout=120
        )

    def start(self) -> ApiServer:
        super().start()
        wait_for(self._ready, timeout=90, what="modelport serve answering /readyz")
        return self

    def _ready(self) -> bool:
        self.check_alive()
        try:
            return httpx.get(f"{self.base_url}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self, timeout: float = 60.0) -> None:
        self.client.close()
        super().stop(timeout)

    def create_job(self, base_model: str, weight_type: str, bucket: str, prefix: str) -> str:
        body = {
            "model_name": base_model,
            "source": "oss",
            "weight_type": weight_type,
            "storage_info": {"bucket_name": bucket, "object_key": prefix},
        }
        response = self.client.post(IMPORT_ROUTE, json=body)
        if response.status_code != 200:
            raise RuntimeError(f"create failed: {response.status_code} {response.text}")
        job_id: str = response.json()["output"]["job_id"]
        return job_id

    def job(self, job_id: str) -> dict[str, Any]:
        response = self.client.get(f"{IMPORT_ROUTE}/{job_id}")
        if response.status_code != 200:
            raise RuntimeError(f"get failed: {response.status_code} {response.text}")
        output: dict[str, Any] = response.json()["output"]
        return output

    def wait_terminal(self, job_id: str, timeout: float, interval: float = 0.05) -> dict[str, Any]:
        def terminal() -> dict[str, Any] | None:
            self.check_alive()
            job = self.job(job_id)
            return job if job["status"] in ("SUCCESSED", "FAILED") else None

        return wait_for(terminal, timeout=timeout, interval=interval, what=f"job {job_id} ending")


class WorkerProcess(ModelportProcess):
    def __init__(self, env: Mapping[str, str], log: Path, *, concurrency: int = 1, grace_seconds: float = 5.0):
        args = ["worker", "--concurrency", str(concurrency), "--grace-seconds", str(grace_seconds)]
        super().__init__(args, env, log)

    def start(self) -> WorkerProcess:
        return self.launch().wait_running()

    def launch(self) -> WorkerProcess:
        """Start the process without waiting for it (to start several at once)."""
        self._offset = self.log.stat().st_size if self.log.exists() else 0
        super().start()
        return self

    def wait_running(self) -> WorkerProcess:
        def running() -> bool:
            self.check_alive()
            return "running" in self.output()[self._offset :]

        wait_for(running, timeout=90, what="modelport worker starting")
        return self
