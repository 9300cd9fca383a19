"""The arguments of create and validate: the contract's rules checked locally, and the body built.

The checks mirror the ones the official CLI makes before sending (a folder prefix ending in '/',
not the bucket root; a display name of at most 50 characters; lora or full), so that an obvious
mistake costs no request. The server stays the authority: it checks these and more.
"""

from __future__ import annotations

from typing import Any

from modelport.client.errors import InvalidArgument
from modelport.domain.jobs import WeightType
from modelport.domain.storage_names import MAX_DISPLAY_NAME_CHARS as MAX_DISPLAY_NAME

WEIGHT_TYPES = WeightType.values()


def check_import_arguments(
    base_model: str, weight_type: str, bucket: str, object_key: str, display_name: str | None
) -> None:
    """Raise InvalidArgument for the first broken rule."""
    if not base_model:
        raise InvalidArgument("The base model is empty; name one, e.g. 'qwen3-8b' (see `modelport base-models`).")
    if weight_type not in WEIGHT_TYPES:
        allowed = " or ".join(repr(value) for value in WEIGHT_TYPES)
        raise InvalidArgument(f"The weight type must be {allowed}; got {weight_type!r}.")
    if not bucket:
        raise InvalidArgument("The bucket name is empty.")
    check_object_key(object_key)
    if display_name is not None and not 1 <= len(display_name) <= MAX_DISPLAY_NAME:
        raise InvalidArgument(
            f"The display name must be 1 to {MAX_DISPLAY_NAME} characters long; it has {len(display_name)}."
        )


def check_object_key(object_key: str) -> None:
    if object_key in ("", "/"):
        raise InvalidArgument(
            "The object key must name a folder inside the bucket (e.g. 'models/my-lora/'), not the root."
        )
    if object_key.startswith("/"):
        raise InvalidArgument(f"The object key must not start with '/'; got {object_key!r}.")
    if not object_key.endswith("/"):
        raise InvalidArgument(
            f"The object key must be a folder prefix ending with '/'; did you mean {object_key + '/'!r}?"
        )


def import_body(
    base_model: str, weight_type: str, bucket: str, object_key: str, display_name: str | None
) -> dict[str, Any]:
    """The create (and dry-run) request body, with `display_name` only when given, as `bl` sends it."""
    body: dict[str, Any] = {
        "model_name": base_model,
        "source": "oss",
        "weight_type": weight_type,
        "storage_info": {"bucket_name": bucket, "object_key": object_key},
    }
    if display_name is not None:
        body["display_name"] = display_name
    return body
