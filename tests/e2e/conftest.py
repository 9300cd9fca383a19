"""End-to-end fixtures: real `modelport serve` processes on free ports, and the CLI run as a process.

Two servers per module, started together: `live_server` imports (API and worker), `idle_server`
runs `--no-worker`, so its jobs stay PENDING for as long as a test needs (timeouts, refused
deletes). Readiness is polled with a deadline, never slept for.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from modelport.catalog.catalog import load_catalog
from modelport.client import Client
from modelport.samples import write_lora_adapter

API_KEY = "sk-e2e-cli-and-client-" + "k" * 21
BUCKET = "e2e-bucket"
STARTUP_SECONDS = 60.0


def free_port() -> int:
    """A port nothing listens on right now (the OS picked it; closed again at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def cli_env(base_url: str | None, api_key: str | None) -> dict[str, str]:
    """The caller's environment without any modelport/DashScope settings, plus the given ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELPORT_") and k != "DASHSCOPE_API_KEY"}
    if base_url is not None:
        env["MODELPORT_BASE_URL"] = base_url
    if api_key is not None:
        env["MODELPORT_API_KEY"] = api_key
    return env


def cli_command(args: Sequence[str]) -> list[str]:
    return [sys.executable, "-m", "modelport", *args]


@dataclass
class ServerProcess:
    data_dir: Path
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, **options: Any) -> Client:
        return Client(self.base_url, API_KEY, **options)

    def bucket_folder(self, prefix: str) -> Path:
        return self.data_dir / "buckets" / BUCKET / prefix

    def write_adapter(self, prefix: str, *, rank: int) -> None:
        base = load_catalog(self.data_dir).get("qwen3-8b")
        assert base is not None
        write_lora_adapter(self.bucket_folder(prefix), "qwen3-8b", base.architecture, rank=rank)

    def run(self, *args: str, api_key: str | None = API_KEY, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run `modelport ARGS` against this server and wait for it."""
        return subprocess.run(
            cli_command(args),
            env=cli_env(self.base_url, api_key),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _launch(root: Path, *extra: str) -> ServerProcess:
    data_dir = root / "data"
    data_dir.mkdir(parents=True)
    port = free_port()
    env = cli_env(None, API_KEY) | {"MODELPORT_DATA_DIR": str(data_dir), "MODELPORT_POLL_SECONDS": "0.2"}
    log_path = root / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            cli_command(["serve", "--port", str(port), *extra]), env=env, stdout=log, stderr=subprocess.STDOUT
        )
    return ServerProcess(data_dir, port, process, log_path)


def _wait_until_healthy(server: ServerProcess, deadline: float) -> None:
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"modelport serve exited with {server.process.returncode}:\n{server.log()}")
        try:
            if httpx.get(f"{server.base_url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)  # pacing between probes; the condition is the health check, with a deadline
    raise AssertionError(f"modelport serve did not become healthy in {STARTUP_SECONDS:g} s:\n{server.log()}")


def _stop(server: ServerProcess) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    live = _launch(tmp_path_factory.mktemp("live"))
    idle = _launch(tmp_path_factory.mktemp("idle"), "--no-worker")
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        _wait_until_healthy(live, deadline)
        _wait_until_healthy(idle, deadline)
        yield live, idle
    finally:
        _stop(live)
        _stop(idle)


@pytest.fixture(scope="module")
def live_server(servers: tuple[ServerProcess, ServerProcess]) -> ServerProcess:
    """API and worker; holds a valid adapter at `good/` and a rank-12 one (fails) at `bad/`."""
    live = servers[0]
    if not live.bucket_folder("good/").exists():
        live.write_adapter("good/", rank=8)
        live.write_adapter("bad/", rank=12)
    return live


@pytest.fixture(scope="module")
def idle_server(servers: tuple[ServerProcess, ServerProcess]) -> ServerProcess:
    """API only: every job stays PENDING."""
    return servers[1]
