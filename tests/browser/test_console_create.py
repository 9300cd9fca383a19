"""Creating an import in the console: the dry run and its report, the API's field errors next to
their fields, an import followed to SUCCESSED, and markup from an upload shown as text."""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING

import pytest

from tests.browser.harness import (
    BUCKET,
    HOSTILE_FILE,
    HOSTILE_NAME,
    LORA_ONLY,
    ConsoleServer,
    api_total,
    connect,
    expect,
    screenshot,
    unique,
)
from tests.support.server import TEST_KEY

if TYPE_CHECKING:
    from playwright.sync_api import Page

FIELDS = ("model_name", "weight_type", "bucket_name", "object_key", "display_name")


def open_form(page: Page, server: ConsoleServer) -> None:
    connect(page, server.base_url, route="#/new")
    expect(page.get_by_role("heading", name="New import", level=1)).to_be_visible()
    expect(page.get_by_label("Base model")).to_be_enabled()


def fill(
    page: Page,
    *,
    base: str = "qwen3-8b",
    bucket: str = BUCKET,
    prefix: str = "good/",
    display_name: str = "",
    weight_type: str = "LoRA adapter",
) -> None:
    if base:
        page.get_by_label("Base model").select_option(base)
    page.get_by_role("radio", name=re.compile(weight_type)).check()
    page.get_by_label("Bucket").fill(bucket)
    page.get_by_label("Object key").fill(prefix)
    page.get_by_label("Display name").fill(display_name)


def test_validating_a_broken_upload_shows_its_failing_finding_and_creates_nothing(
    page: Page, console_server: ConsoleServer
) -> None:
    jobs_before = api_total(console_server)
    open_form(page, console_server)
    fill(page, prefix="rank12/")
    page.get_by_role("button", name="Validate (dry run)").click()
    failure = page.locator("section.failure")
    expect(failure.get_by_role("heading", level=2)).to_have_text(f"Validation failed: oss://{BUCKET}/rank12/")
    expect(failure.locator(".failure-lead")).to_have_text("1 error in 1 file. Fix it and validate again.")
    group = failure.locator(".finding-group")
    expect(group).to_have_count(1)
    expect(group.get_by_role("heading", level=3)).to_have_text("File adapter_config.json")
    finding = group.locator(".finding")
    expect(finding.locator(".finding-rule code")).to_have_text("lora.rank_not_allowed")
    expect(finding.locator(".finding-message")).to_have_text(
        "adapter_config.json: r is 12; the rank must be one of 8, 16, 32, 64. "
        "Retrain the adapter with one of those ranks."
    )
    expect(page.locator(".check[data-outcome=failed] .check-name")).to_have_text(["lora.config"])
    expect(page.locator("table.files tbody tr")).to_have_count(3)
    expect(page.locator("section.failure h2")).to_be_focused()
    screenshot(page, "dry-run-failed")
    assert api_total(console_server) == jobs_before


def test_validating_a_good_upload_says_it_would_pass(page: Page, console_server: ConsoleServer) -> None:
    open_form(page, console_server)
    fill(page, prefix="good/")
    page.get_by_role("button", name="Validate (dry run)").click()
    expect(page.get_by_role("heading", name="Validation passed", level=2)).to_be_visible()
    size = sum(p.stat().st_size for p in console_server.folder("good/").iterdir() if p.name != "README.md")
    expect(page.locator("section.success")).to_contain_text(f"importing it would copy 2 files ({size / 2**20:.1f} MiB)")
    expect(page.locator(".facts [data-key=rank] dd")).to_have_text("8")
    expect(page.locator("section.failure")).to_have_count(0)


@pytest.mark.parametrize(
    ("field", "change", "sentence"),
    [
        ("bucket_name", {"bucket": "My_Bucket"}, "storage_info.bucket_name must be 3 to 63 characters of lowercase"),
        (
            "object_key",
            {"prefix": "good"},
            "storage_info.object_key must be a folder prefix ending with '/'; got 'good'.",
        ),
        ("object_key", {"prefix": "../good/"}, "storage_info.object_key must not contain '.' or '..' segments"),
        ("display_name", {"display_name": "x" * 51}, "display_name must be 1 to 50 characters long; it has 51."),
        ("model_name", {"base": ""}, "model_name must name a base model, e.g. 'qwen3-8b'; it is empty."),
    ],
    ids=["bucket", "object-key-slash", "object-key-dots", "display-name", "no-base"],
)
@pytest.mark.parametrize("button", ["Validate (dry run)", "Import"])
def test_an_api_field_error_is_shown_next_to_its_field(
    page: Page, console_server: ConsoleServer, field: str, change: dict[str, str], sentence: str, button: str
) -> None:
    jobs_before = api_total(console_server)
    open_form(page, console_server)
    fill(page, **change)
    page.get_by_role("button", name=button).click()
    error = page.locator(f"[data-field={field}] .field-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text(sentence)
    control = page.locator(f"#field-{field}")
    expect(control).to_have_attribute("aria-invalid", "true")
    expect(control).to_have_attribute("aria-describedby", re.compile(rf"^{field}-error "))
    expect(control).to_be_focused()
    for other in FIELDS:
        if other != field:
            expect(page.locator(f"[data-field={other}] .field-error")).to_be_hidden()
    if field == "bucket_name" and button == "Import":
        screenshot(page, "create-field-error")
    assert page.url.endswith("#/new")
    assert api_total(console_server) == jobs_before


def test_a_base_model_the_server_no_longer_has_is_named_next_to_the_base_model_field(
    page: Page, console_server: ConsoleServer
) -> None:
    """The catalog can change under an open form (an operator removes a base and restarts): the
    server's NotFound sentence about the base belongs to the base-model field."""
    open_form(page, console_server)
    fill(page)
    page.get_by_label("Base model").evaluate(
        "select => { select.options[1].value = 'qwen9-404b'; select.selectedIndex = 1; }"
    )
    page.get_by_role("button", name="Validate (dry run)").click()
    error = page.locator("[data-field=model_name] .field-error")
    expect(error).to_contain_text("The base model 'qwen9-404b' is not supported for import")
    expect(page.locator("#field-model_name")).to_have_attribute("aria-invalid", "true")


def test_a_weight_type_the_base_refuses_is_named_next_to_the_weight_type(
    page: Page, console_server: ConsoleServer
) -> None:
    open_form(page, console_server)
    fill(page, base=LORA_ONLY, weight_type="Full weights")
    page.get_by_role("button", name="Import").click()
    error = page.locator("[data-field=weight_type] .field-error")
    expect(error).to_have_text(f"The base model '{LORA_ONLY}' does not accept weight_type 'full' (it accepts: lora).")
    expect(page.locator("fieldset[data-field=weight_type]")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("radio", name=re.compile("Full weights"))).to_be_focused()
    expect(page.locator("[data-field=model_name] .field-error")).to_be_hidden()


def test_an_error_of_no_field_is_shown_above_the_buttons(page: Page, console_server: ConsoleServer) -> None:
    open_form(page, console_server)
    fill(page)
    page.evaluate("sessionStorage.setItem('modelport.apiKey', 'sk-' + 'r'.repeat(40))")
    page.get_by_role("button", name="Import").click()
    notice = page.locator(".form-notice [role=alert]")
    expect(notice).to_contain_text("The API key is invalid or has been revoked.")
    expect(notice.get_by_role("link", name="Change key")).to_be_visible()
    for other in FIELDS:
        expect(page.locator(f"[data-field={other}] .field-error")).to_be_hidden()


def test_importing_a_good_upload_opens_the_job_and_follows_it_to_successed(
    page: Page, console_server: ConsoleServer
) -> None:
    name = unique("support bot")
    open_form(page, console_server)
    fill(page, prefix="good/", display_name=name)
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    job_id = page.url.rsplit("#/jobs/", 1)[1]
    assert re.fullmatch(r"[0-9a-f-]{36}", job_id)
    # The page follows the job on its own: no reload, no click.
    expect(page.locator(".job-title .badge")).to_have_attribute("data-status", "SUCCESSED", timeout=180_000)
    expect(page.locator(".job-title .badge")).to_contain_text("SUCCESSED")
    expect(page.get_by_role("heading", name="Imported", level=2)).to_be_visible()
    job = console_server.server.job(job_id)
    assert job["status"] == "SUCCESSED" and job["display_name"] == name
    expect(page.locator("section.success")).to_contain_text(job["model_name"])
    for file in ("adapter_config.json", "adapter_model.safetensors"):
        digest = hashlib.sha256((console_server.folder("good/") / file).read_bytes()).hexdigest()
        row = page.locator(f"table.files tr[data-path='{file}']")
        expect(row.locator(".fate")).to_have_text("accepted")
        expect(row.locator(".digest")).to_have_text(digest)
    expect(page.locator("table.files tr[data-path='README.md'] .fate")).to_have_text("ignored")
    expect(page.locator(".check[data-outcome=failed]")).to_have_count(0)
    expect(page.locator(".facts [data-key=rank] dd")).to_have_text("8")
    expect(page.locator(".facts [data-key=target_modules] dd")).to_have_text("q_proj, v_proj")
    expect(page.locator("[data-key=base_model] dd")).to_have_text("qwen3-8b")
    expect(page.locator("[data-key=weight_type] dd")).to_have_text("lora")
    expect(page.locator("[data-key=object_key] dd")).to_have_text("good/")
    # The report of a SUCCESSED import carries the manifest of what was published.
    expect(page.locator("[data-manifest-key=model_name] dd")).to_have_text(job["model_name"])
    expect(page.get_by_role("button", name="Delete…")).to_be_enabled()
    screenshot(page, "job-succeeded")


def test_each_job_page_offers_copyable_commands_with_a_placeholder_key(
    page: Page, console_server: ConsoleServer
) -> None:
    job = console_server.finished("good/")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    connect(page, console_server.base_url, route=f"#/jobs/{job['job_id']}")
    commands = page.locator(".command pre")
    url = f"{console_server.base_url}/api/v1/custom_models/import/{job['job_id']}"
    expect(commands).to_have_text(
        [
            f'curl -s {url} -H "Authorization: Bearer $KEY"',
            f'curl -s {url}/report -H "Authorization: Bearer $KEY"',
            f"MODELPORT_API_KEY=$KEY modelport report --job-id {job['job_id']} --base-url {console_server.base_url}",
        ]
    )
    page.locator(".command").nth(2).get_by_role("button", name="Copy").click()
    expect(page.locator(".command").nth(2).get_by_role("status")).to_have_text("Copied.")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == commands.nth(2).inner_text()
    assert TEST_KEY not in page.locator("main").inner_text()


def test_markup_in_an_upload_or_a_display_name_is_shown_as_text_and_never_run(
    page: Page, console_server: ConsoleServer
) -> None:
    job = console_server.finished("hostile/", display_name=HOSTILE_NAME)
    assert job["status"] == "FAILED"
    connect(page, console_server.base_url)
    row = page.locator(f"tr[data-job-id='{job['job_id']}']")
    expect(row.locator(".job-link")).to_have_text(HOSTILE_NAME)
    row.locator(".job-link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(HOSTILE_NAME)
    failure = page.locator("section.failure")
    expect(failure.locator(f".finding-group[data-file='{HOSTILE_FILE}']")).to_be_visible()
    expect(failure.locator(".finding-file code").first).to_have_text(HOSTILE_FILE)
    expect(page.locator(f"table.files tr[data-path='{HOSTILE_FILE}'] .fate")).to_have_text("rejected")
    assert page.locator("img[src=x], main script, main b").count() == 0
    assert page.evaluate("window.pwned") is None
