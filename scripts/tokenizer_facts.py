"""Generate the builtin bases' tokenizer facts (src/modelport/catalog/builtin/tokenizers/<family>.json)
from the research file that collected them with their sources (qwen-tokenizer-facts.json).

Usage: .venv/bin/python scripts/tokenizer_facts.py /work/research/qwen-tokenizer-facts.json

Each fact keeps its value, its sources and one confidence level (high, medium or low). The research
file words its confidence per section ("high for normalizer/pre_tokenizer regex/model flags; medium
for the ByteLevel flags ... outside Qwen3-2507"); this script turns those sentences into one level
per fact, and says which level it chose in the fact's note. The gate compares facts of high and
medium confidence and reports the others as "not compared".
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "src/modelport/catalog/builtin/tokenizers"
FAMILY_FILES = {
    "Qwen2.5": "qwen2.5",
    "Qwen2.5-VL": "qwen2.5-vl",
    "Qwen3": "qwen3",
    "Qwen3-2507": "qwen3-instruct-2507",
    "Qwen3-VL": "qwen3-vl",
}
# The facts Qwen2Tokenizer builds in code for every Qwen model type (transformers 5
# models/qwen2/tokenization_qwen2.py#L36-98): an operator's Qwen base without reference files gets these.
PIPELINE = (
    "tokenizer.json:version",
    "tokenizer.json:truncation",
    "tokenizer.json:padding",
    "tokenizer.json:normalizer",
    "tokenizer.json:pre_tokenizer",
    "tokenizer.json:post_processor",
    "tokenizer.json:decoder",
    "tokenizer.json:model",
    "tokenizer_config.json:tokenizer_class",
)
FLAGS = ("special", "lstrip", "rstrip", "normalized", "single_word")


def fact(value: Any, confidence: str, sources: list[str], note: str = "") -> dict[str, Any]:
    entry: dict[str, Any] = {"value": value, "confidence": confidence, "sources": sources}
    if note:
        entry["note"] = note
    return entry


def family_facts(base: dict[str, Any]) -> dict[str, Any]:
    verbatim = base["family"] == "Qwen3-2507"  # the one family whose files were seen verbatim
    seen = "high" if verbatim else "medium"
    added = base["added_tokens"]
    tj = base["tokenizer_json"]
    tj_value = tj["value"]
    tc = base["tokenizer_config"]
    tc_value = tc["value"]
    byte_level_note = (
        "seen verbatim (WARPIO-Q3-2507)"
        if verbatim
        else "the ByteLevel flags were not seen verbatim for this family: " + tj["confidence"]
    )
    facts: dict[str, Any] = {
        "tokenizer.json:model.vocab.size": fact(
            base["bpe_vocab_size"]["value"], "high", base["bpe_vocab_size"]["sources"], base["bpe_vocab_size"]["note"]
        ),
        "added_tokens": fact(
            [{"id": t["id"], "content": t["content"]} for t in added["value"]],
            "high",
            added["sources"],
            f"{added['count']} tokens; {added['confidence']}",
        ),
        "added_tokens.flags": fact(
            [{"id": t["id"], **{flag: t[flag] for flag in FLAGS}} for t in added["value"]],
            seen,
            added["sources"],
            f"{added['flags_note']}; {added['flags_confidence']}",
        ),
    }
    for key in ("version", "truncation", "padding", "normalizer", "model"):
        facts[f"tokenizer.json:{key}"] = fact(tj_value[key], "high", tj["sources"])
    for key in ("pre_tokenizer", "post_processor", "decoder"):
        facts[f"tokenizer.json:{key}"] = fact(tj_value[key], seen, tj["sources"], byte_level_note)
    tc_sources = tc["sources"]
    facts["tokenizer_config.json:tokenizer_class"] = fact(
        tc_value["tokenizer_class"], "high", [*tc_sources, "TF-QWEN2TOK"], "transformers maps every Qwen type to it"
    )
    for key in ("eos_token", "pad_token", "bos_token", "unk_token"):
        facts[f"tokenizer_config.json:{key}"] = fact(
            tc_value[key], "high", tc_sources, "eos, pad, bos and unk agree in every source for every family"
        )
    for key in (
        "errors",
        "split_special_tokens",
        "add_prefix_space",
        "clean_up_tokenization_spaces",
        "add_bos_token",
        "additional_special_tokens",
    ):
        facts[f"tokenizer_config.json:{key}"] = fact(
            tc_value[key], seen, tc_sources, "seen verbatim (WARPIO-Q3-2507)" if verbatim else tc["confidence"]
        )
    mml = tc["model_max_length_confidence"]
    facts["tokenizer_config.json:model_max_length"] = fact(
        tc_value["model_max_length"], "high" if mml.startswith("high") else "low", tc_sources, mml
    )
    return facts


def main(argv: list[str]) -> int:
    research = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    families: dict[str, dict[str, Any]] = {}
    for base in research["bases"]:
        name = FAMILY_FILES[base["family"]]
        facts = family_facts(base)
        entry = families.setdefault(name, {"family": base["family"], "bases": [], "facts": facts})
        if entry["facts"] != facts:
            raise SystemExit(f"{base['base_id']}: its facts differ from the rest of family {base['family']}")
        entry["bases"].append(base["base_id"])
    OUT.mkdir(parents=True, exist_ok=True)
    for name, entry in sorted(families.items()):
        used = sorted({source for item in entry["facts"].values() for source in item["sources"]})
        document = {
            "_comment": "Public tokenizer facts for these builtin bases, each with its sources and confidence. "
            "Generated by scripts/tokenizer_facts.py from the research file qwen-tokenizer-facts.json; do not edit "
            "by hand. Facts of confidence 'low' are reported as 'not compared'; an operator's reference file for "
            "a base takes precedence over every fact it covers.",
            "family": entry["family"],
            "bases": entry["bases"],
            "pipeline": list(PIPELINE),
            "sources": {source: research["sources"][source] for source in used},
            "facts": entry["facts"],
        }
        path = OUT / f"{name}.json"
        path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {path.relative_to(OUT.parents[4])}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
