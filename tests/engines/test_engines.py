"""Imports in real engines without the OpenAI server: a full import pulled with `modelport pull` and
loaded by `vllm.LLM` (from a local and from an S3 model store), the load proof `verify-serving` in vLLM
and in transformers, passing and failing, and a vLLM that a wrong setting stops at start."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modelport.serving import tiny_models
from tests.engines.conftest import MAX_TOKENS, PROMPT, Servable, run_reference
from tests.support import s3_server as moto
from tests.support.s3_server import S3Server
from tests.support.server import free_port
from tests.support.serving import BASE_ID, Deployment, deploy, publish_unchecked
from tests.support.vllm_venv import VllmVenv

pytestmark = [pytest.mark.vllm, pytest.mark.timeout(1800)]
s3_server = moto.s3_server


def deployment_for(kind: str, root: Path, request: pytest.FixtureRequest, servable: Servable) -> Deployment:
    s3: S3Server | None = request.getfixturevalue("s3_server") if kind == "s3" else None
    return deploy(root, kind, s3, servable.base)


@pytest.fixture(params=["local", "s3"])
def deployment(request: pytest.FixtureRequest, tmp_path: Path, servable: Servable) -> Iterator[Deployment]:
    deployed = deployment_for(request.param, tmp_path, request, servable)
    yield deployed
    deployed.close()


@pytest.fixture
def local(request: pytest.FixtureRequest, tmp_path: Path, servable: Servable) -> Iterator[Deployment]:
    deployed = deployment_for("local", tmp_path, request, servable)
    yield deployed
    deployed.close()


@pytest.fixture
def remote(request: pytest.FixtureRequest, tmp_path: Path, servable: Servable) -> Iterator[Deployment]:
    deployed = deployment_for("s3", tmp_path, request, servable)
    yield deployed
    deployed.close()


def copy_upload(deployment: Deployment, servable: Servable, name: str) -> Path:
    target = deployment.new_upload(name)
    shutil.copytree(servable.uploads / name, target)
    return target


def modelport(python: Path | str, deployment: Deployment, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODELPORT_", "VLLM_"))} | deployment.env
    return subprocess.run(
        [str(python), "-m", "modelport", *args], env=env, capture_output=True, text=True, timeout=900, check=False
    )


def verify_serving(venv: VllmVenv, deployment: Deployment, name: str, base: Path, engine: str) -> tuple[int, Any]:
    done = modelport(
        venv.python,
        deployment,
        "verify-serving",
        "--model-name",
        name,
        "--base",
        str(base),
        "--engine",
        engine,
        "--json",
    )
    try:
        return done.returncode, json.loads(done.stdout)
    except json.JSONDecodeError:
        raise AssertionError(
            f"verify-serving printed no JSON report:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        ) from None


def test_a_pulled_full_import_loads_in_vllm(
    deployment: Deployment, servable: Servable, vllm_venv: VllmVenv, tmp_path: Path
) -> None:
    upload = copy_upload(deployment, servable, "full")
    job = deployment.import_folder(upload, weight_type="full")
    assert job.error_code is None
    pulled = tmp_path / "pulled"

    done = modelport(sys.executable, deployment, "pull", job.model_name, str(pulled))  # modelport's own venv

    assert done.returncode == 0, done.stderr
    served = run_reference(vllm_venv, "vllm", pulled, PROMPT, MAX_TOKENS)["tokens"]
    assert served == run_reference(vllm_venv, "hf", upload, PROMPT, MAX_TOKENS)["tokens"]
    assert served != run_reference(vllm_venv, "hf", servable.base, PROMPT, MAX_TOKENS)["tokens"]


def test_verify_serving_proves_an_adapter_in_vllm(local: Deployment, servable: Servable, vllm_venv: VllmVenv) -> None:
    upload = copy_upload(local, servable, "lora")
    job = local.import_folder(upload)

    code, report = verify_serving(vllm_venv, local, job.model_name, servable.base, "vllm")

    assert code == 0, report
    assert report["loaded"] and report["every_tensor_bound"] and report["output_moved"], report
    assert report["adapter_tensor_pairs"] == 2 * len(tiny_models.TARGETS)
    assert report["engine"].startswith("vllm ")
    reference = run_reference(vllm_venv, "peft", servable.base, upload, report["prompt_token_ids"], MAX_TOKENS)
    assert reference == {"base": report["base_tokens"], "adapter": report["model_tokens"]}


def test_verify_serving_proves_an_adapter_in_transformers(
    local: Deployment, servable: Servable, vllm_venv: VllmVenv
) -> None:
    job = local.import_folder(copy_upload(local, servable, "lora"))

    code, report = verify_serving(vllm_venv, local, job.model_name, servable.base, "transformers")

    assert code == 0, report
    assert report["engine"].startswith("transformers ") and report["every_tensor_bound"] and report["output_moved"]


def test_verify_serving_proves_a_full_import_in_vllm(
    remote: Deployment, servable: Servable, vllm_venv: VllmVenv
) -> None:
    upload = copy_upload(remote, servable, "full")
    job = remote.import_folder(upload, weight_type="full")

    code, report = verify_serving(vllm_venv, remote, job.model_name, servable.base, "vllm")

    assert code == 0, report
    assert report["loaded"] and report["every_tensor_bound"] is None and report["output_moved"] is None
    reference = run_reference(vllm_venv, "hf", upload, report["prompt_token_ids"], MAX_TOKENS)["tokens"]
    assert report["model_tokens"] == reference


@pytest.mark.parametrize("engine", ["vllm", "transformers"])
def test_verify_serving_fails_an_adapter_that_does_not_fill_the_base(
    local: Deployment, servable: Servable, vllm_venv: VllmVenv, engine: str
) -> None:
    """Had the gate let the half-rows adapter through, the proof would say so: vLLM loads it and the
    proof finds every lora_B short of its module; PEFT refuses to load it."""
    name = f"{BASE_ID}-offline-20261202-half"
    publish_unchecked(local.model_store, name, servable.uploads / "half-rows", base_id=BASE_ID, weight_type="lora")

    code, report = verify_serving(vllm_venv, local, name, servable.base, engine)

    assert code == 1, report
    assert report["passed"] is False
    if engine == "vllm":
        assert report["loaded"] is True and report["every_tensor_bound"] is False
        assert any("lora_B [32, 8]" in entry and "takes [8, 128] and [64, 8]" in entry for entry in report["unbound"])
        assert "do not fill the base's modules" in report["sentence"]
    else:
        assert report["loaded"] is False and "size mismatch" in report["error"]


@pytest.mark.parametrize(
    ("change", "sentence"),
    [
        ({"MODELPORT_VLLM_BASE": ""}, "modelport vLLM plugin: MODELPORT_VLLM_BASE is not set"),
        ({"MODELPORT_VLLM_BASE": "qwen9-1t"}, "MODELPORT_VLLM_BASE is 'qwen9-1t', which is not a base model"),
    ],
)
def test_a_wrong_setting_stops_vllm_at_start(
    vllm_venv: VllmVenv, servable: Servable, tmp_path: Path, change: dict[str, str], sentence: str
) -> None:
    env = {
        "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "1",
        "MODELPORT_DATA_DIR": str(tmp_path / "data"),
        "MODELPORT_VLLM_BASE": BASE_ID,
        "MODELPORT_VLLM_CACHE_DIR": str(tmp_path / "cache"),
    }
    tiny_models.register_servable_base(tmp_path / "data", BASE_ID, servable.base)
    command = [str(vllm_venv.python), "-m", "vllm.entrypoints.openai.api_server", "--model", str(servable.base)]
    done = subprocess.run(
        [*command, "--enable-lora", "--port", str(free_port())],
        env=vllm_venv.env({**env, **change}),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode != 0
    assert sentence in done.stderr, done.stderr[-3000:]
