"""The transactions API: neotransact's `GET /transactions/<client_id>/?start_date=&end_date=`, over the lake.

Every response is JSON. A request is checked in this order, so that a caller learns nothing it is not entitled to:
the bearer token (401, before anything else: a bad token never learns whether a client exists), the caller's rate
(429), the dates (400), the client (404). Amounts are strings, exact, as Django REST framework wrote decimals;
timestamps are ISO 8601.

The rate limit is a token bucket per caller, and the caller is the connection's remote address: every client
shares the one API token, so the token cannot tell callers apart, and a forwarded-for header is whatever the caller
chooses to send. Behind a reverse proxy every request comes from the proxy's address, so there the limit is one
for all callers together; put the limit in the proxy instead. Only authenticated requests spend tokens.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import hmac
import math
import threading
import time
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from core.lake import Lake
from pipelines.trades_api.query import (
    BadDate,
    BadDateRange,
    UnknownClient,
    client_transactions,
    open_catalog,
    parse_date,
)

_IDLE_BUCKETS = 10_000  # past this many callers, buckets that have refilled completely are forgotten


class RateLimiter:
    """A token bucket per caller: `per_minute` requests a minute, and a burst of as many."""

    def __init__(self, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.per_second = per_minute / 60
        self.buckets: dict[str, tuple[float, float]] = {}  # caller -> (tokens, when counted)
        self.lock = threading.Lock()

    def wait(self, caller: str) -> float:
        """Take a token for the caller: 0 if there was one, else the seconds until there will be."""
        with self.lock:
            now = time.monotonic()
            if len(self.buckets) > _IDLE_BUCKETS:
                self.buckets = {k: v for k, v in self.buckets.items() if self._tokens(v, now) < self.capacity}
            tokens = self._tokens(self.buckets.get(caller, (self.capacity, now)), now)
            if tokens < 1:
                self.buckets[caller] = (tokens, now)
                return (1 - tokens) / self.per_second
            self.buckets[caller] = (tokens - 1, now)
            return 0.0

    def _tokens(self, bucket: tuple[float, float], now: float) -> float:
        tokens, then = bucket
        return min(self.capacity, tokens + (now - then) * self.per_second)


def create_app(lake: Lake, token: str, per_minute: int) -> Starlette:
    """The API over the lake's catalog (opened now, read-only), accepting `Authorization: Bearer <token>`."""
    con = open_catalog(lake)
    limiter = RateLimiter(per_minute)

    def transactions(request: Request) -> JSONResponse:  # sync: Starlette runs it in its thread pool
        if not _authorized(request, token):
            raise HTTPException(401, "invalid or missing bearer token", {"WWW-Authenticate": "Bearer"})
        wait = limiter.wait(request.client.host if request.client else "")
        if wait:
            raise HTTPException(429, "too many requests; try again later", {"Retry-After": str(math.ceil(wait))})
        client_id = request.path_params["client_id"]
        try:
            start, end = (_date(request, name) for name in ("start_date", "end_date"))
            cursor = con.cursor()
            try:
                relation = client_transactions(cursor, client_id, start, end)
                columns, rows = relation.columns, relation.fetchall()
            finally:
                cursor.close()
        except (BadDate, BadDateRange) as error:
            raise HTTPException(400, str(error)) from None
        except UnknownClient as error:
            raise HTTPException(404, str(error)) from None
        body = {
            "client_id": client_id,
            "start_date": _json(start),
            "end_date": _json(end),
            "count": len(rows),
            "transactions": [{c: _json(v) for c, v in zip(columns, row, strict=True)} for row in rows],
        }
        return JSONResponse(body)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        con.close()

    routes = [
        Route("/transactions/{client_id}", transactions, methods=["GET"]),
        Route("/transactions/{client_id}/", transactions, methods=["GET"]),  # the source's URL had a slash
    ]
    handlers = {HTTPException: _http_error, Exception: _server_error}
    return Starlette(routes=routes, exception_handlers=handlers, lifespan=lifespan)


def _authorized(request: Request, token: str) -> bool:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(credentials.encode(), token.encode())


def _date(request: Request, name: str) -> dt.date | None:
    text = request.query_params.get(name)
    try:
        return parse_date(text) if text else None
    except BadDate as error:
        raise BadDate(f"{name}: {error}") from None


def _json(value: object) -> object:
    """A value as DRF served it: decimals as exact strings, dates and times in ISO 8601."""
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, dt.date):  # and datetimes
        return value.isoformat()
    return value


async def _http_error(request: Request, error: HTTPException) -> JSONResponse:
    return JSONResponse({"detail": error.detail}, error.status_code, headers=error.headers)


async def _server_error(request: Request, error: Exception) -> JSONResponse:
    return JSONResponse({"detail": "internal server error"}, 500)
