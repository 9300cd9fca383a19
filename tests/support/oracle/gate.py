"""The one call into the gate. The Importer's API is being reworked: adapt `run_gate` and nothing else.

The gate runs in process as a worker runs it (Importer.run on a RUNNING job), on a folder of the
local bucket `oracle`; what it published is read back from its model store.
"""

from __future__ import annotations

import json
from pathlib import Path

from modelport.catalog.catalog import load_catalog
from modelport.pipeline.importer import Importer
from modelport.settings import Settings
from modelport.storage.config import build_storage
from tests.support.jobs import running_job
from tests.support.oracle.judge import GateVerdict

BUCKET = "oracle"


def upload_folder(settings: Settings, prefix: str) -> Path:
    """Where an upload named `prefix` (ending in '/') lives, for the gate and for the loaders."""
    return settings.buckets_dir / BUCKET / prefix


def run_gate(settings: Settings, base_id: str, weight_type: str, prefix: str) -> GateVerdict:
    job = running_job(base_id, weight_type, BUCKET, prefix, display_name=prefix.rstrip("/"))
    importer = Importer(settings, build_storage(settings), load_catalog(settings.data_dir))
    result = importer.run(job, "oracle", lambda *_: None, lambda: False)
    findings = result.report["findings"]
    manifest = settings.models_dir / job.model_name / "manifest.json"
    published = (
        {entry["path"]: entry["sha256"] for entry in json.loads(manifest.read_text())["files"]}
        if manifest.exists()
        else {}
    )
    return GateVerdict(
        status=result.status.value,
        reason_code=result.reason_code,
        error=result.error_code,
        errors=tuple(f["code"] for f in findings if f["severity"] == "error"),
        warnings=tuple(f["code"] for f in findings if f["severity"] == "warning"),
        published=published,
    )
