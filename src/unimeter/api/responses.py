"""A JSON response rendered with orjson, for routes that build plain dicts.

Such routes document their schema with ``responses={200: {"model": ...}}`` instead of a
``response_model``: validating hundreds of already-shaped records again on the way out
would double the cost of a page.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse


class JSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
