"""The admin page: anonymous usage counts, server-rendered, no JavaScript, no CDN.

Access needs ORIENTA_ADMIN_TOKEN (at least 24 characters: checked at start-up), either sent as
`Authorization: Bearer <token>` or typed into the login form. A login opens a session: a random
id, signed with a timestamp (itsdangerous), held in an HttpOnly, SameSite=Strict, Secure cookie,
valid for 12 hours and only while the server still lists it, so logging out revokes it at once
(a restart logs everyone out). Failed logins are slowed per client, doubling the wait after
five; POSTs from another origin are refused. Tokens and cookies are compared in constant time.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

from cachetools import TTLCache
from itsdangerous import BadSignature, TimestampSigner
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.channels.webhook import read_body
from bot.config import Settings
from bot.engine.replies import Usage, UsageKind
from bot.runtime import Runtime
from bot.stats.inbox import Paste, add_out_of_scope, phrasing
from bot.stats.report import Summary, percent, rows_csv, summarize
from bot.stats.store import InboxItem, Row

log = logging.getLogger(__name__)

COOKIE = "orienta_admin"
SESSION_SECONDS = 12 * 3600
FREE_FAILURES = 5  # failed logins a client gets before it has to wait
MAX_LOCKOUT = 15 * 60.0  # the longest a client waits after failing
DEFAULT_DAYS = 30
MAX_DAYS = 3660
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # "no-referrer" would make browsers send "Origin: null"
    "Cache-Control": "no-store",
}


class Sessions:
    """Admin sessions: signed, expiring, and revocable because the server keeps the live ids."""

    def __init__(self, lifetime: float = SESSION_SECONDS) -> None:
        # A fresh key at every start: cookies from before a restart are worth nothing.
        self._signer = TimestampSigner(secrets.token_bytes(32), salt="orienta-admin-session")
        self._live: TTLCache[str, bool] = TTLCache(maxsize=10_000, ttl=lifetime)
        self.lifetime = lifetime

    def open(self) -> str:
        session = secrets.token_urlsafe(24)
        self._live[session] = True
        return self._signer.sign(session).decode()

    def valid(self, cookie: str) -> bool:
        session = self._unsign(cookie)
        return session is not None and session in self._live

    def revoke(self, cookie: str) -> None:
        session = self._unsign(cookie)
        if session is not None:
            self._live.pop(session, None)

    def _unsign(self, cookie: str) -> str | None:
        try:
            return self._signer.unsign(cookie, max_age=int(self.lifetime)).decode()
        except (BadSignature, ValueError):
            return None


class Throttle:
    """Failed logins per client: after FREE_FAILURES, each one doubles the wait (up to
    MAX_LOCKOUT) before the next attempt is even considered."""

    def __init__(self) -> None:
        self._failures: TTLCache[str, tuple[int, float]] = TTLCache(maxsize=100_000, ttl=3600)

    def wait(self, client: str) -> float:
        """Seconds this client must still wait; 0 when it may try."""
        _count, until = self._failures.get(client, (0, 0.0))
        return max(until - time.monotonic(), 0.0)

    def failed(self, client: str) -> None:
        count, _until = self._failures.get(client, (0, 0.0))
        count += 1
        lockout = 0.0
        if count >= FREE_FAILURES:
            lockout = min(2.0 ** (count - FREE_FAILURES), MAX_LOCKOUT)
        self._failures[client] = (count, time.monotonic() + lockout)

    def succeeded(self, client: str) -> None:
        self._failures.pop(client, None)


def same_origin(request: Request) -> bool:
    """A browser's POST names where the form was: it must be this site (CSRF). Clients that
    send no Origin and no Referer (curl, scripts with the bearer token) are not browsers."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source:
        return True
    host = request.headers.get("x-forwarded-host") or request.headers.get("host", "")
    return urlsplit(source).netloc == host


def admin_routes(settings: Settings, runtime: Runtime) -> list[BaseRoute]:
    """The admin page's routes: `/admin`, login, logout and the CSV export (needs the token)."""
    token = settings.admin_token or ""
    sessions, throttle = Sessions(), Throttle()
    secure = settings.admin_cookie_secure

    def authenticated(request: Request) -> bool | None:
        """True, False, or None: a client that guessed wrong too often, told to wait. A wrong
        bearer token counts as a failed login (the same throttle as the form)."""
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            client = request.client.host if request.client else "?"
            if throttle.wait(client) > 0:
                return None
            if hmac.compare_digest(header[7:].strip().encode(), token.encode()):
                throttle.succeeded(client)
                return True
            throttle.failed(client)
            log.warning("admin: a wrong bearer token")
            return False
        return sessions.valid(request.cookies.get(COOKIE, ""))

    def refused(request: Request) -> HTMLResponse | None:
        """The login page (401, or 429 after too many wrong tokens), or None when allowed."""
        allowed = authenticated(request)
        if allowed is None:
            return _login("Too many wrong tokens. Try again later.", 429)
        return None if allowed else _login(status=401)

    async def dashboard(request: Request) -> Response:
        if (refusal := refused(request)) is not None:
            return refusal
        since, until, error = _range(request)
        rows = await runtime.stats.rows(since, until)
        drafts = runtime.engine.content.drafts  # the content being served right now
        waiting = len(await runtime.stats.inbox())
        return _dashboard(summarize(rows, since, until, top=50), rows, error, drafts, waiting)

    async def login(request: Request) -> Response:
        if not same_origin(request):
            return _login(status=403)
        client = request.client.host if request.client else "?"
        wait = throttle.wait(client)
        if wait > 0:
            page = _login("Too many wrong tokens. Try again later.", 429)
            page.headers["Retry-After"] = str(int(wait) + 1)
            return page
        body = await read_body(request, 4096)
        given = parse_qs((body or b"").decode("utf-8", "replace")).get("token", [""])[0]
        if not hmac.compare_digest(given.encode(), token.encode()):
            throttle.failed(client)
            log.warning("admin: a failed login")
            return _login("That token is not right.", 401)
        throttle.succeeded(client)
        response = RedirectResponse("/admin", status_code=303)
        response.set_cookie(
            COOKIE,
            sessions.open(),
            httponly=True,
            samesite="strict",
            secure=secure,
            path="/admin",
            max_age=SESSION_SECONDS,
        )
        return response

    async def logout(request: Request) -> Response:
        if not same_origin(request):
            return Response("forbidden", status_code=403, headers=SECURITY_HEADERS)
        sessions.revoke(request.cookies.get(COOKIE, ""))
        response = RedirectResponse("/admin", status_code=303)
        response.delete_cookie(
            COOKIE, path="/admin", secure=secure, httponly=True, samesite="strict"
        )
        return response

    async def export(request: Request) -> Response:
        allowed = authenticated(request)
        if allowed is None:
            return Response("too many wrong tokens", status_code=429, headers=SECURITY_HEADERS)
        if not allowed:
            return Response("unauthorized", status_code=401, headers=SECURITY_HEADERS)
        since, until, _error = _range(request)
        rows = await runtime.stats.rows(since, until)
        filename = f"orienta-usage-{since.isoformat()}-{until.isoformat()}.csv"
        headers = {**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'}
        return Response(rows_csv(rows), media_type="text/csv; charset=utf-8", headers=headers)

    async def inbox(request: Request) -> Response:
        if (refusal := refused(request)) is not None:
            return refusal
        return await _inbox_page()

    async def inbox_action(request: Request) -> Response:
        """Add a question as a phrasing (shows the YAML line and where), as an out-of-scope
        example (appended to the file), or delete it. Each is counted, never who did it."""
        if not same_origin(request):
            return Response("forbidden", status_code=403, headers=SECURITY_HEADERS)
        if (refusal := refused(request)) is not None:
            return refusal
        body = await read_body(request, 8192)
        form = parse_qs((body or b"").decode("utf-8", "replace"))
        wanted, action = form.get("id", [""])[0], form.get("action", [""])[0]
        topic = form.get("topic", [""])[0]
        item = next((i for i in await runtime.stats.inbox() if i.id == wanted), None)
        if item is None or action not in ("phrasing", "out_of_scope", "delete"):
            return await _inbox_page(notice="That question was already handled.")
        content = runtime.engine.content
        paste: Paste | None = None
        if action == "phrasing":
            if topic not in content.languages[content.default_language].entries:
                return await _inbox_page(notice=f"There is no topic '{topic}'.")
            paste = phrasing(settings.content_dir, item.language, topic, item.text)
            notice, kind = "", UsageKind.INBOX_PHRASING
        elif action == "out_of_scope":
            kind = UsageKind.INBOX_OUT_OF_SCOPE
            try:
                path, line = add_out_of_scope(settings.content_dir, item.language, item.text)
                notice = f"Added to {path.name}, line {line}. The bot reloads it by itself."
            except OSError as exc:
                notice = (
                    f"Could not write out_of_scope_{item.language}.yaml ({exc.strerror}); "
                    "nothing was changed."
                )
                return await _inbox_page(notice=notice)
        else:
            notice, kind = "Deleted.", UsageKind.INBOX_DELETED
        await runtime.stats.inbox_delete([item.id])
        runtime.stats.record("admin", [Usage(kind, item.language)])
        return await _inbox_page(notice=notice, paste=paste)

    async def _inbox_page(notice: str = "", paste: Paste | None = None) -> HTMLResponse:
        items = await runtime.stats.inbox()
        content = runtime.engine.content
        topics = sorted(content.languages[content.default_language].entries)
        return _page(
            "inbox.html",
            groups=_groups(items),
            topics=topics,
            notice=notice,
            paste=(
                {
                    "topic": paste.topic,
                    "file": f"content/{paste.path.name}",
                    "after_line": paste.after_line,
                    "line": paste.line,
                }
                if paste
                else None
            ),
            days=settings.inbox_days,
        )

    return [
        Route("/admin", dashboard, methods=["GET"]),
        Route("/admin/inbox", inbox, methods=["GET"]),
        Route("/admin/inbox", inbox_action, methods=["POST"]),
        Route("/admin/login", login, methods=["POST"]),
        Route("/admin/logout", logout, methods=["POST"]),
        Route("/admin/export.csv", export, methods=["GET"]),
    ]


EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)


def _range(request: Request) -> tuple[date, date, str]:
    today = datetime.now(UTC).date()
    error = ""
    try:
        until = date.fromisoformat(request.query_params.get("until") or today.isoformat())
        since = date.fromisoformat(
            request.query_params.get("since")
            or (until - timedelta(days=DEFAULT_DAYS - 1)).isoformat()
        )
        if not (EARLIEST <= since <= LATEST and EARLIEST <= until <= LATEST):
            raise ValueError("out of range")
    except (ValueError, OverflowError):  # not a date, or one no calendar arithmetic survives
        until, since, error = (
            today,
            today - timedelta(days=DEFAULT_DAYS - 1),
            "Dates must look like 2026-11-28; showing the last 30 days.",
        )
    if since > until:
        since, until = until, since
    if (until - since).days > MAX_DAYS:
        since, error = until - timedelta(days=MAX_DAYS), "At most ten years at a time."
    return since, until, error


# ---------------------------------------------------------------------- HTML

# Jinja2 with autoescaping on: every value in a page is escaped unless a template says otherwise
# (none does). The templates live beside this module, in templates/.
TEMPLATES = Environment(
    loader=PackageLoader("bot.web", "templates"),
    autoescape=select_autoescape(("html",), default=True),
    undefined=StrictUndefined,
    trim_blocks=False,
)


def _page(template: str, status: int = 200, **values: object) -> HTMLResponse:
    document = TEMPLATES.get_template(template).render(**values)
    return HTMLResponse(document, status_code=status, headers=SECURITY_HEADERS)


def _login(error: str = "", status: int = 200) -> HTMLResponse:
    return _page("login.html", status, error=error)


def _dashboard(
    s: Summary,
    rows: list[Row],
    error: str,
    drafts: Mapping[str, tuple[str, ...]],
    inbox: int = 0,
) -> HTMLResponse:
    cards = (
        ("Messages", "messages", s.messages),
        ("Answered", "answered", s.answered),
        ("Unanswered", "unanswered", f"{s.unanswered} ({percent(s.unanswered_share)})"),
        (
            "Helpful",
            "helpful",
            f"{s.helpful_yes} / {s.helpful_yes + s.helpful_no} ({percent(s.helpful_share)})",
        ),
    )
    return _page(
        "dashboard.html",
        error=error,
        since=s.since.isoformat(),
        until=s.until.isoformat(),
        query=urlencode({"since": s.since.isoformat(), "until": s.until.isoformat()}),
        cards=cards,
        chart=_chart(s.daily_messages),
        topics=_topic_rows(rows),
        languages=list(s.languages),
        channels=list(s.channels),
        events=list(s.events),
        drafts=[(code, len(topics)) for code, topics in sorted(drafts.items())],
        inbox=inbox,
    )


def _groups(items: list[InboxItem]) -> list[tuple[str, str, str, list[InboxItem]]]:
    """The inbox by day (newest first), language and the matcher's best guess."""
    groups: dict[tuple[str, str, str], list[InboxItem]] = {}
    for item in items:  # already sorted by the store
        key = (item.day, item.language, item.guesses[0] if item.guesses else "")
        groups.setdefault(key, []).append(item)
    return [(*key, members) for key, members in groups.items()]


def _topic_rows(rows: list[Row]) -> list[tuple[object, ...]]:
    table: dict[str, list[int]] = {}
    for row in rows:
        if not row.topic or row.event not in ("answered", "feedback_yes", "feedback_no"):
            continue
        counts = table.setdefault(row.topic, [0, 0, 0])
        counts[("answered", "feedback_yes", "feedback_no").index(row.event)] += row.count
    return [
        (topic, *counts)
        for topic, counts in sorted(table.items(), key=lambda item: (-item[1][0], item[0]))
    ]


@dataclass(frozen=True)
class Bar:
    day: str
    count: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Chart:
    """An inline SVG bar chart's geometry: one bar per day (the template draws it)."""

    bars: tuple[Bar, ...]
    peak: int
    first: str
    last: str
    width: int = 720
    height: int = 180
    left: int = 36  # room for the axis labels
    base: float = 0.0  # the y of the zero line


def _chart(daily: tuple[tuple[str, int], ...], width: int = 720, height: int = 180) -> Chart | None:
    if not daily:
        return None
    peak = max((count for _, count in daily), default=0) or 1
    pad_left, pad_bottom = 36, 22
    inner_w, inner_h = width - pad_left - 4, height - pad_bottom - 8
    step = inner_w / len(daily)
    bar = max(step * 0.8, 1.0)
    bars = []
    for index, (day, count) in enumerate(daily):
        h = inner_h * count / peak
        x = pad_left + index * step + (step - bar) / 2
        bars.append(Bar(day, count, x, 8 + inner_h - h, bar, h))
    return Chart(tuple(bars), peak, daily[0][0], daily[-1][0], width, height, pad_left, 8 + inner_h)
