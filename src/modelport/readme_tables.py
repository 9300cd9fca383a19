"""The README's generated tables, rendered from the definitions the code itself uses: the reason
codes (`domain.reasons`), the file policy (`validation.file_policy`) and, per config file, every
key with its decision (the `ConfigDocument` models of `validation`).

Each table sits between `<!-- table:NAME -->` and `<!-- /table:NAME -->` in README.md.
`python -m modelport.readme_tables README.md` rewrites them in place; `tests/unit/test_readme_tables.py`
fails when the README is stale, so the documentation cannot drift from the code.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from modelport.domain.reasons import markdown_table as reason_table
from modelport.validation.adapter_config import AdapterConfigFile
from modelport.validation.file_policy import markdown_table as policy_table
from modelport.validation.generation_config import GenerationDocument
from modelport.validation.model_config_table import markdown_table as model_config_table
from modelport.validation.special_tokens_map import SpecialTokensMapFile
from modelport.validation.tokenizer_config import TokenizerConfigFile
from modelport.validation.tokenizer_json import markdown_table as tokenizer_json_table

TABLES: Mapping[str, Callable[[], str]] = {
    "reasons": reason_table,
    "file-policy": policy_table,
    "adapter-config": AdapterConfigFile.markdown_table,
    "config-json": model_config_table,
    "generation-config": GenerationDocument.markdown_table,
    "tokenizer-config": TokenizerConfigFile.markdown_table,
    "tokenizer-json": tokenizer_json_table,
    "special-tokens-map": SpecialTokensMapFile.markdown_table,
}


def render(readme: str) -> str:
    """`readme` with every marked table replaced by its current rendering."""
    for name, table in TABLES.items():
        pattern = re.compile(rf"(<!-- table:{name} -->\n).*?(<!-- /table:{name} -->)", re.DOTALL)
        if not pattern.search(readme):
            raise ValueError(f"README has no <!-- table:{name} --> ... <!-- /table:{name} --> section")
        readme = pattern.sub(lambda match, t=table: match.group(1) + t() + match.group(2), readme)  # type: ignore[misc]
    return readme


def main(argv: list[str]) -> int:
    path = Path(argv[1] if len(argv) > 1 else "README.md")
    text = path.read_text(encoding="utf-8")
    updated = render(text)
    if updated != text:
        path.write_text(updated, encoding="utf-8")
        print(f"updated the generated tables in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
