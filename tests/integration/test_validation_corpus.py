"""The gate over the whole corpus: each folder ends with the right status, reason codes and sentence;
failures publish nothing and leave no staging; successes publish exactly the needed files; no pickle
is ever loaded."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelport.catalog.catalog import load_catalog
from modelport.domain.jobs import Job
from modelport.pipeline.importer import Importer, ImportResult
from modelport.settings import Settings
from modelport.storage.config import build_storage
from tests.support import corpus_files, corpus_full_configs, corpus_lora_semantics, corpus_tokenizers
from tests.support.corpus import Case, Context, cases, register_tiny_bases
from tests.support.jobs import running_job

BUCKET = "corpus"


@pytest.fixture(scope="module")
def corpus_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    data_dir = tmp_path_factory.mktemp("corpus") / "data"
    data_dir.mkdir()
    register_tiny_bases(data_dir)
    yield Settings(data_dir=data_dir, database_url="sqlite://", chunk_bytes=4096, read_concurrency=2)


MARKER = Path("/tmp/modelport-corpus-pickle-was-loaded")
CASES = (
    cases(MARKER)
    + corpus_lora_semantics.cases()
    + corpus_files.cases()
    + corpus_full_configs.cases()
    + corpus_tokenizers.cases()
)


def run_case(settings: Settings, case: Case) -> tuple[ImportResult, Job]:
    prefix = f"{case.name}/"
    folder = settings.buckets_dir / BUCKET / prefix
    folder.mkdir(parents=True, exist_ok=True)
    case.build(folder, Context(settings.data_dir))
    job = running_job(case.base, case.weight_type, BUCKET, prefix, display_name=case.name)
    importer = Importer(settings, build_storage(settings), load_catalog(settings.data_dir))
    result = importer.run(job, "t1", lambda *_: None, lambda: False)
    return result, job


def test_the_corpus_is_broad() -> None:
    assert len(CASES) >= 40
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_corpus_case(corpus_settings: Settings, case: Case) -> None:
    MARKER.unlink(missing_ok=True)
    result, job = run_case(corpus_settings, case)
    report = result.report
    codes = {finding["code"] for finding in report["findings"]}
    published = corpus_settings.models_dir / job.model_name
    staging = corpus_settings.models_dir / ".staging"

    assert not MARKER.exists(), "a pickle from the upload was executed"
    assert result.status.value == case.status, result.error_code
    assert not staging.exists() or not any(staging.iterdir())
    claims = corpus_settings.models_dir / ".claims"
    assert not claims.exists() or not any(claims.iterdir()), "an import left claims on blobs"
    for code in case.codes:
        assert code in codes, (code, report["findings"])
    if case.status == "FAILED":
        assert result.error_code
        assert result.reason_code in codes
        for mention in case.mentions:
            assert mention in result.error_code or any(mention in f["message"] for f in report["findings"]), (
                mention,
                result.error_code,
            )
        assert not published.exists()
        return
    assert result.error_code is None
    errors = [f for f in report["findings"] if f["severity"] == "error"]
    assert errors == []
    for code in case.warnings:
        assert code in codes
    files = {entry["path"]: entry for entry in report["files"]}
    for name in case.ignored:
        assert files[name]["status"] == "ignored", files[name]
        assert not (published / Path(name).name).exists() or Path(name).name in case.copied
    manifest = json.loads((published / "manifest.json").read_text())
    copied = {entry["path"] for entry in manifest["files"]}
    if case.copied:
        assert copied == set(case.copied)
    for entry in manifest["files"]:
        data = (published / entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"] == files[entry["path"]]["sha256"]
