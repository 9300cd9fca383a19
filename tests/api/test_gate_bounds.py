"""The gate fails closed and stays bounded: a rule that raises refuses the upload at once with a
sentence naming the rule (the dry run still answers 200), and an upload built to flood the report
gets a report of at most 1 MiB with 'and N more' summaries."""

from __future__ import annotations

import json
import logging
import os
import struct
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from modelport import samples
from modelport.catalog.catalog import load_catalog
from modelport.domain.jobs import JobStatus
from modelport.limits import MAX_REPORT_BYTES
from modelport.pipeline.importer import Importer
from modelport.services import Services
from modelport.settings import Settings
from modelport.storage.config import build_storage
from tests.support.jobs import running_job
from tests.support.uploads import create_body


def flood_header(tensors: int) -> bytes:
    """A valid safetensors file of `tensors` zero-size tensors, none of them a LoRA matrix."""
    header = {f"garbage_{n}.weight": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]} for n in range(tensors)}
    header["__metadata__"] = {"format": "pt"}  # type: ignore[assignment]
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw


def test_a_findings_flood_gives_a_bounded_report(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    folder = data_dir / "buckets" / "my-bucket" / "flood"
    base = load_catalog(None).get("qwen3-8b")
    assert base is not None
    samples.write_lora_adapter(folder, "qwen3-8b", base.architecture)
    (folder / "adapter_model.safetensors").write_bytes(flood_header(100_000))
    settings = Settings(data_dir=data_dir, database_url="sqlite://")
    result = Importer(settings, build_storage(settings), load_catalog(data_dir)).run(
        running_job(prefix="flood/"), "1-test", lambda *_: None, lambda: False
    )
    assert result.status == JobStatus.FAILED and result.reason_code == "lora.unexpected_tensor"
    encoded = json.dumps(result.report, separators=(",", ":")).encode()
    assert len(encoded) <= MAX_REPORT_BYTES
    assert result.report["counts"]["errors"] >= 100_000
    summaries = [f for f in result.report["findings"] if f["message"].startswith("...and")]
    assert summaries and "99980 more findings of this kind (lora.unexpected_tensor)" in summaries[0]["message"]
    assert result.error_code is not None and len(result.error_code) < 1000


def test_a_rule_that_raises_refuses_the_upload_and_the_dry_run_still_answers(
    client: TestClient, services: Services, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    folder = services.settings.buckets_dir / "my-bucket" / "models" / "lora"
    base = load_catalog(None).get("qwen3-8b")
    assert base is not None
    samples.write_lora_adapter(folder, "qwen3-8b", base.architecture)

    def broken(*_args: Any) -> Any:
        raise ZeroDivisionError("a bug in a rule")

    monkeypatch.setattr("modelport.validation.lora.bind_tensors", broken)
    caplog.set_level(logging.ERROR, logger="modelport.gate")
    response = client.post("/api/v1/custom_models/import/validate", headers=auth, json=create_body())
    assert response.status_code == 200
    report = response.json()["output"]
    assert report["verdict"] == "failed"
    first = report["findings"][0]
    assert first["code"] == "gate.internal_error" and "the LoRA rules could not evaluate" in first["message"]
    assert "ZeroDivisionError" in first["message"] and first["file"] == "adapter_config.json"
    assert "a bug in a rule" in caplog.text and "Traceback" in caplog.text

    importer = Importer(services.settings, services.storage, services.catalog)
    result = importer.run(running_job(prefix="models/lora/"), "1-test", lambda *_: None, lambda: False)
    assert result.status == JobStatus.FAILED and result.reason_code == "gate.internal_error"


def test_a_dry_run_over_an_undecodable_file_name_answers_with_the_name_escaped(
    client: TestClient, services: Services, auth: dict[str, str]
) -> None:
    folder = services.settings.buckets_dir / "my-bucket" / "models" / "lora"
    base = load_catalog(None).get("qwen3-8b")
    assert base is not None
    samples.write_lora_adapter(folder, "qwen3-8b", base.architecture)
    with open(os.fsencode(folder) + b"/notes-\xff.txt", "wb") as handle:
        handle.write(b"x")
    response = client.post("/api/v1/custom_models/import/validate", headers=auth, json=create_body())
    assert response.status_code == 200, response.text
    paths = [entry["path"] for entry in response.json()["output"]["files"]]
    assert "notes-\\xff.txt" in paths
