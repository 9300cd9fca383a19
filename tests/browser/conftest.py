"""Browser fixtures: one Chromium per module, a fresh browser context (so a fresh sessionStorage)
per test, and a real `modelport serve` with uploads, shared by the tests of a module.

Without Chromium or the playwright package every test here skips with `harness.ENABLE`; with
MODELPORT_TEST_BROWSER=required (as CI sets it) they fail instead, so CI cannot pass by skipping.
A test that fails leaves a screenshot of its page under test-artifacts/console/failures/.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from modelport import samples
from tests.browser import harness
from tests.browser.harness import ARTIFACTS, CHROMIUM_ARGS, TIMEOUT_MS, ConsoleServer
from tests.support.server import Server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


FAILED = pytest.StashKey[bool]()


@pytest.fixture(scope="session", autouse=True)
def fresh_failures_folder() -> None:
    """The failures folder holds this run's failures only."""
    shutil.rmtree(ARTIFACTS / "failures", ignore_errors=True)


# Per module, not per session: while Playwright's sync API is open it keeps an asyncio loop running
# in the main thread, and the tests after these ones call asyncio.run().
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    problem = harness.missing_parts()
    if problem is not None:
        if harness.browser_required():
            pytest.fail(f"{harness.REQUIRED_ENV} is set but {problem}. {harness.ENABLE}")
        pytest.skip(f"{problem}. {harness.ENABLE}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=harness.chromium_path(), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A new tab in a new context. Any uncaught script error or CSP violation fails the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US", timezone_id="UTC")
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    tab.on(
        "console",
        lambda message: (
            problems.append(f"console: {message.text}")
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    yield tab
    if request.node.stash.get(FAILED, False):
        folder = ARTIFACTS / "failures"
        folder.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid.split("::", 1)[-1])
        tab.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    context.close()
    assert not problems, problems


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory, browser: Browser) -> Iterator[ConsoleServer]:
    """API and worker at full speed; uploads: `good/` (rank 8, imports), `rank12/` (fails),
    `other-base/` (an adapter for qwen3-4b: every tensor's shape is wrong for qwen3-8b) and
    `hostile/` (a file whose name is markup, to check nothing from an upload is parsed as HTML).
    The catalog also has `lora-only`, an operator base that refuses full weights."""
    data_dir = tmp_path_factory.mktemp("console") / "data"
    lora_only = samples.register_base(data_dir, harness.LORA_ONLY, samples.tiny_base_config()).parent
    (lora_only / "modelport.json").write_text(json.dumps({"weight_types": ["lora"]}))
    harness.write_adapter(data_dir, "good/", rank=8)
    harness.write_adapter(data_dir, "rank12/", rank=12)
    harness.write_adapter(data_dir, "other-base/", rank=8, base="qwen3-4b-instruct-2507")
    hostile = harness.write_adapter(data_dir, "hostile/", rank=8)
    (hostile / harness.HOSTILE_FILE).write_bytes(b"\x80\x04K\x01.")
    server = Server(data_dir, {"MODELPORT_POLL_SECONDS": "0.2"}).start()
    try:
        yield ConsoleServer(server, data_dir)
    finally:
        server.terminate()
