"""The README's config.json table, rendered from the same declarations the rules use.

config.json is read through up to three config classes per model (the top level, `text_config`,
`vision_config`), and the four Qwen families share most keys, so the table merges the documents:
one row per key and rule, naming the config classes a row is limited to.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from modelport.validation.config_keys import ConfigDocument, KeyRule
from modelport.validation.model_config import FAMILIES
from modelport.validation.model_config_keys import ARCHITECTURES, GENERATION_KEYS, MODEL_TYPE, CommonKeys

_UNKNOWN = (
    "| any other key | refused | not a field of the config class: set as an attribute, and both stacks read "
    "attributes generically (`is_causal: false` makes attention bidirectional, `transformers_weights` loads "
    "another file); accepted only when the base's own config.json carries it with the same value | "
    "T configuration_utils.py#L376-383, masking_utils.py#L918; V models/qwen2.py#L249-263, qwen3.py#L197-209 |"
)


def markdown_table() -> str:
    texts = [family.text for family in FAMILIES.values()]
    tops = [family.top for family in FAMILIES.values()]
    visions = [family.vision for family in FAMILIES.values() if family.vision is not None]
    common = frozenset(CommonKeys.rules())
    top_only = (ARCHITECTURES, MODEL_TYPE)
    decoder = {key for document in texts for key, rule in document.rules().items() if rule not in top_only}
    sections: list[tuple[str, Sequence[type[ConfigDocument]], Callable[[str, KeyRule], bool]]] = [
        ("Every config class (the top level, `text_config`, `vision_config`)", [CommonKeys],
         lambda key, _: key not in GENERATION_KEYS),
        ("The text decoder: the top level of `Qwen2Config` and `Qwen3Config` (and of Qwen2.5-VL's original flat "
         "layout), `text_config` of the VL configs", texts,
         lambda key, rule: key not in common and rule not in top_only),
        ("The top level", tops,
         lambda key, rule: key not in common and (key not in decoder or rule in top_only)),
        ("`vision_config`", visions, lambda key, _: key not in common),
    ]  # fmt: skip
    parts = [_section(title, documents, shown) for title, documents, shown in sections]
    parts.append(
        f"The {len(GENERATION_KEYS)} sampling keys of GenerationConfig "
        f"({', '.join(f'`{key}`' for key in sorted(GENERATION_KEYS)[:6])}, ...) are inert in config.json: "
        "transformers drops them when it loads the config (T configuration_utils.py#L359-360), and the report "
        "warns that they belong in generation_config.json.\n"
    )
    return "\n".join(parts)


def _section(title: str, documents: Sequence[type[ConfigDocument]], shown: Callable[[str, KeyRule], bool]) -> str:
    # Keyed by the rule object: documents share a rule by inheriting the field or reusing a constant.
    rows: dict[tuple[str, int], tuple[KeyRule, list[str]]] = {}
    for document in documents:
        for key, rule in document.rules().items():
            if shown(key, rule):
                rows.setdefault((key, id(rule)), (rule, []))[1].append(_name(document))
    everywhere = {_name(document) for document in documents}
    lines = [f"**{title}**\n", "| key | decision | what the loaders do | where |", "|---|---|---|---|"]
    for (key, _), (rule, classes) in sorted(rows.items(), key=lambda item: (item[0][0], item[1][1])):
        limited = "" if set(classes) == everywhere else f" ({', '.join(classes)})"
        lines.append(f"| `{key}`{limited} | {rule.decision.value} | {_cell(rule.engines)} | {_cell(rule.cite)} |")
    lines.append(_UNKNOWN)
    return "\n".join(lines) + "\n"


def _name(document: type[ConfigDocument]) -> str:
    return str(getattr(document, "CONFIG_CLASS", document.__name__))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
