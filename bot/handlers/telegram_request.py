"""python-telegram-bot's HTTP layer, sending JSON bodies instead of form-encoded ones.

Orienta's answers are long, accented texts with keyboards. Form encoding percent-escapes every
byte in pure Python (three bytes out for each accented byte in); JSON is encoded in C and
smaller. The Bot API accepts both. Requests with files keep PTB's multipart encoding.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
from telegram import Update
from telegram._utils.defaultvalue import DefaultValue
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from bot.channels.http import transport


class JSONRequest(HTTPXRequest):
    """python-telegram-bot's HTTP layer with JSON bodies (see the module's docstring), over the
    transport of `bot.channels.http` (cheaper pool checks)."""

    def _build_client(self) -> httpx.AsyncClient:
        kwargs = dict(self._client_kwargs)
        if kwargs.get("transport") is None and kwargs.get("proxy") is None:
            # A transport of our own takes the limits itself (httpx ignores the client's then).
            kwargs["transport"] = transport(
                kwargs.pop("limits"), http1=kwargs["http1"], http2=kwargs["http2"]
            )
        return httpx.AsyncClient(**kwargs)

    async def do_request(  # type: ignore[override]
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: float | DefaultValue[None] | None = BaseRequest.DEFAULT_NONE,
        write_timeout: float | DefaultValue[None] | None = BaseRequest.DEFAULT_NONE,
        connect_timeout: float | DefaultValue[None] | None = BaseRequest.DEFAULT_NONE,
        pool_timeout: float | DefaultValue[None] | None = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if request_data is None or request_data.contains_files:
            return await super().do_request(
                url,
                method,
                request_data,
                read_timeout,
                write_timeout,
                connect_timeout,
                pool_timeout,
            )
        defaults = self._client.timeout
        timeout = httpx.Timeout(
            connect=defaults.connect
            if isinstance(connect_timeout, DefaultValue)
            else connect_timeout,
            read=defaults.read if isinstance(read_timeout, DefaultValue) else read_timeout,
            write=defaults.write if isinstance(write_timeout, DefaultValue) else write_timeout,
            pool=defaults.pool if isinstance(pool_timeout, DefaultValue) else pool_timeout,
        )
        body = json.dumps(
            request_data.parameters, ensure_ascii=False, separators=(",", ":")
        ).encode()
        headers = {"User-Agent": self.USER_AGENT, "Content-Type": "application/json"}
        try:
            response = await self._client.request(
                method=method, url=url, headers=headers, timeout=timeout, content=body
            )
        except httpx.TimeoutException as err:
            raise TimedOut from err
        except httpx.HTTPError as err:
            raise NetworkError(f"httpx.{err.__class__.__name__}: {err}") from err
        return response.status_code, response.content


class PollingRequest(JSONRequest):
    """The long-polling connection, with one guard: an update this version of python-telegram-bot
    cannot read (a field a newer Bot API made required, say) would fail the whole batch, the
    offset would never move past it, and every later update, for every user, would be fetched
    and fail again forever. Such an update is replaced by an empty one with the same id: the
    offset moves on, no handler sees it, and the log says so (without its content)."""

    def __init__(
        self, *args: object, on_skipped: Callable[[str], None] | None = None, **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.on_skipped = on_skipped or (lambda why: None)

    async def do_request(  # type: ignore[override]
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: float | DefaultValue[None] | None = BaseRequest.DEFAULT_NONE,
        write_timeout: float | DefaultValue[None] | None = BaseRequest.DEFAULT_NONE,
        connect_timeout: float | DefaultValue[None] | None = BaseRequest.DEFAULT_NONE,
        pool_timeout: float | DefaultValue[None] | None = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        status, body = await super().do_request(
            url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
        )
        if status != 200 or not url.endswith("/getUpdates"):
            return status, body
        return status, self._readable(body)

    def _readable(self, body: bytes) -> bytes:
        try:
            data = json.loads(body)
            updates = data["result"]
        except (ValueError, KeyError, TypeError):
            return body  # PTB reports what is wrong with the answer itself
        if not isinstance(updates, list):
            return body
        changed = False
        for index, update in enumerate(updates):
            try:
                Update.de_json(update, None)
            except Exception as exc:  # whatever PTB raises while reading it
                update_id = update.get("update_id") if isinstance(update, dict) else None
                if not isinstance(update_id, int):
                    return body
                updates[index] = {"update_id": update_id}
                changed = True
                self.on_skipped(type(exc).__name__)
        return json.dumps(data).encode() if changed else body
