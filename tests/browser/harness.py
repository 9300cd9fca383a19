"""What the browser tests share: Chromium and the playwright package (found, or a reason why not),
a console server with uploads, logging in with a key, and screenshots saved as test artefacts.

The playwright package is optional (`pip install -e '.[browser]'`), so nothing here imports it at
module level unguarded: without it the tests skip (or, in CI, fail) with one message saying how to
enable them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from modelport import samples
from modelport.catalog.catalog import load_catalog
from tests.support.server import TEST_KEY, Server

if TYPE_CHECKING:
    from playwright.sync_api import Page

try:
    from playwright.sync_api import expect
except ImportError:  # the tests skip; see missing_parts()
    expect = None

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("MODELPORT_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "console"
CHROMIUM_ENV = "MODELPORT_TEST_CHROMIUM"
REQUIRED_ENV = "MODELPORT_TEST_BROWSER"  # "required" (CI): missing parts fail the tests instead of skipping them
ENABLE = (
    "Browser tests need Chromium and the playwright Python package: run `apt-get install -y chromium` "
    "and `.venv/bin/pip install -e '.[browser]'`, then ./scripts/test again (set MODELPORT_TEST_CHROMIUM "
    "to use another Chromium binary). Playwright's own browser download is not needed."
)
# Playwright starts every browser with a fresh temporary profile of its own. Without the
# background-networking flags Chromium dials Google services at start, which a closed network refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Generous: the machine is shared with heavy jobs, and every wait is on a condition, never a sleep.
TIMEOUT_MS = 90_000
if expect is not None:
    expect.set_options(timeout=TIMEOUT_MS)

BUCKET = "console-bucket"
IMPORT = "/api/v1/custom_models/import"
HOSTILE_FILE = "<img src=x onerror=window.pwned=1>.pkl"
HOSTILE_NAME = "<script>window.pwned=2</script><b>x</b>"
LORA_ONLY = "lora-only"


def chromium_path() -> str | None:
    configured = os.environ.get(CHROMIUM_ENV)
    if configured:
        return configured if Path(configured).exists() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def missing_parts() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if expect is None:
        return "the playwright package is not installed"
    if chromium_path() is None:
        return f"no Chromium found ({CHROMIUM_ENV} or `chromium` on PATH)"
    return None


def browser_required() -> bool:
    return os.environ.get(REQUIRED_ENV, "").lower() in ("1", "required", "yes")


def screenshot(page: Page, name: str) -> Path:
    """Save the whole page as test-artifacts/console/<name>.png (CI keeps the folder)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def connect(page: Page, base_url: str, key: str = TEST_KEY, route: str = "#/jobs") -> None:
    """Open the console at `route`, paste `key` and wait for the page it was asked for."""
    page.goto(f"{base_url}/console{route}")
    page.get_by_role("textbox", name="API key").fill(key)
    page.get_by_role("button", name="Use this key").click()
    expect(page.get_by_role("group", name="API key status")).to_contain_text("Key set for this tab")


@dataclass
class ConsoleServer:
    """A real `modelport serve` with uploads in bucket `console-bucket`, driven over HTTP."""

    server: Server
    data_dir: Path

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def folder(self, prefix: str) -> Path:
        return self.data_dir / "buckets" / BUCKET / prefix

    def create(self, prefix: str, *, display_name: str | None = None, base: str = "qwen3-8b") -> str:
        body: dict[str, Any] = {
            "model_name": base,
            "source": "oss",
            "weight_type": "lora",
            "storage_info": {"bucket_name": BUCKET, "object_key": prefix},
        }
        if display_name is not None:
            body["display_name"] = display_name
        response = self.server.call("POST", IMPORT, json=body)
        assert response.status_code == 200, response.text
        job_id: str = response.json()["output"]["job_id"]
        return job_id

    def finished(self, prefix: str, *, display_name: str | None = None, base: str = "qwen3-8b") -> dict[str, Any]:
        return self.server.wait_terminal(self.create(prefix, display_name=display_name, base=base), timeout=180)

    def status_of(self, job_id: str) -> int:
        return self.server.call("GET", f"{IMPORT}/{job_id}").status_code

    def new_key(self, workspace: str) -> str:
        """A key of a new workspace, made by the operator CLI while the server runs."""
        env = {**self.server.env, "MODELPORT_API_KEY": ""}
        done = subprocess.run(
            [sys.executable, "-m", "modelport", "keys", "create", "--workspace", workspace],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return done.stdout.strip().splitlines()[-1]

    def revoke(self, key: str) -> None:
        env = {**self.server.env, "MODELPORT_API_KEY": ""}
        subprocess.run(
            [sys.executable, "-m", "modelport", "keys", "revoke", key],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )


def write_adapter(data_dir: Path, prefix: str, *, rank: int, base: str = "qwen3-8b") -> Path:
    architecture = load_catalog(data_dir).get(base)
    assert architecture is not None
    folder = data_dir / "buckets" / BUCKET / prefix
    samples.write_lora_adapter(folder, base, architecture.architecture, rank=rank)
    return folder


def unique(label: str) -> str:
    """A display name no other test uses (the servers are shared within a module)."""
    return f"{label} {uuid.uuid4().hex[:6]}"


def api_total(server: ConsoleServer, **query: str) -> int:
    response = httpx.get(f"{server.base_url}{IMPORT}", params=query, headers=server.server.headers, timeout=30)
    assert response.status_code == 200, response.text
    total: int = response.json()["output"]["total"]
    return total
