"""The file policy: every listed key gets a class and an action (accept, ignore, reject) by its name,
before a single byte of it is read.

Only an allow-list of names is ever read or copied; everything else is either ignored and reported
(harmless leftovers and docs, never opened) or rejected (it signals executable content or a
mistake the user must see). The README's policy table is rendered from `POLICY_TABLE`
(`markdown_table`, see modelport.readme_tables).
"""

from __future__ import annotations

import fnmatch
import re
import unicodedata
from dataclasses import dataclass

from modelport.domain import reasons
from modelport.domain.jobs import WeightType
from modelport.domain.reasons import Reason
from modelport.storage.interface import ObjectEntry
from modelport.validation.findings import FileStatus

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
MODEL_CONFIG = "config.json"
GENERATION_CONFIG = "generation_config.json"
SINGLE_WEIGHTS = "model.safetensors"
SHARD_INDEX = "model.safetensors.index.json"

TOKENIZER_FILES = frozenset(
    {
        "tokenizer.json",
        "tokenizer_config.json",
        "vocab.json",
        "merges.txt",
        "special_tokens_map.json",
        "added_tokens.json",
        "chat_template.jinja",
        "chat_template.json",
    }
)
PROCESSOR_FILES = frozenset({"preprocessor_config.json", "video_preprocessor_config.json"})
# transformers reads additional_chat_templates/*.jinja as named templates (tokenization_utils_base.py#L1662-1668);
# vLLM reads hf_quant_config.json as the quantization of a model whose config.json has none.
EXTRA_TEMPLATES_DIR = "additional_chat_templates"
QUANT_CONFIG = "hf_quant_config.json"

# Names training frameworks (transformers Trainer, DeepSpeed, TRL) leave beside the result.
LEFTOVER_PATTERNS = (
    "optimizer.pt", "optimizer.bin", "optimizer_*.pt", "scheduler.pt", "scaler.pt",
    "rng_state.pth", "rng_state_*.pth", "training_args.bin", "trainer_state.json",
    "latest", "zero_to_fp32.py", "*_optim_states.pt", "*_model_states.pt",
    "all_results.json", "train_results.json", "eval_results.json", "events.out.tfevents.*",
)  # fmt: skip
DOC_PATTERNS = (
    "*.md", "*.txt", "*.rst", "license*", "notice*", "*.png", "*.jpg", "*.jpeg", "*.gif", "*.svg",
    ".gitattributes", ".gitignore", ".ds_store", "configuration.json", "additional_config.json",
)  # fmt: skip
PICKLE_SUFFIXES = (
    ".bin",
    ".pt",
    ".pth",
    ".ckpt",
    ".pkl",
    ".pickle",
    ".joblib",
    ".dill",
    ".npy",
    ".npz",
    ".mar",
)
CODE_SUFFIXES = (
    ".py", ".pyc", ".pyo", ".pyd", ".pyx", ".so", ".dylib", ".dll", ".exe", ".sh", ".bash", ".zsh",
    ".bat", ".cmd", ".ps1", ".ipynb", ".js", ".mjs", ".jar", ".rb", ".pl", ".lua", ".whl", ".elf",
)  # fmt: skip
ARCHIVE_SUFFIXES = (
    ".zip", ".tar", ".tgz", ".gz", ".bz2", ".xz", ".7z", ".rar", ".zst", ".lz4", ".tbz2", ".txz",
)  # fmt: skip
FOREIGN_FORMAT_SUFFIXES = (
    ".gguf", ".ggml", ".onnx", ".h5", ".hdf5", ".keras", ".msgpack", ".tflite", ".pb", ".tensors",
    ".mlmodel", ".engine", ".plan", ".nemo", ".pdparams",
)  # fmt: skip

_KNOWN_NAMES = {
    WeightType.LORA: frozenset({ADAPTER_CONFIG, ADAPTER_WEIGHTS} | TOKENIZER_FILES),
    WeightType.FULL: frozenset(
        {MODEL_CONFIG, GENERATION_CONFIG, SHARD_INDEX, SINGLE_WEIGHTS} | TOKENIZER_FILES | PROCESSOR_FILES
    ),
}
_SHARD_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}\.safetensors$")


@dataclass(frozen=True)
class Classified:
    key: str
    size: int
    kind: str
    status: FileStatus
    code: Reason | None = None
    reason: str | None = None


POLICY_TABLE: tuple[tuple[str, str, str], ...] = (
    ("weights", "adapter_model.safetensors (lora); model.safetensors or the shards model.safetensors.index.json "
     "names (full)", "accepted after strict parsing and every tensor checked against the base"),
    ("configs", "adapter_config.json (lora); config.json, generation_config.json, model.safetensors.index.json "
     "(full)", "accepted after schema checks and comparison with the base; any `auto_map` rejects the import"),
    ("tokenizer and chat template", ", ".join(sorted(TOKENIZER_FILES)) + "; for VL full imports also "
     + ", ".join(sorted(PROCESSOR_FILES)), "accepted when every key is one the loaders know and every value that "
     "changes tokenization equals the base's (public facts or the operator's reference; \"not compared\" where "
     "neither is known); a chat template must be one of the base's, line endings aside"),
    ("named chat templates", EXTRA_TEMPLATES_DIR + "/ (any case)", "rejected: transformers selects these "
     "templates for tool calls, so only the base's single template is accepted"),
    ("quantization config", QUANT_CONFIG + " (full)", "rejected: vLLM would serve the weights as quantized"),
    ("training leftovers", ", ".join(LEFTOVER_PATTERNS) + "; every subfolder (checkpoint-*/, global_step*/, "
     "runs/ ...) at any depth", "ignored and reported; never opened, never copied (folders are not descended into)"),
    ("docs", ", ".join(DOC_PATTERNS), "ignored and reported; never opened, never copied"),
    ("pickle", "*" + ", *".join(PICKLE_SUFFIXES) + " (other than the leftovers above)",
     "rejected: loading a pickle runs code; convert the weights to safetensors"),
    ("code", "*" + ", *".join(CODE_SUFFIXES), "rejected: model code is never imported or run"),
    ("archives", "*" + ", *".join(ARCHIVE_SUFFIXES), "rejected: archives are never extracted"),
    ("other weight formats", "*" + ", *".join(FOREIGN_FORMAT_SUFFIXES) + "; extra *.safetensors",
     "rejected: only the safetensors files the import uses may be present"),
    ("links and special files", "symbolic links, devices, FIFOs", "rejected: links are never followed"),
    ("unsafe names", "keys with '.' or '..' segments, empty segments, backslashes, control characters or bytes "
     "that are not UTF-8", "rejected"),
    ("names in the wrong case", "a name the loaders read, in another case (ADAPTER_MODEL.SAFETENSORS, "
     "Config.json, x.SAFETENSORS ...)", "rejected: loaders look for the exact name, so the file would be ignored"),
    ("anything else", "any other name", "ignored and reported; never opened, never copied"),
)  # fmt: skip


def markdown_table() -> str:
    rows = ["| class | names | action |", "|---|---|---|"]
    rows += [f"| {kind} | {_escape(names)} | {action} |" for kind, names, action in POLICY_TABLE]
    return "\n".join(rows) + "\n"


def _escape(names: str) -> str:
    return names.replace("*", "\\*")


def classify(entry: ObjectEntry, weight_type: WeightType) -> Classified:
    shown = display_key(entry.key)
    if entry.kind == "directory":
        if entry.key.rstrip("/").lower() == EXTRA_TEMPLATES_DIR:
            return _reject(
                entry, "tokenizer", reasons.TOKENIZER_EXTRA_TEMPLATES,
                f"{shown} adds named chat templates (e.g. tool_use) that transformers selects for tool calls, and "
                "the default template can disappear; only the base's single template is accepted. Remove the folder.",
            )  # fmt: skip
        return _ignore(entry, "folder", "a folder (checkpoints, logs ...): only top-level files are imported, and "
                       "folders are never opened")  # fmt: skip
    key = entry.key
    unsafe = unsafe_key_reason(key)
    if unsafe is not None:
        return _reject(entry, "unsafe_name", reasons.FILES_UNSAFE_NAME, f"{shown!r} {unsafe}; such names are refused.")
    if entry.kind != "file":
        what = "a symbolic link" if entry.kind == "symlink" else "not a regular file"
        return _reject(
            entry, "link", reasons.FILES_NOT_REGULAR, f"{shown} is {what}; links and special files are refused."
        )
    name = key
    lowered = name.lower()

    if _matches(lowered, LEFTOVER_PATTERNS):
        return _ignore(entry, "leftover", "a training leftover; never opened or copied")
    if lowered.endswith(CODE_SUFFIXES):
        return _reject(
            entry, "code", reasons.FILES_CODE,
            f"{name} is code; modelport never imports or runs code from an upload. Remove it "
            "(custom modeling code is not supported: the base architecture is used as is).",
        )  # fmt: skip
    if lowered.endswith(ARCHIVE_SUFFIXES):
        return _reject(
            entry, "archive", reasons.FILES_ARCHIVE,
            f"{name} is an archive; archives are never extracted. Upload the files themselves.",
        )  # fmt: skip
    if lowered.endswith(PICKLE_SUFFIXES):
        return _reject(
            entry, "pickle", reasons.FILES_PICKLE,
            f"{name} is a pickle-based file, which can run code when loaded; it is never loaded. "
            "Save the weights as safetensors (e.g. save_pretrained(..., safe_serialization=True)) "
            "and remove this file.",
        )  # fmt: skip
    if lowered.endswith(FOREIGN_FORMAT_SUFFIXES):
        return _reject(
            entry, "foreign_format", reasons.FILES_UNSUPPORTED_FORMAT,
            f"{name} is in a weight format modelport does not import; only safetensors are accepted.",
        )  # fmt: skip
    if weight_type == WeightType.LORA:
        return _classify_lora(entry, name)
    return _classify_full(entry, name)


def display_key(key: str) -> str:
    """`key` as it can be shown and stored: an undecodable byte of a local file name (which Python
    decodes to a lone surrogate) is written as its backslash escape, `\\xff`."""
    try:
        return key.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return key.encode("utf-8", "backslashreplace").decode("utf-8")


def _wrong_case(entry: ObjectEntry, name: str, weight_type: WeightType) -> Classified | None:
    """A name that differs from one the loaders read only in case: they look for the exact name
    (on Linux), so the file would be silently ignored where it is served."""
    known = _KNOWN_NAMES[weight_type]
    exact = next((k for k in known if k.lower() == name.lower()), None)
    if exact is None and name.lower().endswith(".safetensors") and not name.endswith(".safetensors"):
        exact = name[: -len(".safetensors")] + ".safetensors"
    if exact is None or exact == name:
        return None
    return _reject(
        entry, "wrong_case", reasons.FILES_NAME_CASE,
        f"{name} must be named {exact} exactly: loaders look for that name and would not find this file. "
        "Rename it.",
    )  # fmt: skip


def _classify_lora(entry: ObjectEntry, name: str) -> Classified:
    if (wrong := _wrong_case(entry, name, WeightType.LORA)) is not None:
        return wrong
    if name in (ADAPTER_CONFIG, ADAPTER_WEIGHTS):
        return _accept(entry, "config" if name.endswith(".json") else "weights")
    if name in TOKENIZER_FILES:
        return _accept(entry, "tokenizer")
    if name.endswith(".safetensors"):
        hint = (
            " It looks like full model weights: use weight_type 'full' for a full fine-tune."
            if name == SINGLE_WEIGHTS or name.startswith("model-")
            else ""
        )
        return _reject(
            entry, "foreign_format", reasons.FILES_UNEXPECTED_SAFETENSORS,
            f"{name} is not part of a LoRA adapter (only adapter_model.safetensors is).{hint}",
        )  # fmt: skip
    return _ignore_by_name(entry, name)


def _classify_full(entry: ObjectEntry, name: str) -> Classified:
    if (wrong := _wrong_case(entry, name, WeightType.FULL)) is not None:
        return wrong
    if name in (MODEL_CONFIG, GENERATION_CONFIG, SHARD_INDEX):
        return _accept(entry, "config")
    if name in TOKENIZER_FILES:
        return _accept(entry, "tokenizer")
    if name in PROCESSOR_FILES:
        return _accept(entry, "processor")
    if name.lower() == QUANT_CONFIG:
        return _reject(
            entry, "config", reasons.FULL_QUANTIZED,
            f"{name} declares quantized weights (vLLM reads it when config.json has no quantization_config); "
            "imports take unquantized weights only.",
        )  # fmt: skip
    if name.endswith(".safetensors"):
        if not _SHARD_NAME.match(name):
            return _reject(
                entry, "unsafe_name", reasons.FILES_UNSAFE_NAME,
                f"{name!r} is not a usable weights file name (letters, digits, '.', '_' and '-' only).",
            )  # fmt: skip
        return _accept(entry, "weights")
    return _ignore_by_name(entry, name)


def _ignore_by_name(entry: ObjectEntry, name: str) -> Classified:
    if _matches(name.lower(), DOC_PATTERNS):
        return _ignore(entry, "docs", "documentation; never opened or copied")
    return _ignore(entry, "other", "not used for serving; never opened or copied")


def unsafe_key_reason(key: str) -> str | None:
    """Why a key (relative to the prefix) could escape or confuse a filesystem, or None."""
    if not key or key.startswith("/"):
        return "is absolute"
    if "\\" in key:
        return "contains a backslash"
    if any(unicodedata.category(ch) == "Cc" for ch in key):
        return "contains control characters"
    if any(unicodedata.category(ch) == "Cs" for ch in key):
        return "is not valid UTF-8"
    if len(key.encode()) > 1024:
        return "is longer than 1024 bytes"
    segments = key.rstrip("/").split("/")
    if any(segment in (".", "..") for segment in segments):
        return "contains a '.' or '..' segment"
    if any(segment == "" for segment in segments):
        return "contains an empty path segment ('//')"
    return None


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def _accept(entry: ObjectEntry, kind: str) -> Classified:
    return Classified(key=entry.key, size=entry.size, kind=kind, status=FileStatus.ACCEPTED)


def _ignore(entry: ObjectEntry, kind: str, reason: str) -> Classified:
    return Classified(key=entry.key, size=entry.size, kind=kind, status=FileStatus.IGNORED, reason=reason)


def _reject(entry: ObjectEntry, kind: str, code: Reason, reason: str) -> Classified:
    return Classified(key=entry.key, size=entry.size, kind=kind, status=FileStatus.REJECTED, code=code, reason=reason)
