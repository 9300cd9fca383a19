"""Imports served by name from a real vLLM OpenAI server through the modelport plugin, with the model
store on a local folder and on the S3-protocol server: the adapter's output equals transformers + PEFT's,
every refusal is vLLM's own 404 with modelport's sentence in the log, and the two adapters vLLM alone
serves silently are FAILED by the gate.

One modelport serve and one vLLM server per store (module-scoped); the S3 one also has a workspace
allowlist, so the database path of the plugin runs in a real vLLM too.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from modelport.db.keys_repository import KeyRepository
from tests.engines.conftest import MAX_TOKENS, PROMPT, Servable, run_reference
from tests.support import s3_server as moto
from tests.support.s3_server import S3Server
from tests.support.server import TEST_KEY, Server, wait_for
from tests.support.serving import BASE_ID, BUCKET, TWIN_BASE_ID, Deployment, deploy
from tests.support.vllm_server import VllmServer
from tests.support.vllm_venv import VllmVenv

# A server start is bounded at 10 minutes on a loaded machine; pytest-timeout counts fixture set-up too.
pytestmark = [pytest.mark.vllm, pytest.mark.timeout(1800)]
s3_server = moto.s3_server


@dataclass
class Stack:
    deployment: Deployment
    api: Server
    vllm: VllmServer
    servable: Servable

    @property
    def kind(self) -> str:
        return self.deployment.kind

    def import_via_api(
        self, folder: Path, *, weight_type: str = "lora", base_id: str = BASE_ID, key: str = TEST_KEY
    ) -> dict[str, Any]:
        """Create the job through the real API and follow it to its end."""
        body = {
            "model_name": base_id,
            "source": "oss",
            "weight_type": weight_type,
            "storage_info": {
                "bucket_name": BUCKET,
                "object_key": folder.relative_to(self.deployment.uploads).as_posix() + "/",
            },
        }
        routes = f"{self.api.base_url}/api/v1/custom_models/import"
        headers = {"Authorization": f"Bearer {key}"}
        created = httpx.post(routes, json=body, headers=headers, timeout=30)
        assert created.status_code == 200, created.text
        job_id = created.json()["output"]["job_id"]

        def finished() -> dict[str, Any] | None:
            job: dict[str, Any] = httpx.get(f"{routes}/{job_id}", headers=headers, timeout=30).json()["output"]
            return job if job["status"] in ("SUCCESSED", "FAILED") else None

        return wait_for(finished, timeout=300, interval=0.1)

    def copy_upload(self, name: str) -> Path:
        target = self.deployment.new_upload(name)
        shutil.copytree(self.servable.uploads / name, target)
        return target

    def refused(self, model_name: str, reason: str) -> str:
        """Ask vLLM for `model_name`: its own 404, and modelport's sentence in its log."""
        response = self.vllm.complete(model_name, PROMPT)
        assert response.status_code == 404, response.text
        assert response.json()["error"]["message"].startswith(f"The model `{model_name}` does not exist.")
        return self.vllm.wait_for_log(f"modelport refused adapter {model_name!r} ({reason}): ")


@pytest.fixture(scope="module", params=["local", "s3"])
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, vllm_venv: VllmVenv, servable: Servable
) -> Iterator[Stack]:
    kind: str = request.param
    root = tmp_path_factory.mktemp(f"stack-{kind}")
    s3: S3Server | None = request.getfixturevalue("s3_server") if kind == "s3" else None
    deployment = deploy(root, kind, s3, servable.base)
    api = Server(deployment.settings.data_dir, deployment.env)
    vllm_env = {**deployment.env, "MODELPORT_VLLM_BASE": BASE_ID, "MODELPORT_VLLM_CACHE_DIR": str(root / "cache")}
    if kind == "s3":
        vllm_env["MODELPORT_VLLM_WORKSPACES"] = "default"
    vllm = VllmServer(vllm_venv, servable.base, vllm_env, root / "vllm.log")
    try:
        api.start()
        vllm.start()
        yield Stack(deployment=deployment, api=api, vllm=vllm, servable=servable)
    finally:
        vllm.stop()
        if api.process is not None:
            api.terminate()
        deployment.close()


def test_the_plugin_describes_itself_on_first_use(stack: Stack) -> None:
    stack.vllm.complete("tiny-qwen3-offline-20261202-zzzz", PROMPT)
    line = stack.vllm.wait_for_log("modelport resolver: serving LoRA imports of base 'tiny-qwen3'")
    assert line.startswith("(APIServer pid=")  # the process that resolves, through vLLM's log handler
    assert ("from default;" in line) if stack.kind == "s3" else ("from every workspace;" in line)


def test_an_imported_adapter_is_served_by_its_model_name(stack: Stack, vllm_venv: VllmVenv) -> None:
    upload = stack.copy_upload("lora")
    job = stack.import_via_api(upload)
    assert job["status"] == "SUCCESSED", job

    base_tokens = stack.vllm.tokens(str(stack.servable.base), PROMPT)
    adapter_tokens = stack.vllm.tokens(job["model_name"], PROMPT)

    assert adapter_tokens != base_tokens
    reference = run_reference(vllm_venv, "peft", stack.servable.base, upload, PROMPT, MAX_TOKENS)
    assert reference == {"base": base_tokens, "adapter": adapter_tokens}
    stack.vllm.wait_for_log(f"modelport resolved adapter {job['model_name']!r}: 2 files")
    models = httpx.get(f"{stack.vllm.url}/v1/models", timeout=30).json()["data"]
    assert job["model_name"] in [m["id"] for m in models]


EVERY_MODULE = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@pytest.mark.parametrize(
    "options",
    [
        {"targets": EVERY_MODULE, "use_rslora": True},  # the MLP's packed gate_up_proj; alpha / sqrt(r)
        {"targets": ("q_proj", "v_proj"), "lora_alpha": 32},
    ],
    ids=["every-module-rslora", "q-v-alpha32"],
)
def test_other_adapters_the_gate_accepts_serve_as_peft_applies_them(
    stack: Stack, vllm_venv: VllmVenv, options: dict[str, Any]
) -> None:
    upload = stack.deployment.write_lora(seed=21, **options)
    job = stack.import_via_api(upload)
    assert job["status"] == "SUCCESSED", job

    served = stack.vllm.tokens(job["model_name"], PROMPT)

    reference = run_reference(vllm_venv, "peft", stack.servable.base, upload, PROMPT, MAX_TOKENS)
    assert served == reference["adapter"] != reference["base"]


def test_an_unknown_name_is_refused(stack: Stack) -> None:
    stack.refused("tiny-qwen3-offline-20261202-none", "unknown")


def test_a_failed_import_is_refused(stack: Stack) -> None:
    job = stack.import_via_api(stack.copy_upload("half-rows"))
    assert job["status"] == "FAILED"
    stack.refused(job["model_name"], "unknown")


def test_an_import_for_another_base_is_refused(stack: Stack) -> None:
    job = stack.import_via_api(stack.deployment.write_lora(base_id=TWIN_BASE_ID), base_id=TWIN_BASE_ID)
    assert job["status"] == "SUCCESSED", job
    line = stack.refused(job["model_name"], "wrong base")
    assert f"imported for base model '{TWIN_BASE_ID}', but this vLLM serves '{BASE_ID}'" in line


def test_a_full_import_is_refused_as_an_adapter(stack: Stack) -> None:
    job = stack.import_via_api(stack.copy_upload("full"), weight_type="full")
    assert job["status"] == "SUCCESSED", job
    stack.refused(job["model_name"], "not lora")


def test_a_store_file_tampered_after_the_import_is_refused(stack: Stack) -> None:
    job = stack.import_via_api(stack.deployment.write_lora(seed=11))
    assert job["status"] == "SUCCESSED", job
    stack.deployment.tamper(job["model_name"], "adapter_model.safetensors")

    line = stack.refused(job["model_name"], "digest mismatch")

    assert "adapter_model.safetensors" in line and "the manifest says" in line


def test_a_deleted_import_stops_resolving(stack: Stack) -> None:
    job = stack.import_via_api(stack.deployment.write_lora(seed=12))
    name = job["model_name"]
    served = stack.vllm.tokens(name, PROMPT)
    cached = stack.deployment.root / "cache" / name
    assert cached.is_dir()

    deleted = stack.api.call("DELETE", f"/api/v1/custom_models/import/{job['job_id']}")
    assert deleted.status_code == 200, deleted.text

    # What the README documents: the copy vLLM already loaded keeps serving until it is unloaded.
    assert stack.vllm.tokens(name, PROMPT) == served
    unloaded = stack.vllm.post("/v1/unload_lora_adapter", {"lora_name": name})
    assert unloaded.status_code == 200, unloaded.text
    stack.refused(name, "deleted")
    assert not cached.exists()


def test_an_adapter_vllm_cannot_load_is_vllms_own_400(stack: Stack) -> None:
    # Rank 16 passes the gate; this server runs with --max-lora-rank 8.
    job = stack.import_via_api(stack.deployment.write_lora(seed=13, rank=16))
    assert job["status"] == "SUCCESSED", job

    response = stack.vllm.complete(job["model_name"], PROMPT)

    assert response.status_code == 400, response.text
    assert "was found but could not be loaded" in response.json()["error"]["message"]
    stack.vllm.wait_for_log("LoRA rank 16 is greater than max_lora_rank 8")


def test_the_workspace_allowlist(stack: Stack) -> None:
    key, _record = KeyRepository(stack.deployment.services.engine).create_key("team-b")
    job = stack.import_via_api(stack.deployment.write_lora(seed=14), key=key)
    assert job["status"] == "SUCCESSED", job
    if stack.kind == "s3":  # MODELPORT_VLLM_WORKSPACES=default
        line = stack.refused(job["model_name"], "workspace")
        assert "workspace 'team-b', which is not in MODELPORT_VLLM_WORKSPACES (default)" in line
    else:
        assert stack.vllm.complete(job["model_name"], PROMPT).status_code == 200


@pytest.mark.parametrize("upload", ["smaller-base", "half-rows"])
def test_the_adapters_vllm_serves_silently_are_failed_by_the_gate(stack: Stack, upload: str) -> None:
    folder = stack.copy_upload(upload)

    job = stack.import_via_api(folder)

    assert job["status"] == "FAILED"
    assert "was the adapter trained on another base model?" in job["error_code"]
    # vLLM alone, given the raw upload: it loads, and serves output nobody trained.
    raw = f"raw-{upload}-{stack.kind}"
    loaded = stack.vllm.post("/v1/load_lora_adapter", {"lora_name": raw, "lora_path": str(folder)})
    assert loaded.status_code == 200, loaded.text
    assert stack.vllm.tokens(raw, PROMPT) != stack.vllm.tokens(str(stack.servable.base), PROMPT)
