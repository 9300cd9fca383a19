"""Adapter resolution: from a request's model name to a local folder vLLM may load, or a refusal.

A name resolves only to a published `lora` import of the base this server serves (and, with an
allowlist, of an allowed workspace), and only to a verified copy in the cache folder: every file is
hashed against the manifest while it is copied, so a store file changed after the import never
reaches the engine, whatever the store's backend. Each refusal is logged as one sentence naming the
reason; the caller turns it into vLLM's own 404. This module knows nothing of vLLM itself.

Cache layout: `<cache>/<model_name>/<first 16 hex of the manifest's SHA-256>/`. A copy is re-hashed
before reuse, and removed when the resolver finds its model deleted.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from modelport.serving.config import BASE_VARIABLE, WORKSPACES_VARIABLE, ServingConfig
from modelport.serving.job_lookup import JobLookup
from modelport.serving.manifest import Manifest, ManifestError, read_manifest
from modelport.serving.verified_copy import VerificationFailed, copy_verified, folder_matches
from modelport.storage.interface import ModelStore, StorageError
from modelport.storage.local_models import check_plain_name


@dataclass(frozen=True)
class Refusal:
    reason: str  # unknown, deleted, not_lora, wrong_base, workspace, digest_mismatch, unreadable
    sentence: str


class Refused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.sentence)
        self.refusal = refusal


@dataclass(frozen=True)
class Resolved:
    model_name: str
    path: Path
    manifest: Manifest


class AdapterResolver:
    def __init__(
        self,
        config: ServingConfig,
        store: ModelStore,
        jobs: JobLookup | None,
        logger: logging.Logger,
    ) -> None:
        self.config = config
        self._store = store
        self._jobs = jobs
        self._logger = logger

    def resolve(self, model_name: str) -> Resolved | Refusal:
        """Blocking (store reads, hashing): call it off the event loop."""
        try:
            resolved = self._resolve(model_name)
        except Refused as refused:
            self._logger.warning("%s", refused.refusal.sentence)
            return refused.refusal
        self._logger.info(
            "modelport resolved adapter %r: %d files (%d bytes) verified against its manifest, loading %s",
            model_name,
            len(resolved.manifest.files),
            resolved.manifest.total_bytes,
            resolved.path,
        )
        return resolved

    def _resolve(self, model_name: str) -> Resolved:
        config = self.config
        try:
            check_plain_name(model_name)  # before the name is used as a folder of the cache
        except StorageError:
            raise _refused(model_name, "unknown", "that is not a model_name modelport could have given.") from None
        try:
            manifest = read_manifest(self._store, model_name)
        except ManifestError as error:
            raise _refused(model_name, "unreadable", f"{error}") from None
        except StorageError as error:
            raise _refused(model_name, "unreadable", f"the model store could not be read ({error}).") from None
        cached = config.cache_dir / model_name
        if manifest is None:
            if _is_cache_entry(cached):
                shutil.rmtree(cached, ignore_errors=True)
                raise _refused(
                    model_name,
                    "deleted",
                    "it was deleted (its manifest is gone from the model store); its cached copy was removed.",
                )
            raise _refused(
                model_name,
                "unknown",
                "no published import has this model_name (never imported, its import did not succeed, or deleted).",
            )
        if manifest.weight_type != "lora":
            raise _refused(
                model_name,
                "not_lora",
                f"it is a {manifest.weight_type} import, not a LoRA adapter; serve it with "
                f"`modelport pull {model_name} DIR` and `vllm serve DIR`.",
            )
        if manifest.base_model != config.base_model:
            raise _refused(
                model_name,
                "wrong_base",
                f"it was imported for base model {manifest.base_model!r}, but this vLLM serves "
                f"{config.base_model!r} ({BASE_VARIABLE}).",
            )
        self._check_workspace(manifest)
        return Resolved(model_name=model_name, path=self._verified_copy(manifest, cached), manifest=manifest)

    def _check_workspace(self, manifest: Manifest) -> None:
        allowed = self.config.workspaces
        if allowed is None:
            return
        assert self._jobs is not None
        job = self._jobs.job(manifest.job_id)
        if job is None or job.model_name != manifest.model_name:
            raise _refused(
                manifest.model_name,
                "deleted",
                f"its job {manifest.job_id} is gone from the database (the import is being deleted).",
            )
        if job.workspace not in allowed:
            raise _refused(
                manifest.model_name,
                "workspace",
                f"it belongs to workspace {job.workspace!r}, which is not in {WORKSPACES_VARIABLE} "
                f"({', '.join(sorted(allowed))}).",
            )

    def _verified_copy(self, manifest: Manifest, cached: Path) -> Path:
        target = cached / hashlib.sha256(manifest.raw).hexdigest()[:16]
        if target.exists():
            if folder_matches(target, manifest):
                return target
            self._logger.warning("modelport: cached copy %s changed on disk; copying it again", target)
            shutil.rmtree(target)
        try:
            copy_verified(self._store, manifest, target)
        except VerificationFailed as error:
            raise _refused(manifest.model_name, "digest_mismatch", str(error)) from None
        except StorageError as error:
            raise _refused(manifest.model_name, "unreadable", f"the model store could not be read ({error}).") from None
        except OSError as error:
            # Another vLLM sharing the cache folder renamed its verified copy into place first.
            if error.errno not in (errno.ENOTEMPTY, errno.EEXIST) or not folder_matches(target, manifest):
                raise
        for older in cached.iterdir():
            if older != target and not older.name.startswith("."):
                shutil.rmtree(older, ignore_errors=True)  # an earlier attempt's copy under the same name
        return target


def _refused(model_name: str, reason: str, why: str) -> Refused:
    label = reason.replace("_", " ")
    return Refused(Refusal(reason=reason, sentence=f"modelport refused adapter {model_name!r} ({label}): {why}"))


def _is_cache_entry(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()
