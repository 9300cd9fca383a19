"""The oracle's rules: given the gate's verdict, what the real loaders did with the same folder, and
the platform rules the folder breaks, list every disagreement.

Pure (no torch, no I/O), so its own tests can feed it a gate that accepts everything or refuses
everything and check that it objects.

- Accepted ⇒ the real loader read every byte the way serving will: no exception, every tensor bound
  unchanged, nothing missing, no base weight touched, no PEFT variant, finite outputs that change
  (or a gate warning saying they do not), the serving reference computing the same logits, every
  file the loader read published byte for byte, and no platform rule broken.
- Wherever the loader fails, skips or alters a tensor, the gate FAILED; wherever it only warns (or,
  for full weights, computes differently from the base architecture), the gate FAILED or warned.
- Refused ⇒ something above went wrong or a platform rule is broken: a refusal of an upload that
  loads, binds, changes the outputs and serves exactly as trained is a disagreement too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class GateVerdict:
    status: str  # "SUCCESSED" or "FAILED"
    reason_code: str | None
    error: str | None  # the job's sentence
    errors: tuple[str, ...]  # reason codes of error findings
    warnings: tuple[str, ...]  # reason codes of warning findings
    published: Mapping[str, str] = field(default_factory=dict)  # path -> sha256 of every published file

    @property
    def accepted(self) -> bool:
        return self.status == "SUCCESSED"


@dataclass(frozen=True)
class Fact:
    """A platform rule the upload breaks, measured from the folder (not from the gate)."""

    code: str
    sentence: str


@dataclass(frozen=True)
class LoaderEvidence:
    """What the real libraries did with the folder. Each tuple holds sentences for the report."""

    kind: str  # "lora" or "full"
    error: str | None = None  # exception raised while reading, loading or running the model
    warnings: tuple[str, ...] = ()  # Python warnings and log records >= WARNING not judged inert
    skipped: tuple[str, ...] = ()  # file tensors the loaded model does not hold (dropped or renamed)
    altered: tuple[str, ...] = ()  # file tensors whose loaded value differs from the file's
    into_base: tuple[str, ...] = ()  # file tensors loaded into a parameter that is not a LoRA matrix (LoRA)
    missing: tuple[str, ...] = ()  # parameters the file should set and does not
    base_changed: tuple[str, ...] = ()  # base-model parameters the adapter overwrote (LoRA)
    variants: tuple[str, ...] = ()  # modules PEFT runs as a LoRA variant (DoRA, KaSA, ...), not plain LoRA
    logits_finite: bool = True
    logits_changed: bool = True  # LoRA: the adapter changes the base model's logits
    serving: str | None = None  # why the serving reference disagrees with the loader, or None
    read_files: Mapping[str, str] = field(default_factory=dict)  # files the loader read -> sha256

    @property
    def breaks(self) -> tuple[str, ...]:
        """Sentences for what the loader did that no accepted upload may make it do."""
        found: list[str] = []
        if self.error is not None:
            found.append(f"the loader raised {self.error}")
        found += [f"the loader skipped {name}" for name in self.skipped]
        found += [f"the loader altered {name}" for name in self.altered]
        found += [f"the loader wrote {name}, not a LoRA parameter" for name in self.into_base]
        found += [f"the loader left {name} unset" for name in self.missing]
        found += [f"loading changed the base weight {name}" for name in self.base_changed]
        found += [f"PEFT runs {name} as a LoRA variant" for name in self.variants]
        if not self.logits_finite:
            found.append("the loaded model's logits are not finite")
        return tuple(found)

    @property
    def clean(self) -> bool:
        return not self.breaks and not self.warnings and self.serving is None and self.logits_changed


@dataclass(frozen=True)
class Disagreement:
    rule: str  # a stable name: accepted-broken, accepted-warned, accepted-serves-differently, ...
    detail: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.detail}"


def judge(verdict: GateVerdict, evidence: LoaderEvidence, facts: tuple[Fact, ...]) -> list[Disagreement]:
    found: list[Disagreement] = []
    warned = bool(verdict.warnings)
    if verdict.accepted:
        found += [Disagreement("accepted-broken", sentence) for sentence in evidence.breaks]
        if evidence.warnings and not warned:
            found += [Disagreement("accepted-warned", f"the loader warned: {w}") for w in evidence.warnings]
        if evidence.serving is not None and (evidence.kind == "lora" or not warned):
            found.append(Disagreement("accepted-serves-differently", evidence.serving))
        if not evidence.logits_changed and not warned:
            found.append(
                Disagreement("accepted-no-op", "the adapter leaves the logits unchanged and the gate is silent")
            )
        found += [Disagreement("accepted-policy", f"{fact.code}: {fact.sentence}") for fact in facts]
        for name, digest in sorted(evidence.read_files.items()):
            if verdict.published.get(name) != digest:
                found.append(
                    Disagreement(
                        "accepted-unpublished", f"{name}, which the loader reads, was not published as uploaded"
                    )
                )
    elif evidence.clean and not facts:
        found.append(
            Disagreement(
                "refused-clean",
                f"the gate refused ({verdict.reason_code}: {verdict.error}) an upload that loads, binds every "
                "tensor unchanged, changes the logits and serves as it loads",
            )
        )
    return found
