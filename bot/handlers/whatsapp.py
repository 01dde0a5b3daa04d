"""The WhatsApp channel: Cloud API webhook in, Graph API messages out; a thin adapter over the engine.

Deliveries are verified (X-Hub-Signature-256, HMAC-SHA256 of the raw body with the app secret)
before anything is parsed. WhatsApp delivers at least once and retries what was not
acknowledged, so a delivery is acknowledged (200) only once its messages are answered and their
counts written (a group commit shared by every delivery waiting at that moment): a worker killed
mid-burst loses no acknowledged count, and what it had not acknowledged comes again. Message ids
are remembered for a day (in memory, bounded; with PostgreSQL also across workers, see
`_process`): each message is counted once and answered at most once, except that a call for help
taken over from a dead worker is answered again. Logs never carry phone numbers or message text.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections import deque
from typing import Any

import httpx
from cachetools import TTLCache
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
)

from bot.channels import ChannelType
from bot.channels.http import transport
from bot.channels.pipeline import Held, Pipeline
from bot.channels.webhook import read_json
from bot.config import ConfigError, Settings
from bot.engine.events import Event, Location, Press, Text, Unsupported
from bot.engine.replies import Response as EngineResponse
from bot.engine.replies import UsageKind
from bot.handlers.whatsapp_render import render
from bot.limits import MATCH_INPUT_MAX
from bot.memory import FloodGuard, Verdict, forgetting
from bot.runtime import Runtime
from bot.stats.store import Claim, delivery_digest

log = logging.getLogger(__name__)

CHANNEL = "whatsapp"
# Deliveries that are not a message to answer: a reaction (added or removed) to one of our
# messages, a message the user deleted, an edit of an earlier message, and system notices
# (the user changed number, their security code changed).
SILENT = frozenset({"reaction", "revoke", "edit", "system", "ephemeral"})
PATH = "/whatsapp/webhook"
OUTSIDE_WINDOW = 131047  # more than 24 hours since the user last wrote: only templates may be sent
SEND_ATTEMPTS = 5
MAX_WAIT = 30.0  # seconds: a platform asking to wait longer gets the message dropped and counted
DELIVERY_MEMORY = 24 * 3600.0  # seconds a delivery is remembered (WhatsApp retries for less)
INBOX_MAX = 50  # messages waiting from one sender; the flood guard answers far fewer per minute
BUSY_RETRY = "5"  # seconds: a retry of a delivery another worker is answering now comes back later
# Seconds a delivery waits for its answer before it is acknowledged anyway. Answers take
# milliseconds; only a Graph API that asks us to wait (429, Retry-After) holds one longer, and
# WhatsApp treats a slow webhook as a failed one. Past this, the delivery is counted and marked
# done at once and the 200 says "taken": the answer still goes out, unless the worker is killed
# before that.
ACK_WAIT = 10.0

# A delivery being answered here (the future says how it ended: the claim, or None when there
# was nothing to answer), or answered.
Outcome = asyncio.Future[Claim | None]
Seen = Outcome | bool
Item = tuple[dict[str, Any], str, bytes, Outcome]  # message, key, digest, outcome


class WhatsAppChannel:
    """WhatsApp through the Cloud API: deliveries on `routes()`, replies through the Graph API."""

    name = CHANNEL

    def __init__(self, runtime: Runtime, settings: Settings) -> None:
        if settings.whatsapp_missing:
            raise ConfigError(f"WhatsApp also needs {', '.join(settings.whatsapp_missing)}")
        self.runtime = runtime
        self.settings = settings
        self.app_secret = (settings.whatsapp_app_secret or "").encode()
        self.verify_token = settings.whatsapp_verify_token or ""
        self.seen: TTLCache[str, Seen] = forgetting(DELIVERY_MEMORY, 200_000)
        self.pipeline = Pipeline(
            CHANNEL,
            lambda: runtime.engine,
            runtime.stats.record,
            FloodGuard(),
            keep=runtime.stats.keep if settings.inbox else None,
        )
        self.client: httpx.AsyncClient | None = None
        # One mailbox and at most one worker per sender: a conversation's replies go out in
        # order, and a wait (a Retry-After, a backoff) holds only that conversation's own queue,
        # no lock shared with anything else.
        self._inbox: dict[str, deque[Item]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        # The deliveries being sent now, by digest: what they count, held until they are done.
        self._sending: dict[bytes, Held] = {}

    async def start(self) -> None:
        self.client = httpx.AsyncClient(
            base_url=self.settings.whatsapp_api_base_url,
            headers={"Authorization": f"Bearer {self.settings.whatsapp_token}"},
            timeout=httpx.Timeout(self.settings.http_timeout),
            transport=transport(httpx.Limits(max_connections=50, max_keepalive_connections=20)),
        )

    async def stop(self, deadline: float | None = None) -> None:
        """Answer what was already acknowledged until `deadline` (loop time); what is left is
        cancelled and counted in the log."""
        if self._workers:
            timeout = (
                None if deadline is None else max(deadline - asyncio.get_running_loop().time(), 0)
            )
            _, pending = await asyncio.wait(set(self._workers.values()), timeout=timeout)
            if pending:
                left = sum(len(box) for box in self._inbox.values())
                log.warning("whatsapp: stopping with %d messages left unanswered", left)
                for task in pending:
                    task.cancel()
                await asyncio.wait(pending, timeout=1)
        else:
            log.info("whatsapp: stopping with 0 messages left unanswered")
        if self.client is not None:
            await self.client.aclose()

    def routes(self) -> list[BaseRoute]:
        return [
            Route(PATH, self.verify, methods=["GET"]),
            Route(PATH, self.receive, methods=["POST"]),
        ]

    # ------------------------------------------------------------------ webhook

    async def verify(self, request: Request) -> Response:
        params = request.query_params
        token = params.get("hub.verify_token", "")
        if params.get("hub.mode") == "subscribe" and hmac.compare_digest(
            token.encode(), self.verify_token.encode()
        ):
            return PlainTextResponse(params.get("hub.challenge", ""))
        return PlainTextResponse("forbidden", status_code=403)

    async def receive(self, request: Request) -> Response:
        signature = request.headers.get("x-hub-signature-256")
        if not signature:
            return PlainTextResponse("missing signature", status_code=401)

        def signed(body: bytes) -> Response | None:  # checked before anything is parsed
            expected = "sha256=" + hmac.new(self.app_secret, body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(signature.strip().encode(), expected.encode()):
                return PlainTextResponse("bad signature", status_code=403)
            return None

        data = await read_json(request, signed)
        if isinstance(data, Response):
            return data
        answering: dict[Outcome, bytes] = {}  # (the delivery's digest)
        repeated = False
        for message in _messages(data):
            if not _sender(message):
                continue  # not a user's phone number: nobody to answer
            if "id" in message and not _usable_id(message["id"]):
                continue  # not an id WhatsApp gives: a forgery or a broken relay
            key = _delivery_key(message)
            earlier = self.seen.get(key)
            digest = delivery_digest(key, self.app_secret)
            if isinstance(earlier, asyncio.Future):
                answering[earlier] = digest  # being answered here: acknowledged with it
            elif earlier:
                repeated = True  # answered here: acknowledged once its counts are surely written
            else:
                answering[self._enqueue(message, key, digest)] = digest
        if answering:
            _, slow = await asyncio.wait(answering, timeout=ACK_WAIT)
            for outcome in slow:  # acknowledged before it is answered: counted now
                self._count_now(answering[outcome])
        answered = all(not f.cancelled() for f in answering)
        # Another worker that is alive is answering it now: WhatsApp comes back later.
        busy = any(f.done() and not f.cancelled() and f.result() is Claim.BUSY for f in answering)
        if answering or repeated:  # (status updates, most deliveries, have nothing to count)
            # Acknowledge only what is counted: whatever waits now shares the next transaction.
            # A database that is down is not a reason to have WhatsApp send it all again: the
            # counts wait in memory, as for every channel.
            await self.runtime.stats.settled()
        if busy or not answered:  # WhatsApp retries it, and another worker (or this) answers
            return PlainTextResponse(
                "not answered yet", status_code=503, headers={"Retry-After": BUSY_RETRY}
            )
        return PlainTextResponse("ok")

    def _enqueue(self, message: dict[str, Any], key: str, digest: bytes) -> Outcome:
        """Queue a message behind its sender's earlier ones; the future is done once it is
        answered (or refused by the flood guard, or found to be another worker's), cancelled if
        the worker stops first."""
        done: Outcome = asyncio.get_running_loop().create_future()
        self.seen[key] = done
        sender = _sender(message) or ""  # receive() took only messages with a sender
        box = self._inbox.setdefault(sender, deque())
        if len(box) >= INBOX_MAX:  # a flood while the first replies are still going out
            self.pipeline.admit_refused(sender)
            self._finished((message, key, digest, done), None)
            return done
        box.append((message, key, digest, done))
        if sender not in self._workers:
            self._workers[sender] = asyncio.create_task(self._work(sender, box))
        return done

    def _count_now(self, digest: bytes) -> None:
        """Count a delivery whose answer is still on its way, and mark it done."""
        held = self._sending.get(digest)
        if held is not None and not held.released:
            self.pipeline.release(held)  # no await between these two: one transaction
            self.runtime.stats.finish(digest)

    def _finished(self, item: Item, outcome: Claim | None) -> None:
        _, key, _, done = item
        if not done.done():
            done.set_result(outcome)
        if self.seen.get(key) is done:
            if outcome is Claim.BUSY:
                del self.seen[key]  # not answered here: WhatsApp's next try is taken afresh
            else:
                self.seen[key] = True

    async def _work(self, sender: str, box: deque[Item]) -> None:
        """Answer one sender's messages in order until the mailbox is empty."""
        try:
            while box:
                message, _, digest, _ = box[0]
                outcome = await self._process(message, digest)
                self._finished(box.popleft(), outcome)  # only now: stop() counts it unanswered
        finally:
            # No await between the emptiness check and here: a message enqueued meanwhile
            # would have been seen by the loop.
            self._workers.pop(sender, None)
            if not box:
                self._inbox.pop(sender, None)
            else:  # stopped: those never answered are not acknowledged, and not remembered
                for _, key, _, done in box:
                    done.cancel()
                    self.seen.pop(key, None)

    # ------------------------------------------------------------------ messages

    async def _process(self, message: dict[str, Any], digest: bytes) -> Claim | None:
        """Answer one message, unless another worker has (or is at it); returns the claim, or
        None when there was nothing to answer.

        Several workers may receive one delivery (WhatsApp retries it, perhaps elsewhere), so a
        delivery is claimed in the shared database; and it is claimed as late as possible, once
        the answer is ready and just before it is sent. A worker that dies after its claim may
        have answered, so the worker that takes the delivery over counts it without answering
        again (`Claim.ORPHAN`); one that dies before its claim has sent nothing, and the retry
        is answered as new. Meanwhile what the message counts is held back, and written in the
        same transaction that marks it done: counted once, whoever dies when.
        """
        sender = _sender(message)
        if not sender:
            return None
        claim: Claim | None = None
        with self.pipeline.holding() as held:
            try:
                event = self._event(message, sender)
                if event is None:
                    return None
                verdict = self.pipeline.admit(sender)
                response = None
                if verdict == Verdict.OK:
                    response = await self.pipeline.answer(sender, event)
                claim = await self.runtime.stats.claim(digest, DELIVERY_MEMORY)
                if claim in (Claim.DONE, Claim.BUSY):
                    return claim  # another worker's: nothing sent, nothing counted here
                self._sending[digest] = held
                danger = response is not None and any(
                    u.kind is UsageKind.DANGER for u in response.usage
                )
                if claim is Claim.ORPHAN and not danger:
                    log.info("whatsapp: took over a delivery: counted, not answered again")
                    return claim
                if claim is Claim.ORPHAN:
                    log.info("whatsapp: took over a call for help: answered again")
                if verdict == Verdict.WARN:
                    note = self.pipeline.slow_down(sender)
                    await self._send(
                        sender, {"type": "text", "text": {"preview_url": False, "body": note}}
                    )
                if response is not None:
                    await self._deliver(sender, response)
            except Exception as exc:  # one bad message must not stop the channel
                log.error("whatsapp: could not answer a message: %s", type(exc).__name__)
            finally:
                self._sending.pop(digest, None)
                if claim in (Claim.NEW, Claim.ORPHAN) and not held.released:
                    # No await between these two: they go to the database in one transaction.
                    self.pipeline.release(held)
                    self.runtime.stats.finish(digest)
        return claim

    def _event(self, message: dict[str, Any], sender: str) -> Event | None:
        """The engine event for a user's message, or None for those that want no reply."""
        hint = self.pipeline.hint(sender)
        kind = message.get("type")
        if not isinstance(kind, str) or kind in SILENT:
            return None
        if kind == "button":  # a quick-reply button of a template message
            payload = _object(message.get("button")).get("payload")
            return Press(str(payload)) if payload else None
        if kind == "text":
            body = _object(message.get("text")).get("body")
            if not isinstance(body, str):
                return Unsupported("text", hint)
            return Text(body[: MATCH_INPUT_MAX * 2], hint)
        if kind == "interactive":
            interactive = _object(message.get("interactive"))
            if interactive.get("type") == "nfm_reply":
                return None  # a flow's answer: Orienta sends no flows
            reply = _object(interactive.get("button_reply") or interactive.get("list_reply"))
            payload = reply.get("id")
            return Press(str(payload)) if payload else Unsupported("interactive", hint)
        if kind == "location":
            where = _object(message.get("location"))
            try:
                return Location(float(where["latitude"]), float(where["longitude"]), hint)
            except (KeyError, TypeError, ValueError, OverflowError):
                return Unsupported("location", hint)
        if kind:  # image, audio, sticker, document...
            return Unsupported(kind, hint)
        return None

    async def _deliver(self, to: str, response: EngineResponse) -> None:
        translate = self.runtime.engine.catalogs.get(response.lang).gettext
        for reply in response.replies:
            for body in render(reply, translate):
                if not await self._send(to, body):
                    return  # undeliverable: the rest would fail the same way

    async def _send(self, to: str, body: dict[str, Any]) -> bool:
        """POST one message, retrying 429 and 5xx with backoff. False when it cannot be sent.

        Waits are bounded: a Retry-After over MAX_WAIT seconds drops the message (counted as
        undelivered) instead of holding the conversation. A request that timed out after it may
        have reached the Graph API is not sent again: the user would get it twice.
        """
        assert self.client is not None
        path = f"/{self.settings.whatsapp_phone_number_id}/messages"
        payload = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            **body,
        }
        retrying = AsyncRetrying(
            stop=stop_after_attempt(SEND_ATTEMPTS),
            wait=_graph_wait,
            retry=retry_if_exception_type(_TryAgain),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._post_once(path, payload)
        except _TryAgain as exc:
            return self._undelivered(f"no success after {SEND_ATTEMPTS} attempts ({exc})")
        except _TooLong as exc:
            return self._undelivered(f"the Graph API asked to wait {exc.seconds:.0f} s")
        return False  # pragma: no cover - the loop returns or raises

    async def _post_once(self, path: str, payload: dict[str, Any]) -> bool:
        """One POST. True: sent (or maybe sent); False: refused for good; raises _TryAgain for
        what is worth another try and _TooLong when the API asks to wait too long."""
        assert self.client is not None
        try:
            response = await self.client.post(path, json=payload)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # Nothing left this process: safe to try again.
            log.warning("whatsapp: send failed (%s)", type(exc).__name__)
            raise _TryAgain(type(exc).__name__) from exc
        except httpx.HTTPError as exc:
            # It may have arrived: sending it again could show it twice. Go on as if sent.
            log.warning(
                "whatsapp: %s after a send that may have arrived; not sent again",
                type(exc).__name__,
            )
            return True
        if response.status_code < 300:
            return True
        code = _error_code(response)
        if code == OUTSIDE_WINDOW:
            log.info("whatsapp: message dropped, the 24-hour window is closed (131047)")
            return False
        if response.status_code != 429 and response.status_code < 500:
            log.error("whatsapp: message rejected: HTTP %d, error %s", response.status_code, code)
            return False
        asked = _retry_after(response)
        if asked is not None and asked > MAX_WAIT:
            raise _TooLong(asked)
        log.warning("whatsapp: HTTP %d, trying again", response.status_code)
        raise _TryAgain(f"HTTP {response.status_code}", asked)

    def _undelivered(self, why: str) -> bool:
        self.pipeline.undelivered(why)
        return False


class _TryAgain(Exception):
    """A send worth another try; `asked` is the Retry-After the API gave, if any."""

    def __init__(self, why: str, asked: float | None = None) -> None:
        super().__init__(why)
        self.asked = asked


class _TooLong(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"{seconds:.0f} s")
        self.seconds = seconds


def _graph_wait(state: RetryCallState) -> float:
    """0.5 s doubling up to 8 s, or longer when the API asked (never past MAX_WAIT)."""
    backoff = min(0.5 * 2.0 ** (state.attempt_number - 1), 8.0)
    exc = state.outcome.exception() if state.outcome else None
    asked = exc.asked if isinstance(exc, _TryAgain) else None
    return max(backoff, asked or 0.0)


def _object(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one: a delivery's parts are never trusted
    to have the documented shape."""
    return value if isinstance(value, dict) else {}


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after", "").strip()
    try:
        return max(float(raw), 0.0) if raw else None
    except ValueError:
        return None


def _messages(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The user messages of a delivery; statuses (sent, delivered, read) and other fields
    (account, template and call updates) are ignored."""
    out: list[dict[str, Any]] = []
    entries = data.get("entry")
    if not isinstance(entries, list):
        return out
    for entry in entries:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        for change in changes if isinstance(changes, list) else []:
            if not isinstance(change, dict) or change.get("field", "messages") != "messages":
                continue
            value = change.get("value")
            messages = value.get("messages") if isinstance(value, dict) else None
            out.extend(
                m for m in (messages if isinstance(messages, list) else []) if isinstance(m, dict)
            )
    return out


def _error_code(response: httpx.Response) -> int | None:
    try:
        code = (response.json().get("error") or {}).get("code")
        return int(code) if code is not None else None
    except (ValueError, AttributeError, TypeError):
        return None


def _sender(message: dict[str, Any]) -> str | None:
    """The user's WhatsApp id (a phone number in digits), or None for anything else."""
    sender = message.get("from")
    if isinstance(sender, str) and sender.isascii() and sender.isdigit() and 5 <= len(sender) <= 20:
        return sender
    return None


def _usable_id(message_id: object) -> bool:
    """WhatsApp message ids are short strings ("wamid." and base64)."""
    return isinstance(message_id, str) and 0 < len(message_id) <= 256


def _delivery_key(message: dict[str, Any]) -> str:
    """What makes a delivery the same as an earlier one: its message id, or, without a usable
    one, a hash of the whole message (WhatsApp retries send the same bytes)."""
    message_id = message.get("id")
    if _usable_id(message_id):
        return str(message_id)
    canonical = json.dumps(message, sort_keys=True, ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


CHANNEL_TYPE = ChannelType(
    name=CHANNEL,
    enabled=lambda settings: settings.whatsapp_enabled,
    missing=lambda settings: settings.whatsapp_missing,
    create=WhatsAppChannel,
    needs_web=lambda settings: True,
)
