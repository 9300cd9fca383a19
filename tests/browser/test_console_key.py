"""The key, as a person handles it in the console: asked for first, checked before it is kept, kept
in the tab only, refused keys answered with the server's InvalidApiKey sentence."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser.harness import ConsoleServer, connect, expect, screenshot, unique
from tests.support.server import TEST_KEY, Server

if TYPE_CHECKING:
    from playwright.sync_api import Page, Request


def test_without_a_key_the_console_asks_for_one_and_calls_nothing(page: Page, console_server: ConsoleServer) -> None:
    calls: list[str] = []
    page.on("request", lambda request: calls.append(request.url) if "/api/" in request.url else None)
    page.goto(f"{console_server.base_url}/console")
    expect(page.get_by_role("heading", name="Connect with an API key", level=1)).to_be_visible()
    expect(page.get_by_role("textbox", name="API key")).to_have_attribute("type", "password")
    expect(page.get_by_text("modelport keys create --workspace default")).to_be_visible()
    expect(page.get_by_role("group", name="API key status")).to_have_text("No key")
    assert page.url.endswith("/console#/jobs")  # the empty hash became the jobs route
    screenshot(page, "key-form")
    assert calls == []


def test_a_pasted_key_opens_the_jobs_and_stays_out_of_urls_storage_and_logs(
    page: Page, console_server: ConsoleServer
) -> None:
    sent: list[Request] = []
    page.on("request", lambda request: sent.append(request))
    connect(page, console_server.base_url)
    expect(page.get_by_role("heading", name="Import jobs", level=1)).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('modelport.apiKey')") == TEST_KEY
    assert page.evaluate("localStorage.length") == 0
    assert page.evaluate("document.cookie") == ""
    assert TEST_KEY not in page.url
    assert page.get_by_role("textbox", name="API key").count() == 0  # the form, and the key typed into it, are gone
    assert TEST_KEY not in page.content()
    api_calls = [request for request in sent if "/api/" in request.url]
    assert api_calls, "the console made no API call"
    for request in sent:
        assert TEST_KEY not in request.url
    for request in api_calls:
        assert request.headers["authorization"] == f"Bearer {TEST_KEY}"
    assert TEST_KEY not in console_server.server.output()


@pytest.mark.parametrize(
    ("key", "sentence"),
    [
        ("sk-" + "unknownKey0123456789abcdefghijklmnopq", "The API key is invalid or has been revoked."),
        ("sk-short", "The API key is malformed: keys look like 'sk-' followed by 32 or more characters."),
        # fetch() cannot even send this one: the console says so instead of blaming the network.
        (
            "sk-ключ0123456789abcdefghijklmnopqrstuvwxyz",
            "The API key has characters no key has (spaces or letters outside ASCII); paste it again.",
        ),
    ],
    ids=["unknown", "malformed", "not-ascii"],
)
def test_a_wrong_key_is_refused_next_to_the_field_with_the_servers_sentence(
    page: Page, console_server: ConsoleServer, key: str, sentence: str
) -> None:
    page.goto(f"{console_server.base_url}/console")
    field = page.get_by_role("textbox", name="API key")
    field.fill(key)
    page.get_by_role("button", name="Use this key").click()
    error = page.locator("#api-key-error")
    expect(error).to_have_text(f"{sentence} (InvalidApiKey)")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_attribute("aria-describedby", "api-key-error api-key-hint")
    expect(field).to_be_focused()
    assert page.evaluate("sessionStorage.length") == 0
    expect(page.get_by_role("group", name="API key status")).to_have_text("No key")


def test_an_empty_key_is_asked_for_without_calling_the_server(page: Page, console_server: ConsoleServer) -> None:
    calls: list[str] = []
    page.on("request", lambda request: calls.append(request.url) if "/api/" in request.url else None)
    page.goto(f"{console_server.base_url}/console")
    page.get_by_role("button", name="Use this key").click()
    expect(page.locator("#api-key-error")).to_contain_text("Paste a key first")
    assert calls == []


def test_an_empty_workspace_says_how_to_create_a_first_job(page: Page, console_server: ConsoleServer) -> None:
    connect(page, console_server.base_url, console_server.new_key(unique("empty").replace(" ", "-")))
    empty = page.get_by_role("status").filter(has_text="No import jobs yet")
    expect(empty).to_be_visible()
    expect(empty).to_contain_text("modelport sample lora --base-model qwen3-8b --out modelport-data/buckets/my-bucket/")
    empty.get_by_role("link", name="New import").click()
    expect(page.get_by_role("heading", name="New import", level=1)).to_be_visible()
    assert page.url.endswith("#/new")


def test_a_key_revoked_while_the_tab_is_open_is_answered_with_invalid_api_key(
    page: Page, console_server: ConsoleServer
) -> None:
    key = console_server.new_key(unique("revoked").replace(" ", "-"))
    connect(page, console_server.base_url, key)
    expect(page.get_by_text("No import jobs yet")).to_be_visible()
    console_server.revoke(key)
    page.get_by_role("button", name="Refresh").click()
    notice = page.get_by_role("alert")
    expect(notice).to_contain_text("The server refused the API key")
    expect(notice).to_contain_text("The API key is invalid or has been revoked.")
    expect(notice).to_contain_text("InvalidApiKey")
    screenshot(page, "key-revoked")
    for route, title in (("#/new", "The base models could not be loaded"), ("#/base-models", "The server refused")):
        page.goto(f"{console_server.base_url}/console{route}")
        page.reload()  # a fresh page: the catalog it loaded with the key still valid is gone
        expect(page.get_by_role("alert")).to_contain_text(title)
        expect(page.get_by_role("alert")).to_contain_text("The API key is invalid or has been revoked.")
    notice.get_by_role("link", name="Change key").click()
    expect(page.get_by_role("heading", name="Connect with an API key", level=1)).to_be_visible()


def test_forget_key_removes_it_from_the_tab_and_asks_again(page: Page, console_server: ConsoleServer) -> None:
    connect(page, console_server.base_url)
    page.get_by_role("button", name="Forget key").click()
    expect(page.get_by_role("heading", name="Connect with an API key", level=1)).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0
    expect(page.get_by_role("group", name="API key status")).to_have_text("No key")


def test_the_key_is_the_tabs_alone(page: Page, console_server: ConsoleServer) -> None:
    """sessionStorage is per tab: a second tab of the same browser starts without the key."""
    connect(page, console_server.base_url)
    other = page.context.new_page()
    other.goto(f"{console_server.base_url}/console#/jobs")
    expect(other.get_by_role("heading", name="Connect with an API key", level=1)).to_be_visible()
    assert other.evaluate("sessionStorage.length") == 0


def test_a_server_that_went_away_is_named_with_a_way_to_try_again(page: Page, tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    server = Server(tmp_path / "data").start()
    try:
        connect(page, server.base_url)
        expect(page.get_by_text("No import jobs yet")).to_be_visible()
        server.terminate()
        page.get_by_role("button", name="Refresh").click()
        notice = page.get_by_role("alert")
        expect(notice).to_contain_text("Could not reach the server")
        expect(notice).to_contain_text("The modelport server could not be reached. Is `modelport serve` running?")
        server.start()  # the same port again
        notice.get_by_role("button", name="Try again").click()
        expect(page.get_by_text("No import jobs yet")).to_be_visible()
    finally:
        server.terminate()
