"""Every reason code modelport can put in a report or on a FAILED job, with what it means and what
the user should do about it.

Codes are a stable contract (scripts match on them), so they are defined here once: rules name a
`Reason` constant, never a string literal, and `tests/unit/test_reasons.py` compares this list with
a committed copy so a code cannot change or vanish unnoticed. The README's table is rendered from
`markdown_table()`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final


class Reason(str):
    """A reason code: compares and serialises as its code string, and carries its documentation."""

    meaning: str
    fix: str

    def __new__(cls, code: str, meaning: str, fix: str) -> Reason:
        reason = super().__new__(cls, code)
        reason.meaning = meaning
        reason.fix = fix
        return reason

    @property
    def code(self) -> str:
        return str.__str__(self)

    @property
    def family(self) -> str:
        return self.code.split(".", 1)[0]

    def __reduce__(self) -> tuple[Callable[[str], Reason], tuple[str]]:
        # Unpickled (e.g. across the validation sandbox's process boundary) as the registered object.
        return (_registered, (self.code,))


def _registered(code: str) -> Reason:
    return _REGISTRY[code]


_REGISTRY: dict[str, Reason] = {}


def _reason(code: str, meaning: str, fix: str) -> Reason:
    if code in _REGISTRY:
        raise AssertionError(f"reason code {code} is defined twice")
    reason = Reason(code, meaning, fix)
    _REGISTRY[code] = reason
    return reason


def all_reasons() -> list[Reason]:
    return sorted(_REGISTRY.values())


def lookup(code: str) -> Reason | None:
    return _REGISTRY.get(code)


def markdown_table() -> str:
    """The README's reason-code table, one row per code."""
    rows = ["| code | meaning | what to do |", "|---|---|---|"]
    rows += [f"| `{r.code}` | {r.meaning} | {r.fix} |" for r in all_reasons()]
    return "\n".join(rows) + "\n"


# -- storage: the bucket and its files -----------------------------------------------------------------

STORAGE_BUCKET_NOT_FOUND: Final = _reason(
    "storage.bucket_not_found",
    "The bucket named in storage_info is not configured in this modelport.",
    "Use a bucket the operator configured (MODELPORT_CONFIG), or ask them to add it.",
)
STORAGE_EMPTY_PREFIX: Final = _reason(
    "storage.empty_prefix",
    "No files were found under the object_key prefix.",
    "Check the bucket and the folder; object_key names a folder and ends with '/'.",
)
STORAGE_UNREADABLE: Final = _reason(
    "storage.unreadable",
    "The bucket could not be listed or a file could not be read.",
    "Check the bucket's permissions and that the files exist, then create the job again.",
)
STORAGE_FILE_CHANGED: Final = _reason(
    "storage.file_changed",
    "A file changed between validation and the copy, so what was checked is not what would be published.",
    "Do not modify the folder while an import runs; upload the files again and create a new job.",
)
STORAGE_SAME_CONTENT: Final = _reason(
    "storage.same_content",
    "Warning: the upload's files are exactly those of a model this workspace imported already for the same "
    "base model and weight type; the import is a model of its own, and the store keeps one copy of the bytes.",
    "Nothing to fix if a second model was intended; otherwise use (or delete) the model the message names.",
)

# -- files: the policy over names, before any content is read ------------------------------------------

FILES_TOO_MANY: Final = _reason(
    "files.too_many",
    "The folder holds more files than an import may list.",
    "Upload only the model folder, without checkpoints or data sets.",
)
FILES_TOO_LARGE: Final = _reason(
    "files.too_large",
    "A file is larger than any file of its kind can be for a supported base.",
    "Check that the right file was uploaded; configs and tokenizer files are small.",
)
FILES_UNSAFE_NAME: Final = _reason(
    "files.unsafe_name",
    "A key could escape or confuse a filesystem (absolute, '.', '..' or empty segments, backslash, control "
    "characters) or is not a usable weights file name.",
    "Rename the file with letters, digits, '.', '_' and '-' only.",
)
FILES_NOT_REGULAR: Final = _reason(
    "files.not_regular",
    "A symbolic link, device or FIFO; links are never followed.",
    "Replace the link by the file itself.",
)
FILES_NAME_CASE: Final = _reason(
    "files.name_case",
    "A file is named like one the loaders read, but in another case; loaders look for the exact name.",
    "Rename the file to the exact name given in the message.",
)
FILES_CODE: Final = _reason(
    "files.code",
    "Code (Python, shared objects, scripts, notebooks); modelport never imports or runs code from an upload.",
    "Remove the file; custom modeling code is not supported.",
)
FILES_ARCHIVE: Final = _reason(
    "files.archive",
    "An archive; archives are never extracted.",
    "Upload the files themselves instead of an archive.",
)
FILES_PICKLE: Final = _reason(
    "files.pickle",
    "A pickle-based file (.bin, .pt, .pth, .ckpt, ...): loading a pickle can run code, so it is never loaded.",
    "Save the weights as safetensors (save_pretrained(..., safe_serialization=True)) and remove this file.",
)
FILES_UNSUPPORTED_FORMAT: Final = _reason(
    "files.unsupported_format",
    "A weights format other than safetensors (GGUF, ONNX, HDF5, ...).",
    "Convert the weights to safetensors.",
)
FILES_UNEXPECTED_SAFETENSORS: Final = _reason(
    "files.unexpected_safetensors",
    "A safetensors file the import does not use (e.g. full weights beside a LoRA adapter).",
    "Remove it, or import it with the weight_type it belongs to.",
)
FILES_INVALID_JSON: Final = _reason(
    "files.invalid_json",
    "A JSON file that the loaders would not read as the gate does: not UTF-8, a byte-order mark, invalid "
    "JSON, duplicate keys, NaN/Infinity or numbers out of range, or nesting too deep.",
    "Save the file again as plain UTF-8 JSON, e.g. with json.dump.",
)
FILES_AUTO_MAP: Final = _reason(
    "files.auto_map",
    "A JSON file sets auto_map, which makes loaders run code shipped with the model.",
    "Remove auto_map; the base architecture is used as is.",
)

# -- safetensors: the strict header parser -------------------------------------------------------------

SAFETENSORS_FILE_TOO_SMALL: Final = _reason(
    "safetensors.file_too_small", "The file is shorter than the 8-byte header length.", "Upload the file again."
)
SAFETENSORS_HEADER_EMPTY: Final = _reason(
    "safetensors.header_empty", "The header length is 0.", "Save the weights again with safetensors."
)
SAFETENSORS_HEADER_TOO_LARGE: Final = _reason(
    "safetensors.header_too_large",
    "The header is larger than the gate's cap (real model headers are far smaller).",
    "Save the weights again with safetensors.",
)
SAFETENSORS_HEADER_OUT_OF_BOUNDS: Final = _reason(
    "safetensors.header_out_of_bounds",
    "The header length runs past the end of the file.",
    "The file is truncated or corrupted: upload it again.",
)
SAFETENSORS_TOO_MANY_TENSORS: Final = _reason(
    "safetensors.too_many_tensors",
    "The header lists more tensors than any supported model has.",
    "Check that this is a model file of a supported base.",
)
SAFETENSORS_TRUNCATED_READ: Final = _reason(
    "safetensors.truncated_read",
    "Reading the header returned fewer bytes than the file's size promised.",
    "The file changed or is truncated: upload it again.",
)
SAFETENSORS_READ_OVERRUN: Final = _reason(
    "safetensors.read_overrun",
    "The storage returned more bytes than were asked for.",
    "Report this to the operator: the storage backend misbehaves.",
)
SAFETENSORS_HEADER_NONFINITE: Final = _reason(
    "safetensors.header_nonfinite",
    "The header contains NaN or Infinity, which is not JSON.",
    "Save the weights again with safetensors.",
)
SAFETENSORS_HEADER_NOT_OBJECT: Final = _reason(
    "safetensors.header_not_object", "The header is not a JSON object.", "Save the weights again with safetensors."
)
SAFETENSORS_HEADER_NOT_UTF8: Final = _reason(
    "safetensors.header_not_utf8", "The header is not valid UTF-8.", "Save the weights again with safetensors."
)
SAFETENSORS_HEADER_INVALID_JSON: Final = _reason(
    "safetensors.header_invalid_json", "The header is not valid UTF-8 JSON.", "Save the weights again with safetensors."
)
SAFETENSORS_HEADER_PADDING: Final = _reason(
    "safetensors.header_padding",
    "The header is padded with something other than spaces.",
    "Save the weights again with safetensors.",
)
SAFETENSORS_HEADER_NESTING: Final = _reason(
    "safetensors.header_nesting",
    "The header nests JSON deeper than tensor entries do.",
    "Save the weights again with safetensors.",
)
SAFETENSORS_DUPLICATE_KEY: Final = _reason(
    "safetensors.duplicate_key",
    "A key appears twice in the header, so parsers may disagree about it.",
    "Save the weights again with safetensors.",
)
SAFETENSORS_DUPLICATE_TENSOR: Final = _reason(
    "safetensors.duplicate_tensor", "A tensor name appears twice in the header.", "Save the weights again."
)
SAFETENSORS_METADATA_INVALID: Final = _reason(
    "safetensors.metadata_invalid",
    "__metadata__ is not a map of strings to strings.",
    "Save the weights again with safetensors.",
)
SAFETENSORS_METADATA_TOO_LARGE: Final = _reason(
    "safetensors.metadata_too_large", "__metadata__ is larger than the gate's cap.", "Keep __metadata__ small."
)
SAFETENSORS_METADATA_FORMAT: Final = _reason(
    "safetensors.metadata_format",
    "__metadata__ format is missing or not one transformers loads.",
    'Save the weights with transformers or PEFT, which write {"format": "pt"}.',
)
SAFETENSORS_TENSOR_NAME_INVALID: Final = _reason(
    "safetensors.tensor_name_invalid",
    "A tensor name is not a plain module path.",
    "Use the tensor names the training library writes.",
)
SAFETENSORS_TENSOR_ENTRY_INVALID: Final = _reason(
    "safetensors.tensor_entry_invalid",
    "A tensor entry is not exactly {dtype, shape, data_offsets}.",
    "Save the weights again with safetensors.",
)
SAFETENSORS_DTYPE_UNKNOWN: Final = _reason(
    "safetensors.dtype_unknown", "A tensor has a dtype safetensors does not define.", "Save the weights again."
)
SAFETENSORS_DTYPE_NOT_ALLOWED: Final = _reason(
    "safetensors.dtype_not_allowed",
    "A tensor has a dtype imports do not accept (only BF16, F16 and F32).",
    "Save the weights in bfloat16, float16 or float32.",
)
SAFETENSORS_SHAPE_INVALID: Final = _reason(
    "safetensors.shape_invalid", "A tensor's shape is not a list of integers in range.", "Save the weights again."
)
SAFETENSORS_RANK_TOO_LARGE: Final = _reason(
    "safetensors.rank_too_large", "A tensor has more dimensions than any model weight.", "Save the weights again."
)
SAFETENSORS_NUMEL_TOO_LARGE: Final = _reason(
    "safetensors.numel_too_large", "A tensor has 2**48 or more elements.", "Save the weights again."
)
SAFETENSORS_MISALIGNED_SLICE: Final = _reason(
    "safetensors.misaligned_slice",
    "A tensor's bit size is not a whole number of bytes.",
    "Save the weights again.",
)
SAFETENSORS_TENSOR_SIZE_MISMATCH: Final = _reason(
    "safetensors.tensor_size_mismatch",
    "A tensor's byte range does not match its shape and dtype.",
    "The file is corrupted: save the weights again.",
)
SAFETENSORS_OFFSETS_INVALID: Final = _reason(
    "safetensors.offsets_invalid", "A tensor's data_offsets are not [begin, end] in range.", "Save the weights again."
)
SAFETENSORS_OFFSET_GAP: Final = _reason(
    "safetensors.offset_gap",
    "The tensors leave unindexed bytes between them (a file could hide data there).",
    "Save the weights again with safetensors.",
)
SAFETENSORS_OFFSET_OVERLAP: Final = _reason(
    "safetensors.offset_overlap", "Two tensors share bytes.", "Save the weights again with safetensors."
)
SAFETENSORS_TRAILING_BYTES: Final = _reason(
    "safetensors.trailing_bytes",
    "The file has bytes after the last tensor (appended data).",
    "Save the weights again with safetensors.",
)
SAFETENSORS_DATA_TRUNCATED: Final = _reason(
    "safetensors.data_truncated",
    "The file ends before the last tensor's data.",
    "The file is truncated: upload it again.",
)

# -- lora: adapter_config.json and the adapter's tensors -----------------------------------------------

LORA_MISSING_FILE: Final = _reason(
    "lora.missing_file",
    "adapter_config.json or adapter_model.safetensors is missing.",
    "Upload the folder PEFT's save_pretrained writes.",
)
LORA_CONFIG_SCHEMA: Final = _reason(
    "lora.config_schema",
    "An adapter_config.json key has the wrong type or a value out of range.",
    "Save the adapter again with PEFT; fix the key named in the message.",
)
LORA_UNKNOWN_KEY: Final = _reason(
    "lora.unknown_key",
    "adapter_config.json has a key PEFT 0.21 does not know; it may select a feature a serving engine would "
    "silently ignore.",
    "Remove the key, or export the adapter with PEFT 0.21.",
)
LORA_OLD_VL_LAYOUT: Final = _reason(
    "lora.old_vl_layout",
    "A Qwen2.5-VL adapter saved with the pre-transformers-4.52 key layout (model.layers.N): PEFT with "
    "transformers 5 binds none of its tensors.",
    "Save the adapter again with transformers 4.52 or newer, so that keys read model.language_model.layers.N.",
)
LORA_TARGET_NOT_ADAPTABLE: Final = _reason(
    "lora.target_not_adaptable",
    "target_modules selects a module PEFT cannot adapt (a container, a norm, an activation), so PEFT refuses "
    "to load the adapter.",
    "Name only the linear projections (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj).",
)
LORA_PEFT_TYPE: Final = _reason(
    "lora.peft_type", "peft_type is not LORA.", "Only LoRA adapters can be imported; train a LoRA adapter."
)
LORA_RANK_NOT_ALLOWED: Final = _reason(
    "lora.rank_not_allowed", "The rank r is not one imports accept.", "Retrain with one of the ranks in the message."
)
LORA_TARGET_PATTERN: Final = _reason(
    "lora.target_pattern",
    "target_modules or exclude_modules is a regular expression the gate cannot evaluate exactly in linear time.",
    'List the module names instead, e.g. ["q_proj", "v_proj"].',
)
LORA_DORA: Final = _reason("lora.dora", "A DoRA adapter; it cannot be served as LoRA.", "Train without use_dora.")
LORA_BIAS: Final = _reason(
    "lora.bias", "The adapter trains biases, which LoRA serving engines do not load.", 'Train with bias "none".'
)
LORA_FAN_IN_FAN_OUT: Final = _reason(
    "lora.fan_in_fan_out",
    "Warning: fan_in_fan_out is true, which PEFT resets to false for Qwen's nn.Linear layers.",
    "Export the adapter with fan_in_fan_out false.",
)
LORA_MODULES_TO_SAVE: Final = _reason(
    "lora.modules_to_save",
    "The adapter saves full copies of modules, which LoRA serving engines do not load.",
    "Train without modules_to_save.",
)
LORA_INIT_MODIFIES_BASE: Final = _reason(
    "lora.init_modifies_base",
    "An initialisation (PiSSA, OLoRA, CorDA, LoftQ) that changes the base weights; the adapter is only correct "
    "with that modified base.",
    "Train with the default initialisation.",
)
LORA_UNSUPPORTED_VARIANT: Final = _reason(
    "lora.unsupported_variant",
    "A PEFT variant or option that serving engines do not apply as plain LoRA.",
    "Train a plain LoRA adapter without the option named in the message.",
)
LORA_MIXED_RANKS: Final = _reason(
    "lora.mixed_ranks", "Modules use different ranks.", "Train every module with the same rank."
)
LORA_MIXED_ALPHA: Final = _reason(
    "lora.mixed_alpha", "Modules use different lora_alpha values.", "Train every module with the same lora_alpha."
)
LORA_EMPTY_ADAPTER: Final = _reason(
    "lora.empty_adapter", "The adapter holds no tensors.", "Export the trained adapter, not an empty one."
)
LORA_UNEXPECTED_TENSOR: Final = _reason(
    "lora.unexpected_tensor",
    "A tensor that is not a LoRA matrix a serving engine loads.",
    "Save the adapter with PEFT's save_pretrained, without extra tensors.",
)
LORA_VISION_TENSOR: Final = _reason(
    "lora.vision_tensor",
    "A LoRA matrix on the vision tower; imports accept LoRA on the language model only.",
    "Freeze the vision tower when training.",
)
LORA_UNKNOWN_MODULE: Final = _reason(
    "lora.unknown_module",
    "A tensor adapts a module the base model does not have.",
    "Check that the adapter was trained on the declared base model.",
)
LORA_LAYER_OUT_OF_RANGE: Final = _reason(
    "lora.layer_out_of_range",
    "A tensor names a layer the base model does not have.",
    "Check that the adapter was trained on the declared base model.",
)
LORA_UNSUPPORTED_MODULE: Final = _reason(
    "lora.unsupported_module",
    "LoRA on a module serving engines do not adapt for this base (embeddings or lm_head on Qwen2.5).",
    "Train without embed_tokens and lm_head in target_modules.",
)
LORA_EXCLUDE_UNUSED: Final = _reason(
    "lora.exclude_unused",
    "Warning: exclude_modules matches no module of the base (PEFT warns about it too).",
    "Check exclude_modules; it may name modules of another model.",
)
LORA_LARGE_SCALING: Final = _reason(
    "lora.large_scaling",
    "Warning: lora_alpha / r scales the adapter's update far beyond what trainers use.",
    "Check lora_alpha and r: the adapter may have been exported with the wrong values.",
)
LORA_OTHER_FAMILY: Final = _reason(
    "lora.other_family",
    "Warning: base_model_name_or_path names a model family other than the declared base's.",
    "Check that the adapter was trained on the declared base model.",
)
LORA_SHAPE_MISMATCH: Final = _reason(
    "lora.shape_mismatch",
    "A LoRA matrix does not have the shape the base model's module needs at the declared rank.",
    "Check that the adapter was trained on the declared base model and rank.",
)
LORA_UNPAIRED_TENSOR: Final = _reason(
    "lora.unpaired_tensor",
    "A module has lora_A without lora_B or the reverse.",
    "Export both matrices of every module.",
)
LORA_LAYERS_TO_TRANSFORM: Final = _reason(
    "lora.layers_to_transform",
    "Tensors adapt layers that layers_to_transform excludes.",
    "Export the adapter and its config from the same training run.",
)
LORA_UNTARGETED_TENSOR: Final = _reason(
    "lora.untargeted_tensor",
    "A module has LoRA tensors that target_modules (with exclude_modules) does not select, so a loader "
    "configured from adapter_config.json would not bind them.",
    "Export the adapter and its config from the same training run.",
)
LORA_TARGET_UNBOUND: Final = _reason(
    "lora.target_unbound",
    "target_modules selects modules the adapter has no tensors for.",
    "Export the adapter and its config from the same training run.",
)
LORA_UNKNOWN_TARGET: Final = _reason(
    "lora.unknown_target",
    "target_modules names a module the base model does not have.",
    "Check that the adapter was trained on the declared base model.",
)

# -- full: config.json, the shard index and the tensor manifest ----------------------------------------

FULL_MISSING_FILE: Final = _reason(
    "full.missing_file",
    "config.json or the weights are missing.",
    "Upload the folder save_pretrained writes: config.json and model.safetensors (or shards and their index).",
)
FULL_CONFIG_SCHEMA: Final = _reason(
    "full.config_schema",
    "A config.json key has the wrong type or a value out of range.",
    "Save the model again with transformers; fix the key named in the message.",
)
FULL_CONFIG_ARCHITECTURE: Final = _reason(
    "full.config_architecture",
    "config.json does not describe the base model's architecture.",
    "Check that the model was fine-tuned from the declared base model.",
)
FULL_CONFIG_MISMATCH: Final = _reason(
    "full.config_mismatch",
    "A config.json value that changes how weights load differs from the base model.",
    "A full fine-tune must keep the base architecture; restore the base's value.",
)
FULL_CONFIG_REFUSED: Final = _reason(
    "full.config_refused",
    "config.json holds a key that changes what transformers or vLLM compute in a way the gate does not verify "
    "(a runtime override, custom code, a classification head), or a key the base's config class does not "
    "declare, which both stacks would read as a model attribute.",
    "Remove the key named in the message; save the model with transformers' save_pretrained.",
)
FULL_CONFIG_IGNORED: Final = _reason(
    "full.config_ignored",
    "Warning: config.json holds sampling settings (temperature, top_p, ...) that transformers drops when it "
    "loads the config and vLLM never reads.",
    "Put sampling defaults in generation_config.json.",
)
FULL_QUANTIZED: Final = _reason(
    "full.quantized",
    "config.json declares a quantized checkpoint (quantization_config, or compression_config, which vLLM reads "
    "as compressed-tensors).",
    "Import unquantized weights.",
)
FULL_CONFIG_CHANGED: Final = _reason(
    "full.config_changed",
    "Retired: RoPE and context-length differences from the base, once a warning, are full.config_mismatch "
    "errors now (they change every logit, and vLLM scales the context by the RoPE factor).",
    "Keep the base's RoPE settings and max_position_embeddings; set long context at deployment.",
)
FULL_MISSING_INDEX: Final = _reason(
    "full.missing_index",
    "Sharded weights without model.safetensors.index.json.",
    "Upload the index save_pretrained writes, or one model.safetensors.",
)
FULL_INDEX_SCHEMA: Final = _reason(
    "full.index_schema",
    "model.safetensors.index.json is not a valid index.",
    "Upload the index save_pretrained writes.",
)
FULL_INDEX_UNSAFE_SHARD: Final = _reason(
    "full.index_unsafe_shard",
    "The index names a shard outside the folder or with an unusable name.",
    "Shard names must be plain *.safetensors file names in the same folder.",
)
FULL_MISSING_SHARD: Final = _reason(
    "full.missing_shard", "The index names a shard that is not in the folder.", "Upload every shard."
)
FULL_UNREFERENCED_WEIGHTS: Final = _reason(
    "full.unreferenced_weights",
    "A safetensors file the index does not name (another tool might load it).",
    "Remove the file.",
)
FULL_DUPLICATE_TENSOR: Final = _reason(
    "full.duplicate_tensor", "A tensor is in more than one shard.", "Save the model again with save_pretrained."
)
FULL_INDEX_MISMATCH: Final = _reason(
    "full.index_mismatch",
    "The index and the shards disagree about where a tensor is.",
    "Upload the index that belongs to these shards.",
)
FULL_INDEX_TOTAL_SIZE: Final = _reason(
    "full.index_total_size",
    "The index's metadata.total_size is not the shards' tensor bytes.",
    "Upload the index that belongs to these shards.",
)
FULL_MISSING_TENSORS: Final = _reason(
    "full.missing_tensors", "The checkpoint lacks tensors of the base architecture.", "Upload every shard."
)
FULL_UNEXPECTED_TENSORS: Final = _reason(
    "full.unexpected_tensors",
    "The checkpoint has tensors the base architecture does not.",
    "Check that the model was fine-tuned from the declared base model.",
)
FULL_SHAPE_MISMATCH: Final = _reason(
    "full.shape_mismatch",
    "A tensor's shape differs from the base architecture's.",
    "Check the base model; imports do not allow a resized vocabulary.",
)
FULL_MIXED_DTYPES: Final = _reason(
    "full.mixed_dtypes", "The checkpoint mixes dtypes.", "Save every tensor in one dtype (bf16 for Qwen)."
)
FULL_DTYPE_DIFFERS: Final = _reason(
    "full.dtype_differs",
    "config.json declares a dtype other than the tensors'.",
    "Set dtype (torch_dtype) in config.json to the tensors' dtype.",
)
FULL_GENERATION_CONFIG: Final = _reason(
    "full.generation_config",
    "generation_config.json has a key of the wrong type, out of the range vLLM accepts for every request, or "
    "naming a token id outside the vocabulary.",
    "Fix the key named in the message, or remove generation_config.json to use the base's.",
)
FULL_GENERATION_CONFIG_REFUSED: Final = _reason(
    "full.generation_config_refused",
    "generation_config.json sets a key that transformers' generate() honours but vLLM ignores (so the two would "
    "serve differently), points at custom generation code, or is not a GenerationConfig setting.",
    "Remove the key named in the message; vLLM reads only the sampling defaults and eos_token_id.",
)
FULL_GENERATION_CONFIG_MISMATCH: Final = _reason(
    "full.generation_config_mismatch",
    "generation_config.json's special token ids (eos_token_id, bos_token_id, pad_token_id) differ from the "
    "base model's, so generation would stop (or pad) on other tokens.",
    "Restore the base's token ids, or remove generation_config.json to use the base's.",
)
FULL_GENERATION_SAMPLING_IGNORED: Final = _reason(
    "full.generation_sampling_ignored",
    "generation_config.json sets sampling defaults (temperature, top_p, top_k, min_p) without do_sample: true, "
    "so transformers decodes greedily while vLLM samples with them: the two engines answer differently.",
    "Set do_sample to true if the defaults are meant, or remove them (temperature 0 makes both greedy).",
)

# -- tokenizer and chat template ------------------------------------------------------------------------

TOKENIZER_CHAT_TEMPLATE_CHANGED: Final = _reason(
    "tokenizer.chat_template_changed",
    "The chat template differs from the base model's official templates; a template is a program that can "
    "hide instructions.",
    "Remove the template file or restore the base's template.",
)
TOKENIZER_CHANGED: Final = _reason(
    "tokenizer.changed",
    "A tokenizer file or its special tokens differ from the base model's.",
    "Remove the file or restore the base's copy.",
)
TOKENIZER_VOCABULARY_CHANGED: Final = _reason(
    "tokenizer.vocabulary_changed",
    "A token id falls outside the base model's vocabulary.",
    "Imports do not allow added tokens that would need a resized embedding.",
)
TOKENIZER_SCHEMA: Final = _reason(
    "tokenizer.schema",
    "A tokenizer or chat-template file, or one of its keys, is not in the form the loaders read (wrong type, "
    "value out of range, missing field), so it would fail to load or load differently.",
    "Save the tokenizer again with transformers' save_pretrained, or restore the base's file.",
)
TOKENIZER_REFUSED_KEY: Final = _reason(
    "tokenizer.refused_key",
    "A tokenizer key the gate does not verify: it would add tokens, load another tokenizer file, or change "
    "how text is split (unknown keys are passed to the tokenizer constructor).",
    "Remove the key named in the message.",
)
TOKENIZER_TOKEN_ID: Final = _reason(
    "tokenizer.token_id",
    "A token id is not written as a plain decimal number: transformers reads it with int(), which accepts "
    "forms such as '+5', ' 5', '1_0' or '٣' and fails on others such as '²'.",
    "Write every token id as plain ASCII digits without sign, spaces or leading zeros.",
)
TOKENIZER_TOKEN_ORDER: Final = _reason(
    "tokenizer.token_order",
    "Added-token ids are not contiguous from the end of the BPE vocabulary in the order transformers assigns "
    "them, so tokens would get other ids than the file declares (every special token can shift).",
    "Keep the base's added tokens with their ids; imports cannot add or renumber tokens.",
)
TOKENIZER_INCONSISTENT: Final = _reason(
    "tokenizer.inconsistent",
    "Two shipped tokenizer files disagree (added tokens or special tokens), so different loaders would build "
    "different tokenizers.",
    "Ship tokenizer files written together by one save_pretrained, or only the ones you changed on purpose.",
)
TOKENIZER_TEMPLATE_ENCODING: Final = _reason(
    "tokenizer.template_encoding",
    "chat_template.jinja starts with a byte-order mark (rendered at the start of every prompt) or is not UTF-8.",
    "Save the template as UTF-8 without a BOM.",
)
TOKENIZER_EXTRA_TEMPLATES: Final = _reason(
    "tokenizer.extra_templates",
    "Named chat templates (additional_chat_templates/, or a chat_template list or object): transformers selects "
    "one of them, e.g. tool_use for requests with tools, and the default can disappear.",
    "Ship only the base's single chat template, or none.",
)

# -- values: read in the copy pass ----------------------------------------------------------------------

VALUES_NON_FINITE: Final = _reason(
    "values.non_finite",
    "A tensor contains NaN or Inf.",
    "Export a checkpoint from before the loss diverged.",
)
VALUES_UNTRAINED_ADAPTER: Final = _reason(
    "values.untrained_adapter",
    "Warning: every module has an all-zero lora_A or lora_B, so the adapter is a no-op: it changes nothing.",
    "Export the adapter after training, not at initialisation.",
)
VALUES_ZERO_LORA_B: Final = _reason(
    "values.zero_lora_b",
    "Warning: some lora_B matrices are all zeros; those modules are not adapted.",
    "Check the training run if this is unexpected.",
)
VALUES_ZERO_LORA_A: Final = _reason(
    "values.zero_lora_a",
    "Warning: some lora_A matrices are all zeros; those modules are not adapted.",
    "Check the training run if this is unexpected.",
)
VALUES_IMPLAUSIBLE_MAGNITUDE: Final = _reason(
    "values.implausible_magnitude",
    "A tensor holds values above 1e8 in magnitude, which no trained weight has: activations would overflow.",
    "Export the weights again; check the training run for a diverged loss.",
)
VALUES_EXTREME_MAGNITUDE: Final = _reason(
    "values.extreme_magnitude",
    "Warning: a tensor holds values of a magnitude no trained weight has (above 1e4), a sign of a broken export "
    "or of an overflow during training.",
    "Check the training run and the export; compare with a checkpoint from before the problem.",
)

# -- the gate itself ------------------------------------------------------------------------------------

GATE_INTERNAL_ERROR: Final = _reason(
    "gate.internal_error",
    "A rule of the gate failed unexpectedly on this upload, so the upload could not be verified and is "
    "refused (fail closed). This is a modelport bug.",
    "Report it to the operator with the job id; the log has the details.",
)
GATE_RESOURCE_LIMIT: Final = _reason(
    "gate.resource_limit",
    "Validating the upload exceeded the CPU time, memory or wall time validation may use.",
    "Check that the files are what a training library writes; hostile or malformed files cause this.",
)

# -- the run of a job -----------------------------------------------------------------------------------

JOB_CANCELLED: Final = _reason(
    "job.cancelled",
    "The import was cancelled by the user; nothing was published.",
    "Create the import job again when you want it.",
)

CATALOG_UNKNOWN_BASE: Final = _reason(
    "catalog.unknown_base",
    "The job's base model was removed from the catalog after the job was created.",
    "Create the job again for a base model the catalog holds.",
)
WORKER_ATTEMPTS_EXHAUSTED: Final = _reason(
    "worker.attempts_exhausted",
    "The import was interrupted (worker stopped or hit an infrastructure fault) as many times as it may be.",
    "Create the import job again; if it keeps failing, the operator should check the worker logs.",
)
