"""The adapter resolver behind the vLLM plugin, without vLLM: real imports published by the importer to a
local model store and to one on the S3-protocol server, the configuration read from an environment as
vLLM's process would have it, and every refusal with its logged sentence."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete

from modelport import samples
from modelport.db.schema import import_jobs
from modelport.serving import tiny_models
from modelport.serving.config import load_serving_config
from modelport.serving.job_lookup import JobLookup
from modelport.serving.resolver import AdapterResolver, Refusal, Resolved
from modelport.storage.config import build_storage
from tests.support import s3_server as moto
from tests.support.s3_server import S3Server
from tests.support.serving import BASE_ID, TWIN_BASE_ID, Deployment, deploy

s3_server = moto.s3_server
LOGGER = "test.modelport.serving"


@pytest.fixture(params=["local", "s3"])
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    s3: S3Server | None = request.getfixturevalue("s3_server") if request.param == "s3" else None
    deployed = deploy(tmp_path, request.param, s3)
    yield deployed
    deployed.close()


def resolver_for(deployment: Deployment, **extra: str) -> AdapterResolver:
    env = {
        **deployment.env,
        "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "1",
        "MODELPORT_VLLM_BASE": BASE_ID,
        "MODELPORT_VLLM_CACHE_DIR": str(deployment.root / "cache"),
        **extra,
    }
    config = load_serving_config(env)
    jobs = JobLookup.open(config.settings.database_url) if config.workspaces is not None else None
    return AdapterResolver(config, build_storage(config.settings).model_store, jobs, logging.getLogger(LOGGER))


def refused(outcome: Resolved | Refusal, reason: str) -> Refusal:
    assert isinstance(outcome, Refusal), f"expected a refusal ({reason}), got {outcome}"
    assert outcome.reason == reason, outcome.sentence
    return outcome


def cached_names(deployment: Deployment) -> list[str]:
    cache = deployment.root / "cache"
    return sorted(p.name for p in cache.iterdir() if not p.name.startswith(".")) if cache.exists() else []


def test_a_lora_import_resolves_to_a_verified_copy(deployment: Deployment, caplog: pytest.LogCaptureFixture) -> None:
    job = deployment.import_folder(deployment.write_lora())
    assert job.error_code is None
    caplog.set_level(logging.INFO, logger=LOGGER)

    outcome = resolver_for(deployment).resolve(job.model_name)

    assert isinstance(outcome, Resolved), outcome
    assert outcome.path.parent == deployment.root / "cache" / job.model_name
    for entry in outcome.manifest.files:
        reader = deployment.model_store.open(job.model_name, entry.path)
        assert (outcome.path / entry.path).read_bytes() == reader.read(0, reader.size)
        assert hashlib.sha256((outcome.path / entry.path).read_bytes()).hexdigest() == entry.sha256
    assert f"modelport resolved adapter {job.model_name!r}: 2 files" in caplog.text


def test_an_unknown_name_is_refused(deployment: Deployment, caplog: pytest.LogCaptureFixture) -> None:
    refusal = refused(resolver_for(deployment).resolve(f"{BASE_ID}-offline-20261202-none"), "unknown")
    assert refusal.sentence.startswith(f"modelport refused adapter '{BASE_ID}-offline-20261202-none' (unknown): ")
    assert refusal.sentence in caplog.text


def test_a_name_that_is_a_path_is_refused_without_touching_anything(deployment: Deployment) -> None:
    outside = deployment.root / "precious"
    outside.mkdir()
    refused(resolver_for(deployment).resolve("../precious"), "unknown")
    assert outside.is_dir()


def test_a_failed_import_is_refused(deployment: Deployment) -> None:
    spots = tiny_models.write_blind_spots(deployment.new_upload("spots"), BASE_ID, tiny_models.servable_base_config())
    job = deployment.import_folder(spots["half-rows"])
    assert job.error_code is not None and "lora_B.weight has shape [32, 8]" in job.error_code
    refused(resolver_for(deployment).resolve(job.model_name), "unknown")


def test_a_full_import_is_refused_with_the_way_to_serve_it(deployment: Deployment) -> None:
    folder = deployment.new_upload("full")
    samples.write_full_checkpoint(folder, tiny_models.servable_base_config(), dtype="F32")
    job = deployment.import_folder(folder, weight_type="full")
    assert job.error_code is None
    refusal = refused(resolver_for(deployment).resolve(job.model_name), "not_lora")
    assert f"modelport pull {job.model_name} DIR" in refusal.sentence


def test_an_import_for_another_base_is_refused(deployment: Deployment) -> None:
    job = deployment.import_folder(deployment.write_lora(base_id=TWIN_BASE_ID), base_id=TWIN_BASE_ID)
    assert job.error_code is None
    refusal = refused(resolver_for(deployment).resolve(job.model_name), "wrong_base")
    assert f"imported for base model {TWIN_BASE_ID!r}, but this vLLM serves {BASE_ID!r}" in refusal.sentence


def test_a_store_file_changed_after_the_import_is_refused_and_never_cached(deployment: Deployment) -> None:
    job = deployment.import_folder(deployment.write_lora())
    deployment.tamper(job.model_name, "adapter_model.safetensors")

    refusal = refused(resolver_for(deployment).resolve(job.model_name), "digest_mismatch")

    assert "adapter_model.safetensors" in refusal.sentence and "the manifest says" in refusal.sentence
    folder = deployment.root / "cache" / job.model_name
    assert not folder.exists() or list(folder.iterdir()) == []  # no copy, and no partial one left


def test_a_deleted_import_is_refused_and_its_cached_copy_removed(deployment: Deployment) -> None:
    job = deployment.import_folder(deployment.write_lora())
    resolver = resolver_for(deployment)
    assert isinstance(resolver.resolve(job.model_name), Resolved)
    assert cached_names(deployment) == [job.model_name]

    deployment.model_store.delete(job.model_name)

    refused(resolver.resolve(job.model_name), "deleted")
    assert cached_names(deployment) == []
    refused(resolver.resolve(job.model_name), "unknown")  # nothing left to say it ever existed


def test_a_cached_copy_changed_on_disk_is_copied_again(
    deployment: Deployment, caplog: pytest.LogCaptureFixture
) -> None:
    job = deployment.import_folder(deployment.write_lora())
    resolver = resolver_for(deployment)
    first = resolver.resolve(job.model_name)
    assert isinstance(first, Resolved)
    assert resolver.resolve(job.model_name) == first  # reused as it is
    weights = first.path / "adapter_model.safetensors"
    weights.write_bytes(b"\0" + weights.read_bytes()[1:])

    again = resolver.resolve(job.model_name)

    assert isinstance(again, Resolved) and again.path == first.path
    reader = deployment.model_store.open(job.model_name, "adapter_model.safetensors")
    assert weights.read_bytes() == reader.read(0, reader.size)
    assert "changed on disk; copying it again" in caplog.text


def test_the_workspace_allowlist(deployment: Deployment) -> None:
    allowed = deployment.import_folder(deployment.write_lora(), workspace="default")
    other = deployment.import_folder(deployment.write_lora(seed=5), workspace="team-b")
    resolver = resolver_for(deployment, MODELPORT_VLLM_WORKSPACES="default, team-c")

    assert isinstance(resolver.resolve(allowed.model_name), Resolved)
    refusal = refused(resolver.resolve(other.model_name), "workspace")
    assert "workspace 'team-b', which is not in MODELPORT_VLLM_WORKSPACES (default, team-c)" in refusal.sentence

    # A job deleted from the database whose files are not yet gone: the route deletes the row first.
    with deployment.services.engine.begin() as connection:
        connection.execute(delete(import_jobs).where(import_jobs.c.job_id == other.job_id))
    assert isinstance(resolver_for(deployment).resolve(other.model_name), Resolved)  # no allowlist: no database
    refused(resolver.resolve(other.model_name), "deleted")
