"""One oracle case end to end: build the folder, run the gate, run the real loaders, judge.

Imports torch (through loaders and facts): test modules reach it through the `oracle` fixture, so
they still collect, and skip with a message, when the `oracle` extra is not installed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from modelport.settings import Settings
from tests.support.oracle.cases import OracleCase, build
from tests.support.oracle.facts import full_facts, lora_facts
from tests.support.oracle.gate import run_gate, upload_folder
from tests.support.oracle.judge import Disagreement, Fact, GateVerdict, LoaderEvidence, judge
from tests.support.oracle.loaders import full_evidence, lora_evidence, quiet_libraries
from tests.support.oracle.uploads import TINY_BASES

quiet_libraries()


@dataclass(frozen=True)
class Outcome:
    case: OracleCase
    applied: tuple[str, ...]
    verdict: GateVerdict
    evidence: LoaderEvidence
    facts: tuple[Fact, ...]
    disagreements: list[Disagreement]

    def report(self) -> str:
        """Everything a reader needs to judge the case, for assertion messages."""
        evidence = {k: v for k, v in vars(self.evidence).items() if v not in ((), None, {}) and k != "read_files"}
        lines = [
            f"case {self.case.name}: {self.case.weight_type} on {self.case.base_id}, seed {self.case.seed!r}, "
            f"mutations {list(self.applied)}",
            f"gate: {self.verdict.status} {self.verdict.reason_code or ''} {self.verdict.error or ''}".rstrip(),
            f"gate warnings: {list(self.verdict.warnings)}",
            f"loader: {json.dumps(evidence, default=str)}",
            f"platform rules broken: {[f'{f.code}: {f.sentence}' for f in self.facts]}",
            "disagreements:",
            *(f"  - {d}" for d in self.disagreements),
        ]
        return "\n".join(lines)


def register_bases(settings: Settings) -> None:
    from modelport import samples

    for base_id, config in TINY_BASES.items():
        samples.register_base(settings.data_dir, base_id, config)


def run_case(settings: Settings, case: OracleCase) -> Outcome:
    """Build the case's folder, run the gate on it, then the real loaders, and judge."""
    prefix = f"{case.name}/"
    applied = build(case, upload_folder(settings, prefix))
    verdict = run_gate(settings, case.base_id, case.weight_type, prefix)
    evidence, facts = observe(settings, case)
    return Outcome(case, applied, verdict, evidence, facts, judge(verdict, evidence, facts))


def observe(settings: Settings, case: OracleCase) -> tuple[LoaderEvidence, tuple[Fact, ...]]:
    """What the real loaders do with the case's (already built) folder, and the rules it breaks."""
    folder = upload_folder(settings, f"{case.name}/")
    config = TINY_BASES[case.base_id]
    if case.weight_type == "lora":
        return lora_evidence(config, folder), lora_facts(folder)
    return full_evidence(config, folder), full_facts(folder, config)
