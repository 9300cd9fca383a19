"""The upload as the rules see it: what was listed, the small files parsed, the headers read.

Built by the pipeline (which does the I/O) and handed to the rule modules (which do none). Rules
answer with a `CopyPlan`: the files to copy and, per safetensors file, which tensors the single
copy pass must scan for NaN/Inf and for all-zero values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from modelport.catalog.catalog import BaseModel
from modelport.domain.jobs import WeightType
from modelport.storage.interface import ObjectVersion
from modelport.validation.file_policy import Classified
from modelport.validation.findings import Findings
from modelport.validation.safetensors import SafetensorsHeader


@dataclass(frozen=True)
class Upload:
    weight_type: WeightType
    base: BaseModel
    accepted: Mapping[str, Classified]  # top-level files the policy accepted, by name
    documents: Mapping[str, Any]  # parsed JSON of accepted .json files that parsed
    texts: Mapping[str, bytes]  # raw bytes of accepted small files (for comparisons with the base)
    headers: Mapping[str, SafetensorsHeader]  # strictly parsed headers of accepted .safetensors files

    def has(self, name: str) -> bool:
        return name in self.accepted


@dataclass(frozen=True)
class Pin:
    """What the copy must find again: the SHA-256 of a file's first `length` bytes as the rules read
    them (the whole of a small file, the 8 + N header bytes of a safetensors file), and the version
    and ETag the object store gave for it, when it gave any."""

    length: int
    sha256: str
    identity: ObjectVersion = field(default_factory=ObjectVersion)


@dataclass(frozen=True)
class CopyItem:
    name: str
    size: int
    header: SafetensorsHeader | None = None
    zero_check: frozenset[str] = frozenset()  # tensors whose being all-zero deserves a warning
    pin: Pin | None = None  # set by the inspection for every file a rule read


@dataclass(frozen=True)
class CopyPlan:
    items: tuple[CopyItem, ...] = ()
    summary: Mapping[str, Any] = field(default_factory=dict)

    @property
    def total_bytes(self) -> int:
        return sum(item.size for item in self.items)

    def names(self) -> frozenset[str]:
        return frozenset(item.name for item in self.items)


@dataclass
class RuleContext:
    upload: Upload
    findings: Findings

    @property
    def base_id(self) -> str:
        return self.upload.base.id
