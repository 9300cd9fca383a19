"""`modelport sample ...`: write synthetic model folders to try an import without a GPU or a download."""

from __future__ import annotations

from pathlib import Path

import click

from modelport import samples
from modelport.catalog.catalog import BaseModel, CatalogError, load_catalog
from modelport.cli.startup import load_settings


def _base(base_id: str) -> BaseModel:
    settings = load_settings()
    try:
        base = load_catalog(settings.data_dir).get(base_id)
    except CatalogError as error:
        raise click.ClickException(str(error)) from None
    if base is None:
        raise click.BadParameter(f"{base_id!r} is not in the catalog (see `modelport base-models`).")
    return base


@click.group()
def sample() -> None:
    """Write synthetic, correctly shaped model folders (PEFT LoRA adapters, full checkpoints, tiny bases).

    \b
    Example: put an adapter for qwen3-8b into the embedded bucket 'my-bucket':
      modelport sample lora --base-model qwen3-8b --out ./modelport-data/buckets/my-bucket/models/my-lora/
    """


@sample.command("lora")
@click.option("--base-model", required=True, help="Catalog id of the base, e.g. qwen3-8b.")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder to write.")
@click.option("--rank", default=8, show_default=True, type=int, help="LoRA rank (imports accept 8, 16, 32, 64).")
@click.option("--targets", default="q_proj,v_proj", show_default=True, help="Comma-separated target modules.")
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed for the weights.")
def sample_lora(base_model: str, out: Path, rank: int, targets: str, seed: int) -> None:
    """A PEFT LoRA adapter: adapter_config.json, adapter_model.safetensors (F32), README.md."""
    base = _base(base_model)
    modules = [t.strip() for t in targets.split(",") if t.strip()]
    known = {name.rsplit(".", 1)[-1] for name in base.architecture.lora_modules()}
    unknown = sorted(set(modules) - known)
    if unknown:
        raise click.BadParameter(f"{', '.join(unknown)} not among {', '.join(sorted(known))}.", param_hint="--targets")
    written = samples.write_lora_adapter(out, base.id, base.architecture, rank=rank, targets=modules, seed=seed)
    total = sum(p.stat().st_size for p in written)
    click.echo(f"Wrote a rank-{rank} LoRA adapter for {base.id} to {out} ({len(written)} files, {total:,} bytes).")


@sample.command("full")
@click.option("--base-model", required=True, help="Catalog id of the base (a small operator base is advisable).")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder to write.")
@click.option("--shards", default=1, show_default=True, type=click.IntRange(1, 1000), help="Number of shards.")
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed for the weights.")
def sample_full(base_model: str, out: Path, shards: int, seed: int) -> None:
    """A full bf16 checkpoint: config.json and model.safetensors (or shards with their index)."""
    base = _base(base_model)
    written = samples.write_full_checkpoint(out, base.config, shards=shards, seed=seed)
    total = sum(p.stat().st_size for p in written)
    click.echo(f"Wrote a full checkpoint of {base.id} to {out} ({len(written)} files, {total:,} bytes).")


@sample.command("base")
@click.option("--id", "base_id", required=True, help="Id of the new base model, e.g. tiny-qwen3.")
@click.option("--model-type", type=click.Choice(["qwen3", "qwen2"]), default="qwen3", show_default=True)
@click.option("--hidden-size", default=64, show_default=True, type=int)
@click.option("--layers", default=2, show_default=True, type=int)
@click.option("--vocab-size", default=1024, show_default=True, type=int)
def sample_base(base_id: str, model_type: str, hidden_size: int, layers: int, vocab_size: int) -> None:
    """Register a tiny Qwen base in $MODELPORT_DATA_DIR/base_models/ (restart `serve` to load it)."""
    settings = load_settings()
    config = samples.tiny_base_config(
        model_type,
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=max(1, hidden_size // 16),
        num_key_value_heads=max(1, hidden_size // 32),
        vocab_size=vocab_size,
    )
    path = samples.register_base(settings.data_dir, base_id, config)
    try:
        load_catalog(settings.data_dir)
    except CatalogError as error:
        path.unlink()
        raise click.ClickException(str(error)) from None
    click.echo(f"Registered base model {base_id!r} at {path}.")


@sample.command("servable")
@click.option("--id", "base_id", default="tiny-qwen3", show_default=True, help="Id to register the base under.")
@click.option(
    "--base-out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder for the base."
)
@click.option(
    "--uploads-out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder for the uploads."
)
def sample_servable(base_id: str, base_out: Path, uploads_out: Path) -> None:
    """A tiny Qwen3 base that vLLM and transformers run on a CPU, registered in the catalog, and uploads for it.

    \b
    BASE_OUT: config.json, model.safetensors (float32), a trained byte-level BPE tokenizer: serve it as --model.
    UPLOADS_OUT/lora/          a rank-8 adapter that changes the base's output
    UPLOADS_OUT/full/          a full fine-tune with the base's tokenizer
    UPLOADS_OUT/smaller-base/  an adapter trained on a base half as wide: vLLM serves it, the gate refuses it
    UPLOADS_OUT/half-rows/     an adapter whose lora_B has half its rows: likewise
    """
    settings = load_settings()
    from modelport.serving import tiny_models

    try:
        config = tiny_models.write_base(base_out)
    except ImportError as error:
        raise click.ClickException(
            f"Training the tokenizer needs the tokenizers library ({error}); pip install 'modelport[vllm]'."
        ) from None
    path = tiny_models.register_servable_base(settings.data_dir, base_id, base_out)
    tiny_models.write_lora(uploads_out / "lora", base_id, config)
    tiny_models.write_full(uploads_out / "full", base_out)
    tiny_models.write_blind_spots(uploads_out, base_id, config)
    click.echo(f"Wrote the base {base_id!r} to {base_out} and registered it at {path} (restart `serve` to load it).")
    click.echo(f"Wrote uploads to {uploads_out}: lora/, full/, smaller-base/, half-rows/.")
