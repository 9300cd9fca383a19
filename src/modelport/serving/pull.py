"""`modelport pull`: a published model, LoRA or full, from any model-store backend into a local
folder that any serving engine can load with no modelport code on its side (`vllm serve DIR`,
SGLang, TGI, transformers). The folder appears only once every file verified against the manifest.
"""

from __future__ import annotations

from pathlib import Path

from modelport.serving.manifest import Manifest, ManifestError, read_manifest
from modelport.serving.verified_copy import BytesSink, VerificationFailed, copy_verified
from modelport.storage.interface import ModelStore, StorageError


class PullFailed(Exception):
    """Nothing was written; the message says why."""


class DestinationNotEmpty(PullFailed):
    pass


def find_model(store: ModelStore, model_name: str) -> Manifest:
    try:
        manifest = read_manifest(store, model_name)
    except (ManifestError, StorageError) as error:
        raise PullFailed(str(error)) from None
    if manifest is None:
        raise PullFailed(
            f"No published model named {model_name!r} in the model store {store.location(model_name)} "
            "(never imported, its import did not succeed, or deleted)."
        )
    return manifest


def check_destination(destination: Path) -> None:
    if destination.is_symlink() or (destination.exists() and (not destination.is_dir() or any(destination.iterdir()))):
        raise DestinationNotEmpty(f"{destination} exists and is not an empty folder; pull into a new folder.")


def pull_model(store: ModelStore, manifest: Manifest, destination: Path, on_bytes: BytesSink | None = None) -> None:
    check_destination(destination)
    try:
        copy_verified(store, manifest, destination, on_bytes=on_bytes)
    except VerificationFailed as error:
        raise PullFailed(str(error)) from None
    except StorageError as error:
        raise PullFailed(f"The model store could not be read: {error}") from None
