"""Oracle cases: a base, a weight type, a seed and the names of the mutations to apply, so a case is
a few words that rebuild the same folder byte for byte. Random cases come from a seed; regression
cases (regressions.py) are written out by hand with the mutations that once made the gate wrong.

Seeds: MODELPORT_ORACLE_SEEDS ("0", "3,7" or "0-19"; default "0") and, per seed,
MODELPORT_ORACLE_CASES cases of each weight type (default 100 LoRA, 50 full).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.support.oracle.full_mutations import FULL_BY_NAME, FULL_MUTATIONS
from tests.support.oracle.lora_mutations import LORA_BY_NAME, LORA_MUTATIONS
from tests.support.oracle.uploads import FULL_BASES, LORA_BASES, valid_full, valid_lora

DEFAULT_SEEDS = "0"
DEFAULT_LORA_CASES = 100


@dataclass(frozen=True)
class OracleCase:
    name: str
    weight_type: str  # "lora" or "full"
    base_id: str
    seed: str  # seeds the valid draft and every mutation
    mutations: tuple[str, ...] = ()

    def rngs(self) -> tuple[random.Random, np.random.Generator]:
        digest = hashlib.sha256(self.seed.encode()).digest()
        return random.Random(digest), np.random.default_rng(int.from_bytes(digest[:8], "little"))


def build(case: OracleCase, folder: Path) -> tuple[str, ...]:
    """Write the case's upload into `folder`; returns the mutations that applied (a mutation that
    does not fit the draft it meets, e.g. dropping a layer-1 tensor from a layer-0 adapter, is skipped)."""
    rng, values = case.rngs()
    applied: list[str] = []
    if case.weight_type == "lora":
        lora = valid_lora(case.base_id, rng, values)
        for name in case.mutations:
            try:
                LORA_BY_NAME[name].apply(lora, rng)
                applied.append(name)
            except (IndexError, KeyError, StopIteration, ValueError):
                continue
        lora.write(folder)
    else:
        full = valid_full(case.base_id, rng, values)
        for name in case.mutations:
            try:
                FULL_BY_NAME[name].apply(full, rng)
                applied.append(name)
            except (IndexError, KeyError, StopIteration, ValueError):
                continue
        full.write(folder)
    return tuple(applied)


def random_cases(seed: int, lora: int, full: int) -> list[OracleCase]:
    """`lora` + `full` cases for `seed`: a valid upload and zero to three mutations each."""
    cases: list[OracleCase] = []
    for weight_type, count, bases, names in (
        ("lora", lora, LORA_BASES, [m.name for m in LORA_MUTATIONS]),
        ("full", full, FULL_BASES, [m.name for m in FULL_MUTATIONS]),
    ):
        for number in range(count):
            case_seed = f"{seed}-{weight_type}-{number}"
            rng = random.Random(case_seed)
            picked = rng.choices((0, 1, 2, 3), weights=(15, 55, 25, 5))[0]
            cases.append(
                OracleCase(
                    name=f"s{seed}-{weight_type}-{number:03d}",
                    weight_type=weight_type,
                    base_id=rng.choice(bases),
                    seed=case_seed,
                    mutations=tuple(rng.sample(names, picked)),
                )
            )
    return cases


def seeds_from(environ: Mapping[str, str]) -> list[int]:
    raw = environ.get("MODELPORT_ORACLE_SEEDS", DEFAULT_SEEDS).replace(" ", "")
    seeds: list[int] = []
    for part in filter(None, raw.split(",")):
        low, _, high = part.partition("-")
        seeds += range(int(low), int(high or low) + 1)
    return seeds


def cases_from(environ: Mapping[str, str]) -> list[OracleCase]:
    lora = int(environ.get("MODELPORT_ORACLE_CASES", DEFAULT_LORA_CASES))
    return [case for seed in seeds_from(environ) for case in random_cases(seed, lora, lora // 2)]
