"""Fixtures for the client verbs: two real `modelport serve` processes, and the CLI run as a process.

Per module, started side by side: `importing_server` imports (API and worker) and `idle_server` runs
`--no-worker`, so its jobs stay PENDING for as long as a test needs (timeouts, refused deletes).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from modelport.catalog.catalog import load_catalog
from modelport.client import Client
from modelport.samples import write_lora_adapter
from tests.support.server import TEST_KEY, Server

API_KEY = TEST_KEY
BUCKET = "e2e-bucket"


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


@dataclass(frozen=True)
class ServerProcess:
    server: Server
    data_dir: Path

    @property
    def base_url(self) -> str:
        return self.server.base_url

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


@pytest.fixture(scope="module")
def client_test_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    live_dir, idle_dir = tmp_path_factory.mktemp("live"), tmp_path_factory.mktemp("idle")
    env = {"MODELPORT_POLL_SECONDS": "0.2"}
    live = Server(live_dir, env)
    idle = Server(idle_dir, env, extra_args=["--no-worker"])
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(Server.start, [live, idle]))
        yield ServerProcess(live, live_dir), ServerProcess(idle, idle_dir)
    finally:
        for server in (live, idle):
            if server.process is not None:
                server.terminate()


@pytest.fixture(scope="module")
def importing_server(client_test_servers: tuple[ServerProcess, ServerProcess]) -> ServerProcess:
    """API and worker; holds a valid adapter at `good/` and a rank-12 one (fails) at `bad/`."""
    live = client_test_servers[0]
    if not live.bucket_folder("good/").exists():
        live.write_adapter("good/", rank=8)
        live.write_adapter("bad/", rank=12)
    return live


@pytest.fixture(scope="module")
def idle_server(client_test_servers: tuple[ServerProcess, ServerProcess]) -> ServerProcess:
    """API only: every job stays PENDING."""
    return client_test_servers[1]
