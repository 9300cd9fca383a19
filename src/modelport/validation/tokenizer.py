"""Tokenizer, chat-template and processor files: the orchestration of their rules.

Each file has its own module, with its keys declared once and decided against transformers 5 and
tokenizers (tokenizer_json, tokenizer_config, special_tokens_map, chat_templates; vocabulary for
the vocabulary, merges and added_tokens.json). This module runs them in the order their facts
depend on each other (tokenizer.json first: where its vocabulary ends is where added-token ids
start), checks that the shipped files agree with each other, and compares the files nobody
decodes key by key (merges.txt, the processor configs) with the operator's reference copies.
What each comparison was made against, or why it could not be made ("not compared"), is in the
report. Reads nothing: every byte was read by the inspection.
"""

from __future__ import annotations

from modelport.domain import reasons
from modelport.strict_json import JsonFileError, parse_json
from modelport.validation.chat_templates import check_chat_templates
from modelport.validation.config_keys import not_compared
from modelport.validation.file_policy import PROCESSOR_FILES, TOKENIZER_FILES
from modelport.validation.findings import Findings
from modelport.validation.special_tokens_map import check_special_tokens_map
from modelport.validation.token_ids import AddedToken, compare_tables
from modelport.validation.tokenizer_config import check_tokenizer_config
from modelport.validation.tokenizer_json import ShippedTokenizer, check_tokenizer_json
from modelport.validation.tokenizer_reference import AddedTable, BaseTokenizer, Unknown
from modelport.validation.upload import CopyItem, RuleContext, Upload
from modelport.validation.vocabulary import check_added_tokens_json, check_vocab

# Files compared whole with the operator's reference copy, when there is one.
_IDENTICAL_WHEN_REFERENCED = ("vocab.json", "merges.txt", "preprocessor_config.json", "video_preprocessor_config.json")


def check_tokenizer_files(context: RuleContext) -> list[CopyItem]:
    """Check every shipped tokenizer/template/processor file; returns those to copy."""
    upload = context.upload
    findings = context.findings
    shipped = sorted(n for n in upload.accepted if n in TOKENIZER_FILES or n in PROCESSOR_FILES)
    base = BaseTokenizer(upload.base)
    rows = upload.base.architecture.vocab_size
    documents = upload.documents

    tokenizer = ShippedTokenizer(None, None)
    if "tokenizer.json" in documents:
        tokenizer = check_tokenizer_json(documents["tokenizer.json"], base, findings, embedding_rows=rows)
    start = tokenizer.bpe_size
    if start is None and not isinstance(size := base.bpe_size(), Unknown):
        start = size.value
    vocab_json = documents.get("vocab.json")
    if "vocab.json" in documents and not isinstance(vocab_json, dict):
        findings.error(reasons.TOKENIZER_SCHEMA, "vocab.json must be a JSON object of token -> id.", file="vocab.json")
    elif isinstance(vocab_json, dict):
        check_vocab("vocab.json", "the vocabulary", vocab_json, base, findings, embedding_rows=rows)

    base_table = base.added_tokens()
    known = _known_tokens(tokenizer.added, base_table)
    config = None
    if "tokenizer_config.json" in documents:
        config = check_tokenizer_config(
            documents["tokenizer_config.json"], base, findings, start=start, embedding_rows=rows, known=known
        )
    if config is not None and config.added is not None:
        known |= {token.content for token in config.added}
    if "added_tokens.json" in documents:
        check_added_tokens_json(documents["added_tokens.json"], base, findings, start=start, embedding_rows=rows)
    if "special_tokens_map.json" in documents:
        check_special_tokens_map(
            documents["special_tokens_map.json"],
            base,
            findings,
            config=config.document if config is not None else None,
            known=known,
        )
    if tokenizer.added is not None and config is not None and config.added is not None:
        _check_agreement(tokenizer.added, config.added, findings)
    check_chat_templates(upload, base, findings)
    _check_identical_files(upload, findings, shipped)
    return [CopyItem(name=name, size=upload.accepted[name].size) for name in shipped]


def _known_tokens(shipped: list[AddedToken] | None, base: AddedTable | Unknown) -> set[str]:
    """The added tokens the served tokenizer will hold, as far as they are known."""
    known = {token.content for token in shipped or []}
    if not isinstance(base, Unknown):
        known |= {token.content for token in base.tokens}
    return known


def _check_agreement(listed: list[AddedToken], decoder: list[AddedToken], findings: Findings) -> None:
    """tokenizer.json's added_tokens and tokenizer_config.json's added_tokens_decoder must be one table:
    transformers reads the second, tokenizers-based runtimes the first."""
    before = findings.error_count
    difference = compare_tables("tokenizer.json", listed, decoder, True, findings)
    if difference is not None:
        findings.error(
            reasons.TOKENIZER_INCONSISTENT,
            f"tokenizer.json: added_tokens disagree with tokenizer_config.json's added_tokens_decoder ({difference} "
            "there); transformers reads one and other runtimes the other.",
            file="tokenizer.json",
        )
    findings.checked("tokenizer.added_tokens_agree", before)


def _check_identical_files(upload: Upload, findings: Findings, shipped: list[str]) -> None:
    references = upload.base.reference_files
    for name in shipped:
        if name not in _IDENTICAL_WHEN_REFERENCED:
            continue
        check = f"{name}.identical_to_base"
        if name not in references:
            not_compared(findings, check, f"the catalog has no reference copy of {name} for {upload.base.id}")
            continue
        before = findings.error_count
        if not _same_content(name, upload.texts.get(name), references[name]):
            findings.error(
                reasons.TOKENIZER_CHANGED,
                f"{name} differs from {upload.base.id}'s reference copy; imports must keep the base model's "
                "vocabulary and tokenizer (remove the file or restore the original).",
                file=name,
            )
        findings.checked(check, before, f"compared with base_models/{upload.base.id}/{name}")


def _same_content(name: str, uploaded: bytes | None, reference: bytes) -> bool:
    if uploaded is None:
        return False
    if uploaded == reference:
        return True
    if name.endswith(".json"):
        # Key order and whitespace are not content.
        try:
            return bool(parse_json(uploaded) == parse_json(reference))
        except JsonFileError:
            return False
    return False
