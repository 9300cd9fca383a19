"""`modelport pull` and `modelport verify-serving`: an imported model out of the model store, verified,
into a folder any engine loads, and the proof that it loads and acts on its base in a real engine.

Both read the model store the workers write (the same MODELPORT_DATA_DIR / MODELPORT_CONFIG) through
its protocol only, and exit 0 only when every file verified (and, for the proof, the proof passed).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import click

from modelport.cli.exits import ExitCode, refuse
from modelport.cli.render import format_bytes
from modelport.cli.startup import load_settings
from modelport.serving.load_proof import (
    DEFAULT_PROMPT,
    ENGINES,
    EngineMissing,
    ProofReport,
    choose_engine,
    run_engine,
)
from modelport.serving.manifest import Manifest
from modelport.serving.pull import DestinationNotEmpty, PullFailed, check_destination, find_model, pull_model
from modelport.storage.config import StorageConfigError, build_storage
from modelport.storage.interface import ModelStore


def _model_store() -> ModelStore:
    try:
        return build_storage(load_settings()).model_store
    except StorageConfigError as error:
        raise click.ClickException(str(error)) from None


@click.command("pull")
@click.argument("model_name")
@click.argument("destination", type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (no progress bar).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def pull_command(model_name: str, destination: Path, as_json: bool, quiet: bool) -> None:
    """Copy the imported model MODEL_NAME into the new folder DESTINATION, verifying every file.

    Every file's size and SHA-256 is checked against the import's manifest while it is copied; the
    folder appears only once all of it verified (exit 0), else nothing is left (exit 1). A full import
    pulled this way is served by any engine with no modelport code, e.g. `vllm serve DESTINATION`.

    \b
    Example:
      modelport pull qwen3-8b-offline-20261128-k2x9 ./served/my-model
    """
    store = _model_store()
    try:
        check_destination(destination)
        manifest = find_model(store, model_name)
    except DestinationNotEmpty as error:
        refuse(ExitCode.USAGE, "DestinationNotEmpty", str(error), as_json=as_json)
    except PullFailed as error:
        refuse(ExitCode.API_ERROR, "NotFound", str(error), as_json=as_json)
    try:
        with _progress(manifest, enabled=not (as_json or quiet) and sys.stderr.isatty()) as on_bytes:
            pull_model(store, manifest, destination, on_bytes)
    except PullFailed as error:
        refuse(ExitCode.API_ERROR, "VerificationFailed", str(error), as_json=as_json)
    if as_json:
        document = {
            "model_name": manifest.model_name,
            "base_model": manifest.base_model,
            "weight_type": manifest.weight_type,
            "destination": str(destination.absolute()),
            "files": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in manifest.files],
            "total_bytes": manifest.total_bytes,
            "verified": True,
        }
        click.echo(json.dumps(document, indent=2))
        return
    click.echo(
        f"Pulled {manifest.model_name} ({manifest.weight_type} import of {manifest.base_model}) into {destination}: "
        f"{len(manifest.files)} files, {format_bytes(manifest.total_bytes)}, every SHA-256 verified."
    )


@contextlib.contextmanager
def _progress(manifest: Manifest, *, enabled: bool) -> Iterator[Any]:
    if not enabled:
        yield None
        return
    with click.progressbar(
        length=manifest.total_bytes, label=f"Pulling {manifest.model_name}", file=sys.stderr, show_pos=False
    ) as bar:
        yield bar.update


@click.command("verify-serving")
@click.option("--model-name", required=True, help="The import's model_name.")
@click.option(
    "--base",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder of the base model (what the engine serves as --model).",
)
@click.option("--engine", type=click.Choice(ENGINES), help="Default: vllm if installed, else transformers.")
@click.option("--prompt", default=DEFAULT_PROMPT, show_default=True, help="Text the greedy tokens continue.")
@click.option("--max-tokens", default=8, show_default=True, type=click.IntRange(1, 64))
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON document.")
def verify_serving_command(
    model_name: str, base: Path, engine: str | None, prompt: str, max_tokens: int, as_json: bool
) -> None:
    """Load the imported model MODEL_NAME on its base in a real engine and report what happened.

    The model is pulled and verified first. An adapter is loaded with the engine's own LoRA loading
    and a few greedy tokens are generated with and without it: the proof passes when it loaded, every
    adapter tensor bound to a module of the base and fills it exactly, and the output moved. A full
    model is loaded as is and must generate. Exit 0 when the proof passed, 1 when not.

    \b
    Example:
      modelport verify-serving --model-name qwen3-8b-offline-20261128-k2x9 --base ./Qwen3-8B --engine vllm
    """
    store = _model_store()
    try:
        manifest = find_model(store, model_name)
        chosen = choose_engine(engine)
    except (PullFailed, EngineMissing) as error:
        _fail_proof(model_name, str(error), as_json=as_json)
    with tempfile.TemporaryDirectory(prefix="modelport-proof-") as scratch:
        folder = Path(scratch) / manifest.model_name
        try:
            pull_model(store, manifest, folder)
        except PullFailed as error:
            _fail_proof(model_name, str(error), as_json=as_json)
        with _stdout_to_stderr():
            outcome = run_engine(chosen, base.absolute(), folder, manifest, prompt, max_tokens)
    report = ProofReport(manifest=manifest, base=base.absolute(), outcome=outcome)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        for line in _report_lines(report):
            click.echo(line)
    raise click.exceptions.Exit(ExitCode.OK if report.passed else ExitCode.API_ERROR)


def _fail_proof(model_name: str, sentence: str, *, as_json: bool) -> NoReturn:
    if as_json:
        click.echo(json.dumps({"model_name": model_name, "passed": False, "sentence": sentence}, indent=2))
    else:
        click.echo(f"Error: {sentence}", err=True)
    raise click.exceptions.Exit(ExitCode.API_ERROR)


def _report_lines(report: ProofReport) -> list[str]:
    document = report.to_json()

    def answer(value: bool | None) -> str:
        return "n/a" if value is None else "yes" if value else "no"

    lines = [
        f"Model:   {document['model_name']} ({document['weight_type']} import of {document['base_model']}); "
        f"{document['verified_files']} files verified",
        f"Engine:  {document['engine']} on {document['base']}",
        f"Loaded:  {answer(document['loaded'])}" + (f" ({document['error']})" if document["error"] else ""),
    ]
    if document["weight_type"] == "lora":
        lines.append(f"Every adapter tensor bound: {answer(document['every_tensor_bound'])}")
        lines.extend(f"  unbound: {entry}" for entry in document["unbound"][:5])
        lines.append(f"Output moved: {answer(document['output_moved'])}")
        lines.append(f"  base tokens:    {document['base_tokens']}")
    lines.append(f"  model tokens:   {document['model_tokens']}")
    lines.append(("PASSED: " if document["passed"] else "FAILED: ") + document["sentence"])
    return lines


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Engines log to stdout (vLLM by default, C extensions directly): keep stdout for the report."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
