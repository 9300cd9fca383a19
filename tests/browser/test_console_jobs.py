"""The jobs list and a finished job's page: rows with the job's fields, filters and pages as the
list route has them, a failed job opening with what failed, delete with a confirmation, the
catalog page, and the keyboard."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.browser.harness import IMPORT, ConsoleServer, connect, expect, screenshot, unique

if TYPE_CHECKING:
    from playwright.sync_api import Page


def test_the_list_shows_each_jobs_fields_and_filters_by_status_and_base_model(
    page: Page, console_server: ConsoleServer
) -> None:
    good = console_server.finished("good/", display_name=unique("good adapter"))
    bad = console_server.finished("rank12/", display_name=unique("rank twelve"))
    assert (good["status"], bad["status"]) == ("SUCCESSED", "FAILED")
    connect(page, console_server.base_url)
    good_row = page.locator(f"tr[data-job-id='{good['job_id']}']")
    bad_row = page.locator(f"tr[data-job-id='{bad['job_id']}']")
    expect(good_row.locator(".job-link")).to_have_text(good["display_name"])
    expect(good_row.locator(".model-name")).to_have_text(good["model_name"])
    # Base model and weight type are not in list items; the console reads them from each report.
    expect(good_row.locator(".col-base")).to_have_text("qwen3-8b")
    expect(good_row.locator(".col-weight")).to_have_text("lora")
    expect(good_row.locator(".badge")).to_contain_text("SUCCESSED")
    expect(bad_row.locator(".badge")).to_contain_text("FAILED")
    expect(bad_row.locator(".error-line")).to_have_text(bad["error_code"])
    expect(bad_row.locator("time")).to_have_attribute("datetime", bad["gmt_create"])
    # Newest first, as the route orders them.
    ids = page.locator("tbody tr").evaluate_all("rows => rows.map(row => row.dataset.jobId)")
    assert ids.index(bad["job_id"]) < ids.index(good["job_id"])

    page.get_by_label("Status", exact=True).select_option("FAILED")
    expect(good_row).to_have_count(0)
    expect(bad_row).to_be_visible()
    assert "status=FAILED" in page.url
    statuses = page.locator("tbody tr").evaluate_all("rows => rows.map(row => row.dataset.status)")
    assert statuses and set(statuses) == {"FAILED"}

    page.get_by_label("Status", exact=True).select_option("")
    page.get_by_label("Base model").select_option("qwen3-vl-8b-instruct")
    expect(page.get_by_role("status").filter(has_text="No jobs match these filters")).to_be_visible()
    page.get_by_role("link", name="Show all jobs").click()
    expect(good_row).to_be_visible()


def test_pages_follow_the_list_routes_pages(page: Page, console_server: ConsoleServer) -> None:
    for label in ("first", "second"):
        console_server.create("good/", display_name=unique(label))
    listing = console_server.server.call("GET", IMPORT, params={"page_size": 1, "page_no": 2}).json()["output"]
    connect(page, console_server.base_url, route="#/jobs?size=1")
    pager = page.get_by_role("navigation", name="Pages")
    expect(pager).to_contain_text(f"Page 1 of {listing['total']} · {listing['total']} jobs")
    expect(page.locator("tbody tr")).to_have_count(1)
    pager.get_by_role("link", name="Next →").click()
    expect(page.locator("tbody tr")).to_have_attribute("data-job-id", listing["list"][0]["job_id"])
    expect(pager).to_contain_text(f"Page 2 of {listing['total']}")
    expect(page.get_by_label("Per page")).to_have_value("1")


def test_a_failed_job_opens_with_what_failed_grouped_by_file_before_anything_else(
    page: Page, console_server: ConsoleServer
) -> None:
    job = console_server.finished("rank12/", display_name=unique("rank twelve"))
    connect(page, console_server.base_url, route=f"#/jobs/{job['job_id']}")
    failure = page.locator("section.failure")
    expect(failure.get_by_role("heading", level=2)).to_have_text("Why it failed")
    expect(failure.locator(".finding-file")).to_have_text(["File adapter_config.json"])
    expect(failure.locator(".finding-rule code")).to_have_text(["lora.rank_not_allowed"])
    expect(failure.locator(".finding-message")).to_have_text([job["error_code"]])
    # First in the page's main column, and on the first screen without scrolling.
    first = page.locator(".job-main > *").first
    expect(first).to_have_class("failure")
    box = failure.locator(".finding").bounding_box()
    assert box is not None and box["y"] + box["height"] <= page.viewport_size["height"]  # type: ignore[index]
    expect(page.locator("[data-key=error_code] dd")).to_have_text(job["error_code"])
    expect(page.locator(".check[data-outcome=failed] .check-name")).to_have_text(["lora.config"])
    screenshot(page, "job-failed")


def test_a_job_whose_folder_is_missing_names_the_upload_as_a_whole(page: Page, console_server: ConsoleServer) -> None:
    job = console_server.finished("nothing-here/")
    assert job["error_code"].startswith("Failed to get files from OSS. Check the files in OSS.")
    connect(page, console_server.base_url, route=f"#/jobs/{job['job_id']}")
    failure = page.locator("section.failure")
    expect(failure.locator(".finding-file")).to_have_text(["The upload as a whole"])
    expect(failure.locator(".finding-message")).to_have_text([job["error_code"]])
    expect(failure.locator(".failure-lead")).to_have_text("1 error in the upload as a whole. Fix it and import again.")


def test_many_findings_of_one_rule_show_the_first_tensors_and_fold_the_rest(
    page: Page, console_server: ConsoleServer
) -> None:
    job = console_server.finished("other-base/", display_name=unique("trained on qwen3-4b"))
    report = console_server.server.call("GET", f"{IMPORT}/{job['job_id']}/report").json()["output"]
    findings = report["findings"]
    codes = {finding["code"] for finding in findings}
    assert codes == {"lora.shape_mismatch"} and len(findings) > 3, codes
    connect(page, console_server.base_url, route=f"#/jobs/{job['job_id']}")
    failure = page.locator("section.failure")
    expect(failure.locator(".failure-lead")).to_have_text(
        f"{report['counts']['errors']} errors in 1 file. Fix them and import again."
    )
    expect(failure.locator(".failure-rules")).to_have_text(f"Rules broken: lora.shape_mismatch × {len(findings)}")
    shown = failure.locator(".finding-group > ol > li.finding")
    expect(shown).to_have_count(3)
    expect(shown.locator(".finding-tensor code")).to_have_text([finding["tensor"] for finding in findings[:3]])
    expect(shown.first.locator(".finding-message")).to_have_text(findings[0]["message"])
    more = failure.locator(".finding-more summary")
    expect(more).to_have_text(f"{len(findings) - 3} more lora.shape_mismatch findings in this file")
    box = shown.first.bounding_box()
    assert box is not None and box["y"] + box["height"] <= page.viewport_size["height"]  # type: ignore[index]
    screenshot(page, "job-failed-tensors")
    expect(failure.locator(".finding-more li.finding").first).to_be_hidden()
    more.click()
    expect(failure.locator("li.finding")).to_have_count(len(findings))
    # The last listed tensor; after it comes the server's "and N more ... were not listed" line.
    tensors = [finding["tensor"] for finding in findings if "tensor" in finding]
    expect(failure.locator(".finding-more li.finding .finding-tensor code").last).to_have_text(tensors[-1])


def test_deleting_a_finished_job_asks_first_then_removes_it_and_its_model(
    page: Page, console_server: ConsoleServer
) -> None:
    job = console_server.finished("good/", display_name=unique("to delete"))
    model_folder = console_server.data_dir / "models" / job["model_name"]
    assert (model_folder / "manifest.json").exists()
    connect(page, console_server.base_url, route=f"#/jobs/{job['job_id']}")
    page.get_by_role("button", name="Delete…").click()
    dialog = page.get_by_role("dialog", name="Delete this job?")
    expect(dialog).to_contain_text(f"its imported model {job['model_name']} will be deleted")
    expect(dialog.get_by_role("button", name="Keep it")).to_be_focused()
    dialog.get_by_role("button", name="Keep it").click()
    expect(dialog).to_have_count(0)
    assert console_server.status_of(job["job_id"]) == 200

    page.get_by_role("button", name="Delete…").click()
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    assert console_server.status_of(job["job_id"]) == 200

    page.get_by_role("button", name="Delete…").click()
    dialog.get_by_role("button", name="Delete job and model").click()
    expect(page.get_by_role("heading", name="Import jobs", level=1)).to_be_visible()
    expect(page.locator("#flash")).to_have_text(f"Deleted the job “{job['display_name']}” ({job['model_name']}).")
    expect(page.locator(f"tr[data-job-id='{job['job_id']}']")).to_have_count(0)
    assert console_server.status_of(job["job_id"]) == 404
    assert not model_folder.exists()


def test_deleting_a_job_that_is_already_gone_shows_the_servers_not_found(
    page: Page, console_server: ConsoleServer
) -> None:
    job = console_server.finished("rank12/")
    connect(page, console_server.base_url, route=f"#/jobs/{job['job_id']}")
    expect(page.get_by_role("button", name="Delete…")).to_be_enabled()
    assert console_server.server.call("DELETE", f"{IMPORT}/{job['job_id']}").status_code == 200
    page.get_by_role("button", name="Delete…").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete job").click()
    notice = page.locator(".action-notice [role=alert]")
    expect(notice).to_contain_text(f"Import job {job['job_id']} does not exist.")
    expect(notice).to_contain_text("NotFound")
    expect(notice.get_by_role("link", name="Back to the jobs")).to_be_visible()


@pytest.mark.parametrize(
    ("segment", "shown"),
    [
        (str(uuid.uuid4()), None),
        ("%E0%A4%A", "%E0%A4%A"),
        ("%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E", "<img src=x onerror=alert(1)>"),
    ],
    ids=["unknown-uuid", "broken-escape", "markup"],
)
def test_an_unknown_job_id_says_no_such_job(
    page: Page, console_server: ConsoleServer, segment: str, shown: str | None
) -> None:
    connect(page, console_server.base_url, route=f"#/jobs/{segment}")
    expect(page.get_by_role("heading", name="No such job", level=1)).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text(f"Import job {shown or segment} does not exist.")
    assert page.locator("main img").count() == 0
    page.get_by_role("link", name="Back to the jobs").click()
    expect(page.get_by_role("heading", name="Import jobs", level=1)).to_be_visible()


def test_an_unknown_page_says_so_with_or_without_a_key(page: Page, console_server: ConsoleServer) -> None:
    page.goto(f"{console_server.base_url}/console#/nowhere")
    expect(page.get_by_role("heading", name="No such page", level=1)).to_be_visible()
    page.get_by_role("link", name="Go to the jobs").click()
    expect(page.get_by_role("heading", name="Connect with an API key", level=1)).to_be_visible()


def test_the_base_models_page_lists_the_catalog_and_starts_an_import_for_one(
    page: Page, console_server: ConsoleServer
) -> None:
    catalog = httpx.get(
        f"{console_server.base_url}/api/v1/custom_models/base_models", headers=console_server.server.headers, timeout=30
    ).json()["output"]["list"]
    connect(page, console_server.base_url, route="#/base-models")
    rows = page.locator("table.bases tbody tr")
    expect(rows).to_have_count(len(catalog))
    row = page.locator("tr[data-base='qwen3-8b']")
    expect(row.locator("td[data-label=Family]")).to_have_text("qwen3")
    expect(row.locator("td[data-label=Layers]")).to_have_text("36")
    expect(row.locator("td[data-label='Hidden size']")).to_have_text("4,096")
    expect(row.locator("td[data-label='Weight types']")).to_have_text("full, lora")
    expect(page.locator("tr[data-base='qwen3-vl-8b-instruct'] td[data-label=Vision]")).to_contain_text("27 blocks")
    screenshot(page, "base-models")
    row.get_by_role("link", name="New import for qwen3-8b").click()
    expect(page.get_by_label("Base model")).to_have_value("qwen3-8b")


def test_the_console_works_from_the_keyboard_with_a_visible_focus(page: Page, console_server: ConsoleServer) -> None:
    job = console_server.finished("good/", display_name=unique("keyboard"))
    connect(page, console_server.base_url)
    expect(page.locator(f"tr[data-job-id='{job['job_id']}']")).to_be_visible()
    page.reload()  # the key stays (same tab); focus starts at the top of the document
    expect(page.locator(f"tr[data-job-id='{job['job_id']}']")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    target = page.locator(f"tr[data-job-id='{job['job_id']}'] .job-link")
    for _ in range(60):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            """() => {
                const element = document.activeElement;
                const style = getComputedStyle(element);
                return {
                    tag: element.tagName, outline: style.outlineStyle, width: style.outlineWidth,
                    job: element.closest('tr')?.dataset.jobId ?? null, link: element.classList.contains('job-link'),
                };
            }"""
        )
        assert focused["outline"] != "none" and focused["width"] != "0px", focused
        if focused["link"] and focused["job"] == job["job_id"]:
            break
    else:
        raise AssertionError("Tab never reached the job's link")
    expect(target).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=job["display_name"], level=1)).to_be_visible()
