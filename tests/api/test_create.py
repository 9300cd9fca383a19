"""POST /api/v1/custom_models/import: the job object and every parameter rule."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.test_envelope_and_auth import IMPORT, assert_error
from tests.support.uploads import create_body


def create(client: TestClient, auth: dict[str, str], body: Any) -> Any:
    return client.post(IMPORT, headers=auth, json=body)


def test_create_returns_a_pending_job_with_the_documented_fields(client: TestClient, auth: dict[str, str]) -> None:
    response = create(client, auth, create_body(display_name="My LoRA model"))
    assert response.status_code == 200
    job = response.json()["output"]
    assert list(job) == [
        "job_id", "model_name", "display_name", "source", "weight_type", "storage_info", "status", "gmt_create",
    ]  # fmt: skip
    assert job["status"] == "PENDING"
    assert job["source"] == "OSS"
    assert job["weight_type"] == "lora"
    assert job["display_name"] == "My LoRA model"
    assert job["storage_info"] == {"bucket_name": "my-bucket", "object_key": "models/lora/"}
    today = datetime.now(UTC).strftime("%Y%m%d")
    assert re.fullmatch(rf"qwen3-8b-offline-{today}-[a-z0-9]{{4}}", job["model_name"])


def test_display_name_defaults_to_the_base_model(client: TestClient, auth: dict[str, str]) -> None:
    job = create(client, auth, create_body(base="qwen2.5-7b-instruct")).json()["output"]
    assert job["display_name"] == "qwen2.5-7b-instruct"
    assert job["model_name"].startswith("qwen2.5-7b-instruct-offline-")


def test_display_name_null_means_absent(client: TestClient, auth: dict[str, str]) -> None:
    assert create(client, auth, create_body(display_name=None)).json()["output"]["display_name"] == "qwen3-8b"


def test_model_names_are_unique(client: TestClient, auth: dict[str, str]) -> None:
    names = {create(client, auth, create_body()).json()["output"]["model_name"] for _ in range(20)}
    assert len(names) == 20


@pytest.mark.parametrize("source", ["oss", "OSS", "Oss"])
def test_source_is_case_insensitive(client: TestClient, auth: dict[str, str], source: str) -> None:
    assert create(client, auth, create_body(source=source)).status_code == 200


def test_unknown_body_fields_are_ignored(client: TestClient, auth: dict[str, str]) -> None:
    body = create_body(extra_field=1, tags={"x": "y"})
    body["storage_info"]["region"] = "cn-beijing"
    assert create(client, auth, body).status_code == 200


def test_fifty_characters_are_counted_as_characters_not_bytes(client: TestClient, auth: dict[str, str]) -> None:
    assert create(client, auth, create_body(display_name="模" * 50)).status_code == 200
    assert_error(create(client, auth, create_body(display_name="模" * 51)), 400, "InvalidParameter")


@pytest.mark.parametrize("weight_type", ["lora", "full"])
def test_every_builtin_base_accepts_both_weight_types(
    client: TestClient, auth: dict[str, str], weight_type: str
) -> None:
    for base in ["qwen3-32b", "qwen3-14b", "qwen3-8b", "qwen3-4b-instruct-2507", "qwen3-vl-8b-instruct",
                 "qwen2.5-72b-instruct", "qwen2.5-32b-instruct", "qwen2.5-14b-instruct", "qwen2.5-7b-instruct",
                 "qwen2.5-vl-72b-instruct", "qwen2.5-vl-7b-instruct"]:  # fmt: skip
        assert create(client, auth, create_body(base=base, weight_type=weight_type)).status_code == 200, base


@pytest.mark.parametrize("base", ["qwen3-7b", "Qwen3-8B", "gpt-4", "qwen2.5-vl-32b-instruct"])
def test_an_unsupported_base_model_is_not_found(client: TestClient, auth: dict[str, str], base: str) -> None:
    body = assert_error(create(client, auth, create_body(base=base)), 404, "NotFound")
    assert base in body["message"]


def _without(path: str) -> dict[str, Any]:
    body = create_body()
    if "." in path:
        outer, inner = path.split(".")
        del body[outer][inner]
    else:
        del body[path]
    return body


def _with(path: str, value: Any) -> dict[str, Any]:
    body = create_body()
    if "." in path:
        outer, inner = path.split(".")
        body[outer][inner] = value
    else:
        body[path] = value
    return body


@pytest.mark.parametrize(
    "field",
    ["model_name", "source", "weight_type", "storage_info", "storage_info.bucket_name", "storage_info.object_key"],
)
def test_each_required_field_is_required(client: TestClient, auth: dict[str, str], field: str) -> None:
    body = assert_error(create(client, auth, _without(field)), 400, "InvalidParameter")
    assert field in body["message"]


INVALID = [
    ("model_name", 8), ("model_name", ""), ("model_name", None), ("model_name", ["qwen3-8b"]),
    ("source", "s3"), ("source", ""), ("source", 1), ("weight_type", "LoRA"), ("weight_type", "qlora"),
    ("weight_type", ""), ("weight_type", True), ("storage_info", "my-bucket/models/"), ("storage_info", None),
    ("storage_info", []), ("display_name", ""), ("display_name", "x" * 51), ("display_name", 5),
    ("storage_info.bucket_name", "ab"), ("storage_info.bucket_name", "a" * 64),
    ("storage_info.bucket_name", "My-Bucket"), ("storage_info.bucket_name", "-bucket"),
    ("storage_info.bucket_name", "bucket-"), ("storage_info.bucket_name", "my_bucket"),
    ("storage_info.bucket_name", "my.bucket"), ("storage_info.bucket_name", ""), ("storage_info.bucket_name", 12345),
    ("storage_info.object_key", "models/lora"), ("storage_info.object_key", "/"), ("storage_info.object_key", ""),
    ("storage_info.object_key", "/models/lora/"), ("storage_info.object_key", "models/../lora/"),
    ("storage_info.object_key", "./models/"), ("storage_info.object_key", "models/./x/"),
    ("storage_info.object_key", "../"),
    ("storage_info.object_key", "models\\lora/"), ("storage_info.object_key", "models/lo\x00ra/"),
    ("storage_info.object_key", "models/lo\nra/"), ("storage_info.object_key", "models/\x7f/"),
    ("storage_info.object_key", "a" * 1024 + "/"), ("storage_info.object_key", 7),
    ("storage_info.object_key", "x//y/"), ("storage_info.object_key", "models//"),
    ("storage_info.bucket_name", "my-bucket\n"),
    ("storage_info.bucket_name", "\nmy-bucket"),
]  # fmt: skip


def test_a_lone_surrogate_in_the_object_key_is_an_invalid_parameter(client: TestClient, auth: dict[str, str]) -> None:
    # Valid JSON (an escaped lone surrogate) that no UTF-8 encoder can turn into a key.
    raw = json.dumps(create_body()).replace('"object_key": "', '"object_key": "m\\ud800')
    response = client.post(IMPORT, headers={**auth, "Content-Type": "application/json"}, content=raw)
    body = assert_error(response, 400, "InvalidParameter")
    assert "object_key" in body["message"]


@pytest.mark.parametrize(("field", "value"), INVALID)
def test_invalid_values_are_invalid_parameters(
    client: TestClient, auth: dict[str, str], field: str, value: Any
) -> None:
    body = assert_error(create(client, auth, _with(field, value)), 400, "InvalidParameter")
    assert field.split(".")[-1] in body["message"]


@pytest.mark.parametrize(
    "object_key", ["a/", "models/qwen3-32b-lora/", "a" * 1023 + "/", "模型/适配器/", "a b/c/", "v1.0/lora/"]
)
def test_valid_object_keys_are_accepted(client: TestClient, auth: dict[str, str], object_key: str) -> None:
    response = create(client, auth, _with("storage_info.object_key", object_key))
    assert response.status_code == 200, response.text
    assert response.json()["output"]["storage_info"]["object_key"] == object_key


@pytest.mark.parametrize("bucket", ["abc", "my-bucket", "a" * 63, "0bucket9", "a-b-c"])
def test_valid_bucket_names_are_accepted(client: TestClient, auth: dict[str, str], bucket: str) -> None:
    assert create(client, auth, _with("storage_info.bucket_name", bucket)).status_code == 200


@pytest.mark.parametrize(
    "raw", [b"", b"{", b"not json", b"[]", b"null", b"42", b'"text"', b"\xff\xfe{}", b'{"model_name": "qwen3-8b",}']
)
def test_malformed_bodies_are_invalid_parameters(client: TestClient, auth: dict[str, str], raw: bytes) -> None:
    response = client.post(IMPORT, headers={**auth, "Content-Type": "application/json"}, content=raw)
    assert_error(response, 400, "InvalidParameter")


def test_a_body_without_content_type_is_still_read(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post(IMPORT, headers=auth, content=json.dumps(create_body()).encode())
    assert response.status_code == 200


def test_parameter_errors_come_before_an_unknown_base(client: TestClient, auth: dict[str, str]) -> None:
    body = create_body(base="no-such-base", weight_type="neither")
    assert_error(create(client, auth, body), 400, "InvalidParameter")


def test_an_oversized_body_is_refused_without_being_buffered(client: TestClient, auth: dict[str, str]) -> None:
    huge = json.dumps(create_body(padding="x" * (2 * 1024 * 1024))).encode()
    response = client.post(IMPORT, headers={**auth, "Content-Type": "application/json"}, content=huge)
    body = assert_error(response, 400, "InvalidParameter")
    assert "larger than" in body["message"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap applies while streaming
        yield b'{"padding": "'
        for _ in range(40):
            yield b"y" * 65536
        yield b'"}'

    streamed = client.post(IMPORT, headers={**auth, "Content-Type": "application/json"}, content=chunks())
    assert_error(streamed, 400, "InvalidParameter")
