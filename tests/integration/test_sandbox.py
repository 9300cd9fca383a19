"""The validation sandbox with real child processes: the same verdicts as an inspection in process,
and a refusal (never a pass, never an exception) when an upload exceeds the CPU, memory or wall
time an inspection may use, or when the child dies."""

from __future__ import annotations

import json
import os
import signal
import struct
from collections.abc import Iterator

import pytest

from modelport import samples
from modelport.catalog.catalog import BaseModel, load_catalog
from modelport.domain.jobs import Phase, StorageInfo, WeightType
from modelport.pipeline.inspection import Inspection, in_process
from modelport.pipeline.sandbox import SandboxLimits, ValidationSandbox
from modelport.pipeline.stopping import CopyCancelled
from modelport.settings import Settings
from modelport.storage.config import build_storage

BUCKET = "sandboxed"
GOOD = StorageInfo(BUCKET, "good/")


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data_dir = tmp_path_factory.mktemp("sandbox")
    base = qwen3()
    samples.write_lora_adapter(data_dir / "buckets" / BUCKET / "good", "qwen3-8b", base.architecture)
    samples.write_lora_adapter(data_dir / "buckets" / BUCKET / "rank12", "qwen3-8b", base.architecture, rank=12)
    return Settings(data_dir=data_dir, database_url="sqlite://")


def qwen3() -> BaseModel:
    base = load_catalog(None).get("qwen3-8b")
    assert base is not None
    return base


@pytest.fixture
def sandbox(settings: Settings) -> Iterator[ValidationSandbox]:
    box = ValidationSandbox(settings, SandboxLimits(cpu_seconds=30, memory_bytes=1024**3, wall_seconds=120))
    yield box
    box.close()


def inspect(box: ValidationSandbox, source: StorageInfo, weight_type: WeightType = WeightType.LORA) -> Inspection:
    return box(qwen3(), weight_type, source, lambda _phase: None)


def refusal(inspection: Inspection) -> tuple[str, str]:
    first = inspection.findings.first_error()
    assert inspection.failed and first is not None
    return first.code.code, first.message


def test_the_sandbox_reaches_the_verdicts_of_an_inspection_in_process(
    settings: Settings, sandbox: ValidationSandbox
) -> None:
    local = in_process(build_storage(settings))
    phases: list[Phase] = []
    for prefix in ("good/", "rank12/"):
        source = StorageInfo(BUCKET, prefix)
        boxed = sandbox(qwen3(), WeightType.LORA, source, phases.append)
        assert boxed == local(qwen3(), WeightType.LORA, source, lambda _phase: None)
    assert phases == [Phase.LISTING, Phase.VALIDATING] * 2
    assert "rank must be one of" in refusal(inspect(sandbox, StorageInfo(BUCKET, "rank12/")))[1]


def _zero_size_header(tensors: int) -> bytes:
    header = {f"t{n}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]} for n in range(tensors)}
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw


@pytest.fixture(scope="module")
def cpu_hog(settings: Settings) -> StorageInfo:
    """Six headers of 100,000 zero-size tensors each: about a second of parsing apiece."""
    folder = settings.buckets_dir / BUCKET / "cpu-hog"
    folder.mkdir(parents=True, exist_ok=True)
    for shard in range(6):
        (folder / f"model-{shard}.safetensors").write_bytes(_zero_size_header(100_000))
    return StorageInfo(BUCKET, "cpu-hog/")


def test_an_upload_that_needs_more_cpu_than_allowed_is_refused(settings: Settings, cpu_hog: StorageInfo) -> None:
    box = ValidationSandbox(settings, SandboxLimits(cpu_seconds=1, memory_bytes=1024**3, wall_seconds=600))
    try:
        code, message = refusal(inspect(box, cpu_hog, WeightType.FULL))
        assert code == "gate.resource_limit" and "CPU time limit of 1 s" in message
        assert not inspect(box, GOOD).failed, "a new child serves the next inspection"
    finally:
        box.close()


def test_an_upload_that_needs_more_memory_than_allowed_is_refused(settings: Settings) -> None:
    folder = settings.buckets_dir / BUCKET / "memory-hog"
    samples.write_lora_adapter(folder, "qwen3-8b", qwen3().architecture)
    # 30 MiB of tiny JSON objects: several hundred MiB once parsed into Python objects.
    (folder / "tokenizer.json").write_text("[" + ",".join(["{}"] * 10_000_000) + "]")
    box = ValidationSandbox(settings, SandboxLimits(cpu_seconds=60, memory_bytes=300 * 1024**2, wall_seconds=600))
    try:
        code, message = refusal(inspect(box, StorageInfo(BUCKET, "memory-hog/")))
        assert code == "gate.resource_limit" and "memory limit of 300 MiB" in message
        assert not inspect(box, GOOD).failed
    finally:
        box.close()


def test_an_inspection_past_the_wall_clock_limit_is_refused(settings: Settings) -> None:
    box = ValidationSandbox(settings, SandboxLimits(cpu_seconds=30, memory_bytes=1024**3, wall_seconds=0.001))
    try:
        code, message = refusal(inspect(box, GOOD))
        assert code == "gate.resource_limit" and "longer than its limit of 0.001 s" in message
    finally:
        box.close()


def test_a_child_that_dies_while_idle_is_replaced_and_one_that_dies_mid_request_refuses(
    sandbox: ValidationSandbox, cpu_hog: StorageInfo
) -> None:
    assert not inspect(sandbox, GOOD).failed
    (idle,) = sandbox._idle
    os.kill(idle.process.pid, signal.SIGKILL)
    idle.process.wait(timeout=30)
    assert not inspect(sandbox, GOOD).failed, "a dead idle child must not fail the next request"

    (busy,) = sandbox._idle
    # Killed when it reports its first phase, seconds before it could finish the cpu-hog upload.
    killed = sandbox(qwen3(), WeightType.FULL, cpu_hog, lambda _phase: os.kill(busy.process.pid, signal.SIGKILL))
    code, message = refusal(killed)
    assert code == "gate.resource_limit" and "was killed" in message
    assert not inspect(sandbox, GOOD).failed


def test_an_inspection_is_stopped_mid_way_when_its_import_is_cancelled(
    sandbox: ValidationSandbox, cpu_hog: StorageInfo
) -> None:
    """A cancel (or a lost lease) reaches an inspection the sandbox is waiting on: the child, busy with
    seconds of work, is killed at once and the next inspection gets a fresh one."""
    assert not inspect(sandbox, GOOD).failed
    (child,) = sandbox._idle
    phases: list[Phase] = []
    with pytest.raises(CopyCancelled):
        sandbox(qwen3(), WeightType.FULL, cpu_hog, phases.append, lambda: bool(phases))
    child.process.wait(timeout=30)  # killed, not left computing
    assert sandbox._idle == []
    assert not inspect(sandbox, GOOD).failed


def test_a_closed_sandbox_stops_its_children(settings: Settings) -> None:
    box = ValidationSandbox(settings, SandboxLimits(processes=2))
    box.warm()
    (child,) = box._idle
    box.close()
    assert child.process.poll() is not None
    with pytest.raises(RuntimeError, match="closed"):
        inspect(box, GOOD)
