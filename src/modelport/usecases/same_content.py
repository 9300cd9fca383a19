"""Which earlier model has exactly the files of an import: the lookup the worker hands the importer,
so that a report can say "these are the files of model X" (the importer itself reads no database).

Candidates come from the model store (the models that reference every blob of the import), the
database narrows them to SUCCESSED models of the same workspace, base model and weight type, and
the candidate's manifest must list exactly the same set of SHA-256 digests. Models imported before
the store kept blobs reference none, so they are never named.
"""

from __future__ import annotations

from modelport.db.job_reads import JobReads
from modelport.domain.jobs import Job, JobStatus
from modelport.pipeline.importer import SameContent
from modelport.storage.interface import ModelStore
from modelport.storage.manifest import Manifest, ManifestError


def same_content_lookup(reads: JobReads, store: ModelStore) -> SameContent:
    def lookup(job: Job, digests: frozenset[str], blobs: frozenset[str]) -> str | None:
        holders = store.blob_holders(sorted(blobs)) - {job.model_name}
        for other in reads.by_model_names(sorted(holders)):
            if (
                other.workspace_id != job.workspace_id
                or other.base_model != job.base_model
                or other.weight_type != job.weight_type
                or other.status != JobStatus.SUCCEEDED
            ):
                continue
            raw = store.read_manifest(other.model_name)
            try:
                manifest = Manifest.from_bytes(raw) if raw is not None else None
            except ManifestError:
                continue
            if manifest is not None and frozenset(entry.sha256 for entry in manifest.files) == digests:
                return other.model_name
        return None

    return lookup
