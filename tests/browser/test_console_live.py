"""Jobs that are still going: a RUNNING job's phase and a progress bar that moves while the page is
open, delete refused with the reason while a job is RUNNING or PENDING, and the layout at 400 and
1600 px wide.

The server here is throttled (MODELPORT_MAX_BYTES_PER_SECOND) and has one worker slot, so the big
adapter stays RUNNING for minutes and the job behind it stays PENDING; each test first checks,
through the API, that the job is in the state it needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from modelport import samples
from tests.browser.harness import IMPORT, ConsoleServer, connect, expect, screenshot, write_adapter
from tests.support.server import ModelportProcess, Server, wait_for

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

# 64 KiB/s in 64 KiB chunks: about 60 MB of rank-32 adapter takes a quarter of an hour to copy, and
# the heartbeat records a new byte count every two seconds.
THROTTLE = {"MODELPORT_MAX_BYTES_PER_SECOND": str(64 * 1024), "MODELPORT_CHUNK_BYTES": str(64 * 1024)}
TINY = "tiny-qwen3"


@dataclass(frozen=True)
class BusyServer:
    console: ConsoleServer
    succeeded: str
    failed: str
    running: str
    pending: str


@pytest.fixture(scope="module")
def busy(tmp_path_factory: pytest.TempPathFactory, browser: Browser) -> Iterator[BusyServer]:
    data_dir = tmp_path_factory.mktemp("busy") / "data"
    samples.register_base(data_dir, TINY, samples.tiny_base_config())
    write_adapter(data_dir, "tiny/", rank=8, base=TINY)
    write_adapter(data_dir, "rank12/", rank=12)
    write_adapter(data_dir, "big/", rank=32)
    server = Server(data_dir, THROTTLE, extra_args=["--grace-seconds", "0"]).start()
    try:
        console = ConsoleServer(server, data_dir)
        succeeded = console.finished("tiny/", display_name="tiny adapter", base=TINY)
        failed = console.finished("rank12/", display_name="rank twelve")
        assert (succeeded["status"], failed["status"]) == ("SUCCESSED", "FAILED")
        running = console.create("big/", display_name="big adapter")
        pending = console.create("big/", display_name="waiting its turn")
        wait_for(lambda: server.progress(running)["phase"] == "copying", timeout=180)
        yield BusyServer(console, succeeded["job_id"], failed["job_id"], running, pending)
    finally:
        server.terminate()


def require_status(busy: BusyServer, job_id: str, status: str) -> None:
    """The precondition the test stands on, checked through the API rather than assumed."""
    actual = busy.console.server.job(job_id)["status"]
    assert actual == status, f"job {job_id} is {actual}, not {status}: the throttled copy ended too early"


def test_a_running_job_shows_its_phase_and_a_progress_bar_that_moves(page: Page, busy: BusyServer) -> None:
    require_status(busy, busy.running, "RUNNING")
    require_status(busy, busy.pending, "PENDING")
    connect(page, busy.console.base_url)
    row = page.locator(f"tr[data-job-id='{busy.running}']")
    expect(row.locator(".badge")).to_contain_text("RUNNING")
    expect(row.locator(".phase")).to_have_text("copying")
    bar = row.get_by_role("progressbar", name="Progress of big adapter")
    total = sum(p.stat().st_size for p in busy.console.folder("big/").iterdir() if p.name != "README.md")
    expect(bar).to_have_attribute("max", str(total))
    expect(row.locator(".progress-amount")).to_contain_text(" of 58.")
    # The bar moves while the page is watched: three different values in the same row, updated in
    # place by polling (no reload, no click).
    page.wait_for_function(
        """(jobId) => {
            const bar = document.querySelector(`tr[data-job-id='${jobId}'] progress`);
            window.seenProgress ??= new Set();
            if (bar?.hasAttribute("value") && bar.value > 0) window.seenProgress.add(bar.value);
            return window.seenProgress.size >= 3;
        }""",
        arg=busy.running,
        timeout=120_000,
    )
    expect(page.locator(f"tr[data-job-id='{busy.pending}'] .cell-note")).to_have_text("queued")
    expect(page.locator(f"tr[data-job-id='{busy.pending}'] .badge")).to_contain_text("PENDING")
    expect(page.locator(f"tr[data-job-id='{busy.succeeded}'] .badge")).to_contain_text("SUCCESSED")
    expect(page.locator(f"tr[data-job-id='{busy.failed}'] .badge")).to_contain_text("FAILED")
    expect(page.locator(f"tr[data-job-id='{busy.succeeded}'] .col-base")).to_have_text(TINY)
    screenshot(page, "jobs-list")


LIST_READS = "() => performance.getEntriesByType('resource').filter(e => e.name.includes('/import?')).length"
REPORT_READS = "(suffix) => performance.getEntriesByType('resource').filter(e => e.name.endsWith(suffix)).length"
SET_HIDDEN = """(hidden) => {
    Object.defineProperty(document, 'hidden', {configurable: true, get: () => hidden});
    Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => hidden ? 'hidden' : 'visible'});
    document.dispatchEvent(new Event('visibilitychange'));
}"""


def reads(page: Page, job_id: str = "") -> int:
    count: int = page.evaluate(REPORT_READS, f"{job_id}/report")
    return count


def test_the_list_polls_only_unfinished_rows_and_not_while_the_tab_is_hidden(page: Page, busy: BusyServer) -> None:
    require_status(busy, busy.running, "RUNNING")
    connect(page, busy.console.base_url)
    page.evaluate("performance.setResourceTimingBufferSize(100000)")  # the default keeps 250 entries
    expect(page.locator(f"tr[data-job-id='{busy.running}'] progress")).to_be_visible()
    page.wait_for_function(f"() => ({REPORT_READS})('{busy.running}/report') >= 3")
    # Every row's report was read once, for its base model and weight type; after that the page is
    # re-read for statuses, and only the RUNNING row's report for its progress.
    assert reads(page, busy.succeeded) == 1 and reads(page, busy.failed) == 1 and reads(page, busy.pending) == 1
    assert page.evaluate(LIST_READS) >= 2

    # Playwright cannot hide a real tab, so the page is told it is hidden, as the browser would tell it.
    page.evaluate(SET_HIDDEN, True)

    def activity() -> int:
        return reads(page) + int(page.evaluate(LIST_READS))

    before = activity()
    # Let the server's clock show that polling rounds would have run: five distinct byte counts of
    # the running job span at least four heartbeats (2 s each), i.e. four polling intervals, which
    # would have sent eight reads or more.
    seen: set[int] = set()
    wait_for(
        lambda: seen.add(busy.console.server.progress(busy.running)["bytes_done"]) or len(seen) >= 5,
        timeout=120,
        interval=0.5,
    )
    assert activity() <= before + 2  # at most the round that was already in flight (the page, one report)

    page.evaluate(SET_HIDDEN, False)
    settled = reads(page)
    page.wait_for_function(f"(settled) => ({REPORT_READS})('/report') > settled", arg=settled)


def test_rows_change_status_in_place_when_a_worker_takes_their_jobs(page: Page, tmp_path: Path) -> None:
    """No worker until the page is open, so the jobs cannot finish before the page has loaded."""
    data_dir = tmp_path / "data"
    write_adapter(data_dir, "good/", rank=8)
    write_adapter(data_dir, "rank12/", rank=12)
    api = Server(data_dir, extra_args=["--no-worker"]).start()
    worker = ModelportProcess(["worker", "--grace-seconds", "0"], api.env, data_dir / "worker.log")
    try:
        console = ConsoleServer(api, data_dir)
        good, bad = console.create("good/", display_name="good"), console.create("rank12/", display_name="bad")
        connect(page, api.base_url)
        for job_id in (good, bad):
            expect(page.locator(f"tr[data-job-id='{job_id}'] .badge")).to_contain_text("PENDING")
        worker.start()
        expect(page.locator(f"tr[data-job-id='{good}'] .badge")).to_contain_text("SUCCESSED", timeout=180_000)
        expect(page.locator(f"tr[data-job-id='{bad}'] .badge")).to_contain_text("FAILED", timeout=180_000)
        expect(page.locator(f"tr[data-job-id='{bad}'] .error-line")).to_contain_text("r is 12")
        assert page.evaluate("performance.getEntriesByType('navigation').length") == 1  # never reloaded
    finally:
        if worker.process is not None:
            worker.terminate()
        api.terminate()


@pytest.mark.parametrize("state", ["RUNNING", "PENDING"])
def test_delete_is_refused_with_the_reason_while_a_job_is_unfinished(page: Page, busy: BusyServer, state: str) -> None:
    job_id = busy.running if state == "RUNNING" else busy.pending
    require_status(busy, job_id, state)
    connect(page, busy.console.base_url, route=f"#/jobs/{job_id}")
    expect(page.locator(".job-title .badge")).to_contain_text(state)
    delete = page.get_by_role("button", name="Delete…")
    expect(delete).to_be_disabled()
    reason = page.locator("#delete-reason")
    expect(reason).to_have_text(
        f"Delete is unavailable while the job is {state}: only SUCCESSED or FAILED jobs can be deleted. "
        "It becomes available when the job ends."
    )
    expect(delete).to_have_attribute("aria-describedby", "delete-reason")
    expect(page.get_by_role("heading", name="Progress", level=2)).to_be_visible()
    expect(page.locator(".live .phase")).to_have_text("copying" if state == "RUNNING" else "queued")
    expect(page.locator(".checks, .muted").filter(has_text="Pending: the checks run")).to_be_visible()
    expect(page.locator(".command pre").nth(2)).to_have_text(
        f"MODELPORT_API_KEY=$KEY modelport watch --job-id {job_id} --follow --base-url {busy.console.base_url}"
    )
    if state == "RUNNING":
        screenshot(page, "job-running")
    # What the button would have sent is refused by the server too: the console is not the only guard.
    refused = busy.console.server.call("DELETE", f"{IMPORT}/{job_id}")
    assert refused.status_code == 400 and refused.json()["code"] == "OperationDenied"
    require_status(busy, job_id, state)


def test_cancelling_a_waiting_job_from_its_page_ends_it_cancelled(page: Page, busy: BusyServer) -> None:
    # A job of its own, queued behind the others, so the shared RUNNING and PENDING jobs stay put.
    job_id = busy.console.create("big/", display_name="cancel me")
    require_status(busy, job_id, "PENDING")
    connect(page, busy.console.base_url, route=f"#/jobs/{job_id}")
    expect(page.locator(".job-title .badge")).to_contain_text("PENDING")
    page.get_by_role("button", name="Cancel import…").click()
    dialog = page.get_by_role("dialog", name="Cancel this import?")
    expect(dialog.get_by_role("button", name="Keep it")).to_be_focused()
    dialog.get_by_role("button", name="Cancel the import").click()
    expect(page.locator(".job-title .badge")).to_contain_text("FAILED")
    expect(page.locator("section.failure")).to_contain_text("Cancelled by the user.")
    job = busy.console.server.job(job_id)
    assert (job["status"], job["error_code"]) == ("FAILED", "Cancelled by the user.")
    # A finished job offers no cancel, and the server refuses one anyway.
    expect(page.get_by_role("button", name="Cancel import…")).to_have_count(0)
    refused = busy.console.server.call("POST", f"{IMPORT}/{job_id}/cancel")
    assert refused.status_code == 400 and refused.json()["code"] == "OperationDenied"


@pytest.mark.parametrize(("width", "name"), [(400, "narrow"), (1600, "wide")])
def test_the_list_and_a_failed_report_fit_the_width_without_sideways_scrolling(
    page: Page, busy: BusyServer, width: int, name: str
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    connect(page, busy.console.base_url)
    expect(page.locator(f"tr[data-job-id='{busy.running}'] progress")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(page, f"{name}-jobs-list")
    page.locator(f"tr[data-job-id='{busy.failed}'] .job-link").click()
    expect(page.locator("section.failure .finding-message")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    box = page.locator("section.failure .finding").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
    assert box["y"] < 900  # the failing finding is on the first screen at this width too
    screenshot(page, f"{name}-job-failed")
