"""The JSON body of every API response.

UTF-8 as DashScope writes it, except that a string no UTF-8 encoder can write (an unpaired
surrogate, e.g. from an undecodable file name in a local bucket) is escaped as `\\udXXX` instead
of failing the response with a 500: an error message quoting untrusted input must still arrive.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import JSONResponse


class WireJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")
