"""The catalog of base models an import may target.

Owns loading the eleven builtin DashScope bases (config.json files shipped as package data) and the
operator's bases under `<data_dir>/base_models/<id>/`, with their optional reference tokenizer and
template files. This is the only I/O in modelport.catalog. It never follows a symlink, never reads a
file past the cap decided before reading it, and never imports or runs model code: a config that
carries `auto_map` is refused. Anything wrong raises `CatalogError` naming the file, so the server
refuses to start rather than serve a half-loaded catalog.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Final

from modelport.catalog.architecture import Architecture, ArchitectureError
from modelport.catalog.tokenizer_facts import FactsError, TokenizerFacts, builtin_facts, pipeline_facts
from modelport.domain.jobs import WeightType
from modelport.limits import BASE_CONFIG_BYTES, BASE_OPTIONS_BYTES, BASE_REFERENCE_BYTES
from modelport.strict_json import JsonFileError, find_key, parse_json

BUILTIN_IDS: Final = (
    "qwen3-32b",
    "qwen3-14b",
    "qwen3-8b",
    "qwen3-4b-instruct-2507",
    "qwen3-vl-8b-instruct",
    "qwen2.5-72b-instruct",
    "qwen2.5-32b-instruct",
    "qwen2.5-14b-instruct",
    "qwen2.5-7b-instruct",
    "qwen2.5-vl-72b-instruct",
    "qwen2.5-vl-7b-instruct",
)
WEIGHT_TYPES: Final = frozenset(WeightType)

# Small JSON files whose top level is settings (not a token table), so a stray auto_map there
# would be code-loading configuration we must not bless as a reference.
_SETTINGS_JSON: Final = frozenset(
    {"tokenizer_config.json", "chat_template.json", "generation_config.json", "preprocessor_config.json"}
)
_TEXT_FILES: Final = frozenset({"chat_template.jinja", "merges.txt"})
_BASE_ID: Final = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")

_DIR_FLAGS: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK so a FIFO swapped in after the lstat cannot hang the open.
_FILE_FLAGS: Final = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


class CatalogError(Exception):
    """A base-model definition that cannot be loaded; the message names the file and the problem."""


@dataclass(frozen=True, eq=False)
class BaseModel:
    id: str
    architecture: Architecture
    config: Mapping[str, Any]
    weight_types: frozenset[WeightType]
    reference_files: Mapping[str, bytes]
    origin: str  # "builtin" | "data_dir"
    # Every official release of the base's chat template (builtin bases); an operator's reference
    # file, when present, takes precedence over these.
    official_chat_templates: tuple[str, ...] = ()
    # Public facts about the base's tokenizer (catalog/tokenizer_facts.py): every fact for a builtin
    # base, the model type's pipeline for an operator's. Reference files, when present, take precedence.
    tokenizer_facts: TokenizerFacts | None = None

    @property
    def has_reference_chat_template(self) -> bool:
        if self.official_chat_templates:
            return True
        if "chat_template.jinja" in self.reference_files or "chat_template.json" in self.reference_files:
            return True
        raw = self.reference_files.get("tokenizer_config.json")
        if raw is None:
            return False
        # Parsed at load time already, so this cannot fail; Qwen2.5/Qwen3 embed the template here.
        return bool(json.loads(raw).get("chat_template"))

    def summary(self) -> dict[str, Any]:
        arch = self.architecture
        vision = arch.vision
        return {
            "id": self.id,
            "model_type": arch.model_type,
            "architectures": list(arch.architectures),
            "hidden_size": arch.hidden_size,
            "intermediate_size": arch.intermediate_size,
            "num_hidden_layers": arch.num_hidden_layers,
            "num_attention_heads": arch.num_attention_heads,
            "num_key_value_heads": arch.num_key_value_heads,
            "head_dim": arch.head_dim,
            "vocab_size": arch.vocab_size,
            "tie_word_embeddings": arch.tie_word_embeddings,
            "vision": None
            if vision is None
            else {
                "kind": vision.kind,
                "depth": vision.depth,
                "hidden_size": vision.hidden_size,
                "out_hidden_size": vision.out_hidden_size,
            },
            "parameter_count": arch.parameter_count(),
            "weight_types": sorted(weight_type.value for weight_type in self.weight_types),
            "origin": self.origin,
            "has_reference_chat_template": self.has_reference_chat_template,
        }


class Catalog:
    def __init__(self, bases: Iterable[BaseModel]) -> None:
        self._bases = {base.id: base for base in bases}

    def get(self, base_id: str) -> BaseModel | None:
        return self._bases.get(base_id)

    def all(self) -> list[BaseModel]:
        return [self._bases[base_id] for base_id in sorted(self._bases)]


def load_catalog(data_dir: Path | None) -> Catalog:
    """The builtin bases, then `<data_dir>/base_models/*` augmenting, replacing or adding to them."""
    bases = {base_id: _load_builtin(base_id) for base_id in BUILTIN_IDS}
    if data_dir is not None:
        for base in _load_operator_bases(data_dir, bases):
            bases[base.id] = base
    return Catalog(bases.values())


def _load_builtin(base_id: str) -> BaseModel:
    shown = f"modelport/catalog/builtin/{base_id}/config.json"
    resource = resources.files("modelport.catalog").joinpath("builtin", base_id, "config.json")
    try:
        raw = resource.read_bytes()
    except OSError as exc:
        raise CatalogError(f"{shown}: cannot be read ({exc}); the modelport package is incomplete.") from exc
    config, architecture = _parse_base_config(raw, shown)
    try:
        facts = builtin_facts(base_id)
    except FactsError as exc:
        raise CatalogError(str(exc)) from exc
    if facts is None:
        raise CatalogError(f"{base_id}: has no tokenizer facts; the modelport package is incomplete.")
    return BaseModel(
        id=base_id,
        architecture=architecture,
        config=config,
        weight_types=WEIGHT_TYPES,
        reference_files={},
        origin="builtin",
        official_chat_templates=_official_chat_templates(base_id),
        tokenizer_facts=facts,
    )


def _official_chat_templates(base_id: str) -> tuple[str, ...]:
    folder = resources.files("modelport.catalog").joinpath("builtin", "chat_templates")
    index = json.loads(folder.joinpath("index.json").read_text(encoding="utf-8"))
    return tuple(folder.joinpath(name).read_text(encoding="utf-8") for name in index.get(base_id, []))


def _load_operator_bases(data_dir: Path, builtins: Mapping[str, BaseModel]) -> list[BaseModel]:
    root = data_dir / "base_models"
    # data_dir is the operator's own setting and may itself be a symlink; nothing below it may.
    try:
        data_fd = os.open(data_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise CatalogError(f"{data_dir}: cannot be opened as the data directory ({exc.strerror}).") from exc
    try:
        root_fd = _open_dir(data_fd, "base_models", root)
    finally:
        os.close(data_fd)
    if root_fd is None:
        return []
    try:
        names = sorted(os.listdir(root_fd))
        return [_load_operator_base(root_fd, name, root / name, builtins) for name in names]
    finally:
        os.close(root_fd)


def _load_operator_base(root_fd: int, name: str, shown: Path, builtins: Mapping[str, BaseModel]) -> BaseModel:
    if not _BASE_ID.fullmatch(name):
        raise CatalogError(f"{shown}: {name!r} is not a valid base model id; ids match [a-z0-9][a-z0-9._-]{{0,62}}.")
    dir_fd = _open_dir(root_fd, name, shown)
    if dir_fd is None:
        raise CatalogError(f"{shown}: disappeared while the catalog was loading.")
    try:
        config_raw = _read_file(dir_fd, "config.json", BASE_CONFIG_BYTES, shown / "config.json")
        weight_types = _read_options(dir_fd, shown / "modelport.json")
        references = _read_references(dir_fd, shown)
    finally:
        os.close(dir_fd)
    if config_raw is None:
        builtin = builtins.get(name)
        if builtin is None:
            raise CatalogError(
                f"{shown}: has no config.json, and {name!r} is not a builtin base whose reference files "
                "it could add to."
            )
        return dataclasses.replace(
            builtin,
            reference_files={**builtin.reference_files, **references},
            weight_types=weight_types or builtin.weight_types,
        )
    config, architecture = _parse_base_config(config_raw, str(shown / "config.json"))
    try:
        facts = pipeline_facts(architecture.model_type)
    except FactsError as exc:
        raise CatalogError(str(exc)) from exc
    return BaseModel(
        id=name,
        architecture=architecture,
        config=config,
        weight_types=weight_types or WEIGHT_TYPES,
        reference_files=references,
        origin="data_dir",
        tokenizer_facts=facts,
    )


def _parse_base_config(raw: bytes, shown: str) -> tuple[dict[str, Any], Architecture]:
    config = _parse_json_object(raw, shown)
    if _has_auto_map(config):
        raise CatalogError(
            f"{shown}: has an auto_map key, which would make loaders run the model's own code; "
            "modelport never does, so remove it."
        )
    try:
        return config, Architecture.from_config(config)
    except ArchitectureError as exc:
        raise CatalogError(f"{shown}: {exc}") from exc


def _read_options(dir_fd: int, shown: Path) -> frozenset[WeightType] | None:
    raw = _read_file(dir_fd, "modelport.json", BASE_OPTIONS_BYTES, shown)
    if raw is None:
        return None
    options = _parse_json_object(raw, str(shown))
    unknown = sorted(set(options) - {"weight_types"})
    if unknown:
        raise CatalogError(f"{shown}: unknown key(s) {', '.join(unknown)}; the only key is weight_types.")
    value = options.get("weight_types")
    if not isinstance(value, list) or not value or not all(v in WeightType.values() for v in value):
        allowed = " and/or ".join(f'"{v}"' for v in WeightType.values())
        raise CatalogError(f"{shown}: weight_types must be a non-empty list of {allowed}; found {value!r:.60}.")
    return frozenset(WeightType(v) for v in value)


def _read_references(dir_fd: int, shown: Path) -> dict[str, bytes]:
    references: dict[str, bytes] = {}
    for name, cap in BASE_REFERENCE_BYTES.items():
        raw = _read_file(dir_fd, name, cap, shown / name)
        if raw is None:
            continue
        _check_reference(name, raw, str(shown / name))
        references[name] = raw
    return references


def _check_reference(name: str, raw: bytes, shown: str) -> None:
    """Reject reference bytes no loader would accept, so a bad reference cannot bless uploads."""
    if name in _TEXT_FILES:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CatalogError(f"{shown}: is not UTF-8 text ({exc.reason} at byte {exc.start}).") from exc
    elif name in _SETTINGS_JSON:
        if "auto_map" in _parse_json_object(raw, shown):
            raise CatalogError(f"{shown}: has an auto_map key, which makes loaders run remote code.")
    elif name.endswith(".json"):
        # tokenizer.json, vocab.json, special_tokens_map.json, added_tokens.json: the tokenizer rules
        # compare uploads with their values, so one that does not parse fails here, at startup.
        _parse_json_object(raw, shown)


def _parse_json_object(raw: bytes, shown: str) -> dict[str, Any]:
    try:
        value = parse_json(raw)
    except JsonFileError as exc:
        raise CatalogError(f"{shown}: {exc}.") from exc
    if not isinstance(value, dict):
        raise CatalogError(f"{shown}: must hold a JSON object; found {type(value).__name__}.")
    return value


def _has_auto_map(value: object) -> bool:
    return find_key(value, "auto_map") is not None


def _open_dir(parent_fd: int, name: str, shown: Path) -> int | None:
    """An fd for directory `name` under `parent_fd`, refusing symlinks; None if it does not exist."""
    try:
        info = os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CatalogError(f"{shown}: cannot be inspected ({exc.strerror}).") from exc
    if stat.S_ISLNK(info.st_mode):
        raise CatalogError(f"{shown}: is a symbolic link; base model folders must be real directories.")
    if not stat.S_ISDIR(info.st_mode):
        raise CatalogError(f"{shown}: is not a directory.")
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
    except OSError as exc:
        raise CatalogError(f"{shown}: cannot be opened ({exc.strerror}).") from exc


def _read_file(dir_fd: int, name: str, cap: int, shown: Path) -> bytes | None:
    """A regular file's bytes, at most `cap` of them; None if absent. Symlinks are refused."""
    try:
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CatalogError(f"{shown}: cannot be inspected ({exc.strerror}).") from exc
    if stat.S_ISLNK(info.st_mode):
        raise CatalogError(f"{shown}: is a symbolic link; reference files must be regular files.")
    if not stat.S_ISREG(info.st_mode):
        raise CatalogError(f"{shown}: is not a regular file.")
    if info.st_size > cap:
        raise CatalogError(f"{shown}: is {info.st_size} bytes, over the {cap}-byte limit for this file.")
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        raise CatalogError(f"{shown}: cannot be opened ({exc.strerror}).") from exc
    with os.fdopen(fd, "rb") as handle:
        # Checked again on the open file, and read one byte past the cap, because the path may
        # have been swapped or grown since the lstat.
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise CatalogError(f"{shown}: is not a regular file.")
        data = handle.read(cap + 1)
    if len(data) > cap:
        raise CatalogError(f"{shown}: is over the {cap}-byte limit for this file.")
    return data
