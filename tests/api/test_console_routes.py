"""The console's files as the server answers them: the page and its assets under a strict CSP, only
files from the package, the API's NotFound envelope for anything else, nothing in the OpenAPI
document, and no header of the console's on the DashScope routes. (Its behaviour in a browser is
tested in tests/browser.)"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest
from fastapi.testclient import TestClient

from modelport.api.app import create_app
from modelport.console.routes import assets
from modelport.services import open_services
from modelport.settings import Settings
from tests.api.test_envelope_and_auth import IMPORT, assert_error

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "src" / "modelport" / "console" / "static"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    folder = tmp_path_factory.mktemp("console")
    services = open_services(Settings(data_dir=folder, database_url=f"sqlite:///{folder / 'modelport.db'}"))
    try:
        with TestClient(create_app(services), raise_server_exceptions=False) as test_client:
            yield test_client
    finally:
        services.close()


def csp_directives(response_header: str) -> dict[str, str]:
    return {part.split()[0]: part.strip() for part in response_header.split(";") if part.strip()}


@pytest.mark.parametrize("path", ["/console", "/console/"])
def test_the_page_is_served_with_a_strict_content_security_policy(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    policy = csp_directives(response.headers["content-security-policy"])
    assert policy["default-src"] == "default-src 'none'"
    assert policy["script-src"] == "script-src 'self'"
    assert policy["connect-src"] == "connect-src 'self'"
    assert policy["form-action"] == "form-action 'none'"
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    assert "unsafe" not in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    # Every script is a file of ours: no inline script, no inline handler the CSP would have to allow.
    scripts = re.findall(r"<script\b[^>]*>", response.text)
    assert scripts and all('src="/console/' in tag for tag in scripts)
    assert not re.search(r"\son[a-z]+=", response.text)


def test_every_asset_the_page_and_the_modules_name_is_served_with_its_type(client: TestClient) -> None:
    page = client.get("/console").text
    wanted = set(re.findall(r'(?:src|href)="/console/([^"]+)"', page))
    for name, asset in assets().items():
        if name.endswith(".js"):
            text = asset.body.decode()
            folder = PurePosixPath(name).parent
            for target in re.findall(r'^import .* from "(\.[^"]+)";$', text, re.MULTILINE):
                wanted.add(str(PurePosixPath(*_resolved(folder, target))))
    assert {"js/app.js", "console.css", "icon.svg", "js/views/job.js", "js/report.js"} <= wanted
    types = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
    for name in sorted(wanted):
        response = client.get(f"/console/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"] == types[PurePosixPath(name).suffix], name
        assert "content-security-policy" in response.headers


def _resolved(folder: PurePosixPath, target: str) -> list[str]:
    parts = [part for part in folder.parts if part != "."]
    for part in PurePosixPath(target).parts:
        if part == "..":
            parts.pop()
        elif part != ".":
            parts.append(part)
    return parts


def test_a_known_etag_is_answered_not_modified(client: TestClient) -> None:
    first = client.get("/console/js/app.js")
    again = client.get("/console/js/app.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    stale = client.get("/console/js/app.js", headers={"If-None-Match": '"something-else"'})
    assert stale.status_code == 200 and stale.content == first.content


@pytest.mark.parametrize(
    "path",
    [
        "/console/nothing.js",
        "/console/js/",
        "/console/js/../../routes.py",
        "/console/%2e%2e/routes.py",
        "/console/js/..%2f..%2froutes.py",
        "/console/..%2f__init__.py",
        "/console/static/index.html",
        "/console/js/app.js/",
        "/console/index.html%00.js",
    ],
)
def test_anything_but_a_packaged_file_is_the_apis_not_found(client: TestClient, path: str) -> None:
    body = assert_error(client.get(path), 404, "NotFound")
    assert body["message"] == "The requested resource does not exist."


def test_other_methods_on_console_paths_are_not_found(client: TestClient) -> None:
    for method in ("POST", "PUT", "DELETE"):
        assert_error(client.request(method, "/console"), 404, "NotFound")
        assert_error(client.request(method, "/console/js/app.js"), 404, "NotFound")


def test_the_console_is_not_in_the_openapi_document_and_leaves_the_api_headers_alone(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert not [path for path in document["paths"] if path.startswith("/console")]
    api = client.get(IMPORT)
    assert api.headers["content-type"] == "application/json"
    assert "content-security-policy" not in api.headers


def test_every_static_file_is_package_data(client: TestClient) -> None:
    """A wheel ships only what pyproject's package-data names: a new folder must be added there."""
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["modelport"]
    on_disk = sorted(str(path.relative_to(STATIC)) for path in STATIC.rglob("*") if path.is_file())
    assert on_disk
    assert sorted(assets()) == [
        name for name in on_disk if PurePosixPath(name).suffix in {".html", ".js", ".css", ".svg"}
    ]
    for name in on_disk:
        packaged = PurePosixPath("console/static", name)
        assert any(len(PurePosixPath(p).parts) == len(packaged.parts) and packaged.match(p) for p in patterns), (
            f"{packaged} is not matched by any package-data pattern"
        )
