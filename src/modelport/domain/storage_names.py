"""The naming rules of `storage_info`: OSS bucket names and the folder prefix (`object_key`).

One definition for the create route, the storage config file (whose bucket names are what
clients send) and the OpenAPI document. Each check raises `ValueError` with a sentence that starts
with the field's JSON path, which the API returns as InvalidParameter. Patterns are matched with
`fullmatch`: `$` would also match before a trailing newline, and `"x\\n"` is not a bucket name.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

BUCKET_NAME_PATTERN: Final = r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$"
# For the OpenAPI document only (the checks below give the sentences): a folder prefix ending in
# '/', no leading '/', no empty, '.' or '..' segment, no backslash or control character.
OBJECT_KEY_PATTERN: Final = r"^(?!/)(?!.*//)(?!(?:.*/)?\.{1,2}(?:/|$))[^\\\u0000-\u001f\u007f-\u009f]*/$"
MAX_OBJECT_KEY_BYTES: Final = 1024
MAX_DISPLAY_NAME_CHARS: Final = 50

_BUCKET_NAME: Final = re.compile(BUCKET_NAME_PATTERN[1:-1])


def is_bucket_name(value: str) -> bool:
    return _BUCKET_NAME.fullmatch(value) is not None


def check_bucket_name(value: str, where: str = "storage_info.bucket_name") -> None:
    if not is_bucket_name(value):
        raise ValueError(
            f"{where} must be 3 to 63 characters of lowercase letters, digits and '-', "
            f"starting and ending with a letter or digit; got {value!r}."
        )


def check_object_key(value: str, where: str = "storage_info.object_key") -> None:
    if value in ("", "/"):
        raise ValueError(f"{where} must name a folder inside the bucket (e.g. 'models/my-lora/'), not the root.")
    size = len(value.encode("utf-8", errors="surrogatepass"))
    if size > MAX_OBJECT_KEY_BYTES:
        raise ValueError(f"{where} must be at most {MAX_OBJECT_KEY_BYTES} bytes; it has {size}.")
    if not value.endswith("/"):
        raise ValueError(f"{where} must be a folder prefix ending with '/'; got {value!r}.")
    if value.startswith("/"):
        raise ValueError(f"{where} must not start with '/'; got {value!r}.")
    if "\\" in value:
        raise ValueError(f"{where} must not contain a backslash; got {value!r}.")
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
        raise ValueError(f"{where} must not contain control characters.")
    segments = value[:-1].split("/")
    if any(segment in (".", "..") for segment in segments):
        raise ValueError(f"{where} must not contain '.' or '..' segments; got {value!r}.")
    if any(segment == "" for segment in segments):
        raise ValueError(f"{where} must not contain an empty segment ('//'); got {value!r}.")


def check_display_name(value: str) -> None:
    if not 1 <= len(value) <= MAX_DISPLAY_NAME_CHARS:
        raise ValueError(f"display_name must be 1 to {MAX_DISPLAY_NAME_CHARS} characters long; it has {len(value)}.")
