"""What every webhook route does with a request body: read it within a size limit, verify it,
parse it as a JSON object. Each step's refusal is the HTTP answer a platform expects."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

MAX_BODY = 1024 * 1024  # 1 MB: no legitimate webhook delivery is larger


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes | None:
    """The body, or None once it passes `limit` bytes (read no further)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(
    request: Request,
    verify: Callable[[bytes], Response | None] | None = None,
    limit: int = MAX_BODY,
) -> dict[str, Any] | Response:
    """The body as a JSON object, or the response that refuses it: 413 over `limit`, whatever
    `verify` (a signature check on the raw bytes, before parsing) answers, 400 for anything that
    is not a JSON object, including JSON nested deeper than the parser allows."""
    body = await read_body(request, limit)
    if body is None:
        return PlainTextResponse("body too large", status_code=413)
    if verify is not None and (refusal := verify(body)) is not None:
        return refusal
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than JSON allows
        return PlainTextResponse("malformed JSON", status_code=400)
    if not isinstance(data, dict):
        return PlainTextResponse("malformed payload", status_code=400)
    return data
