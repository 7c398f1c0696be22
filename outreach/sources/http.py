"""Polite JSON over HTTP for the live sources (Members API, Committees API, postcodes.io).

One `JsonClient` per origin. Every request goes through the same three guards:

- a rate cap (`max_rps`, shared by all threads of a client; 0 = uncapped): requests are given start slots
  1/max_rps apart, so a burst of threads never exceeds the cap;
- retries with exponential backoff and jitter on 5xx, 429 (its `Retry-After` honoured), timeouts and
  connection resets, at most `attempts` tries a request and `retry_budget` seconds of waiting a run, so a
  source that is down fails the run in bounded time instead of hanging it;
- decoding: the body must be JSON (UTF-8 when the charset is missing, as RFC 8259 says JSON is), or the
  request fails with one line naming the URL and what was wrong ("HTTP 500 text/plain 'error code: 500'",
  "invalid JSON at line 1 column 4093: the body ends early").

- limits: a body is read as a stream and refused past `max_body` bytes (8 MiB; the largest real answer, the
  government posts, is about 0.2 MB), and JSON nested deeper than `MAX_DEPTH` (32 levels; Parliament's bodies
  reach 9) is refused, as is any body the JSON parser cannot nest that deep;
- a deadline (`Deadline`) that every client of one refresh shares: no request starts, no retry waits and no read
  goes on past it, so a slow source (or one trickling bytes just faster than the read timeout) cannot hold a
  refresh longer than its deadline.

Bodies are read through `get_json`, which wraps them in `fields.Json`, the typed accessors every client uses.
Anything that still fails raises `SourceError` (exit 3). `fetch_all` runs requests on a bounded thread pool:
the services answer in about 100 ms, so a refresh of 650 contact records is dominated by waiting, which threads
overlap well; asyncio would gain nothing measurable here (bench/refresh.py).
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx

from outreach.errors import SourceError
from outreach.sources.fields import Json

Item = TypeVar("Item")
Result = TypeVar("Result")
Progress = Callable[[str, int, int], None]

USER_AGENT = "outreach"
MAX_BODY = 8 * 1024 * 1024  # bytes of one response body, after decompression
MAX_DEPTH = 32  # levels of JSON nesting


def user_agent(organisation: str = "") -> str:
    """Return the User-Agent header: outreach, and the organisation it writes for when the caller names one."""
    return f"{USER_AGENT} ({organisation})" if organisation else USER_AGENT


@dataclass(frozen=True)
class Politeness:
    """How hard a client may press a source, and how long it keeps trying."""

    max_rps: float = 10.0  # requests a second across all threads; 0 = uncapped
    concurrency: int = 24  # requests in flight at once (bench/refresh.py --sweep, cold: 16 → 6.6 s, 32 → 3.6 s)
    attempts: int = 5  # tries per request, the first included
    backoff: float = 0.5  # the first retry waits about this long; each later one twice as long
    max_wait: float = 30.0  # the longest single wait, Retry-After included: a longer ask fails the run
    retry_budget: float = 120.0  # seconds all the retries of one client may spend waiting, in total
    timeout: float = 30.0  # seconds to connect, and between bytes of a response
    max_body: int = MAX_BODY  # bytes of one response body; a longer one is refused, not read


class RateCap:
    """Hands out request start times at most `rate` a second (0 = uncapped), across threads."""

    def __init__(self, rate: float, sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.sleep = sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until this caller's slot comes."""
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            self.sleep(slot - now)


class DeadlinePassed(SourceError):
    """A refresh ran past its overall deadline (`refresh --deadline`, OUTREACH_REFRESH_DEADLINE)."""


class Deadline:
    """The moment by which a refresh must have everything fetched; shared by all its clients and threads."""

    def __init__(self, seconds: float | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self.ends = clock() + seconds if seconds else math.inf

    def remaining(self) -> float:
        """Return the seconds left (inf without a deadline; 0 once it has passed)."""
        return max(0.0, self.ends - self.clock())

    def check(self, where: str) -> None:
        """Raise DeadlinePassed, naming `where`, once the deadline has passed."""
        if self.remaining() <= 0:
            raise self.passed(where)

    def passed(self, where: str, detail: str = "") -> DeadlinePassed:
        """Return the error for a request stopped by the deadline (`detail`: what its last try met)."""
        return DeadlinePassed(f"{where}: stopped at the refresh's deadline of {self.seconds:g} s{detail}")


def _snippet(body: bytes, limit: int = 60) -> str:
    """Return the start of a body as one short quoted line."""
    text = " ".join(body[: limit * 2].decode("utf-8", "replace").split())
    return repr(text[:limit] + ("…" if len(text) > limit else ""))


def _retry_after(response: httpx.Response) -> float | None:
    """Return the seconds a 429/503 asks us to wait (Retry-After: seconds or an HTTP date), or None."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _depth(value: Any) -> int:
    """Return how deeply a parsed JSON value nests (a scalar is 0), walking it without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, level + 1)
            stack.extend((child, level + 1) for child in item if isinstance(child, dict | list))
    return deepest


def decode(body: bytes, content_type: str, where: str) -> Any:
    """Return the JSON in a body; SourceError naming `where` when it is not JSON or nests too deep."""
    media = content_type.split(";")[0].strip().lower() or "no content type"
    if not body.strip():
        raise SourceError(f"{where}: empty body ({media}), expected JSON")
    try:
        # json.loads on bytes detects UTF-8/16/32 itself: a JSON body without a charset is UTF-8 (RFC 8259 §8.1).
        value = json.loads(body)
    except UnicodeDecodeError:
        raise SourceError(f"{where}: the body is not UTF-8 text ({media})") from None
    except RecursionError:
        raise SourceError(f"{where}: the JSON nests deeper than {MAX_DEPTH} levels") from None
    except json.JSONDecodeError as exc:
        if "json" not in media:
            raise SourceError(f"{where}: answered {media}, not JSON: {_snippet(body)}") from None
        if exc.msg.startswith("Unterminated") or exc.pos >= len(body.rstrip()):
            raise SourceError(
                f"{where}: invalid JSON: the body ends after {len(body)} bytes, before the JSON does "
                f"(truncated; {exc.msg})"
            ) from None
        raise SourceError(f"{where}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    depth = _depth(value)
    if depth > MAX_DEPTH:
        raise SourceError(f"{where}: the JSON nests {depth} levels deep, more than {MAX_DEPTH}")
    return value


class _Failed(Exception):
    """One attempt failed in a way worth retrying: `problem` says how, `asked` is any Retry-After."""

    def __init__(self, problem: str, asked: float | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.asked = asked


class JsonClient:
    """A JSON client for one origin with a rate cap, retries, limits, a deadline and one-line errors."""

    def __init__(
        self,
        origin: str,
        politeness: Politeness | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        agent: str = USER_AGENT,
        deadline: Deadline | None = None,
    ) -> None:
        self.origin = origin.rstrip("/")
        self.politeness = politeness or Politeness()
        self.sleep = sleep
        self.deadline = deadline or Deadline(None)
        self.cap = RateCap(self.politeness.max_rps, sleep)
        pool = max(1, self.politeness.concurrency)
        self.http = httpx.Client(
            base_url=self.origin,
            transport=transport,
            timeout=httpx.Timeout(self.politeness.timeout),
            limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool),
            headers={"Accept": "application/json", "User-Agent": agent},
            follow_redirects=True,
        )
        self.requests = 0
        self._budget = self.politeness.retry_budget
        self._lock = threading.Lock()

    def __enter__(self) -> JsonClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """Return the JSON of GET origin+path?params."""
        return self._request("GET", path, params=params).value

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Json:
        """Return the JSON of GET origin+path?params, for reading through typed accessors."""
        return self._request("GET", path, params=params)

    def get_found(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """Return the JSON of GET origin+path?params, or None when the source answers 404 (a member with none)."""
        return self._request("GET", path, params=params, missing_ok=True).value

    def post(self, path: str, body: Any) -> Json:
        """Return the JSON answer to POST origin+path with a JSON body, for reading through typed accessors."""
        return self._request("POST", path, body=body)

    def _count(self) -> None:
        with self._lock:
            self.requests += 1

    def _spend(self, seconds: float) -> bool:
        """Take `seconds` of waiting from the run's retry budget; False when it would overspend."""
        with self._lock:
            if seconds > self._budget:
                return False
            self._budget -= seconds
            return True

    def _read(self, response: httpx.Response, where: str) -> bytes:
        """Return a streamed response's body, refused past `max_body` bytes or the deadline."""
        limit = self.politeness.max_body
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise SourceError(f"{where}: the body is {int(declared):,} bytes, more than the limit of {limit:,}")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                raise SourceError(f"{where}: the body is over the limit of {limit:,} bytes (stopped reading)")
            self.deadline.check(where)  # a body trickled in just under the read timeout stops here
            chunks.append(chunk)
        return b"".join(chunks)

    def _attempt(self, request: httpx.Request, where: str, *, missing_ok: bool = False) -> Any:
        """Return the JSON of one try (null for a 404 when `missing_ok`); _Failed if worth another, else SourceError."""
        settings = self.politeness
        # No single read may outlast the deadline: it bounds the timeout of every try.
        timeout = min(settings.timeout, self.deadline.remaining())
        request.extensions["timeout"] = httpx.Timeout(timeout).as_dict()
        try:
            response = self.http.send(request, stream=True)
            try:
                body = self._read(response, where)
            finally:
                response.close()
        except httpx.TimeoutException:
            self.deadline.check(where)
            raise _Failed(f"no answer within {settings.timeout:g} s") from None
        except httpx.TransportError as exc:
            raise _Failed(f"connection failed ({type(exc).__name__}: {exc or 'reset by the server'})") from None
        status = response.status_code
        content_type = response.headers.get("Content-Type", "")
        if status < 400:
            return decode(body, content_type, where)
        if status == 404 and missing_ok:
            return None
        media = content_type.split(";")[0].strip() or "no content type"
        problem = f"HTTP {status} {media} {_snippet(body)}"
        if status != 429 and status < 500:
            raise SourceError(f"{where}: {problem}")
        asked = _retry_after(response)
        if asked is not None and asked > settings.max_wait:
            raise SourceError(f"{where}: {problem}; Retry-After asks {asked:g} s, more than {settings.max_wait:g} s")
        raise _Failed(problem, asked)

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        missing_ok: bool = False,
    ) -> Json:
        request = self.http.build_request(method, path, params=params, json=body)
        where = f"{method} {request.url}"
        settings = self.politeness
        for attempt in range(1, settings.attempts + 1):
            self.cap.wait()
            self.deadline.check(where)
            self._count()
            try:
                return Json.of(self._attempt(request, where, missing_ok=missing_ok), where)
            except _Failed as failed:
                problem, asked = failed.problem, failed.asked
            if attempt == settings.attempts:
                raise SourceError(f"{where}: {problem} (gave up after {attempt} attempts)")
            if asked is not None:
                delay = asked
            else:
                # Exponential backoff with "equal jitter": half the step fixed, half random, so threads that
                # failed together do not retry together.
                step = min(settings.max_wait, settings.backoff * 2 ** (attempt - 1))
                delay = step / 2 + random.uniform(0, step / 2)
            if delay >= self.deadline.remaining():
                raise self.deadline.passed(where, f" (a retry would wait past it; the last try: {problem})")
            if not self._spend(delay):
                raise SourceError(f"{where}: {problem} (retry time of {settings.retry_budget:g} s used up)")
            self.sleep(delay)
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover


def fetch_all(
    fetch: Callable[[Item], Result],
    items: Iterable[Item],
    *,
    workers: int,
    progress: Progress | None = None,
    stage: str = "fetch",
) -> list[Result]:
    """Return fetch(item) for every item, in order, running up to `workers` at once; the first error stops all."""
    todo = list(items)
    if not todo:
        return []
    results: list[Any] = [None] * len(todo)
    done = 0
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(todo)))) as pool:
        futures: dict[Future[Result], int] = {pool.submit(fetch, item): index for index, item in enumerate(todo)}
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, return_when=FIRST_EXCEPTION)
            for future in finished:
                error = future.exception()
                if error is not None:
                    for other in pending:
                        other.cancel()
                    raise error
                results[futures[future]] = future.result()
                done += 1
            if progress:
                progress(stage, done, len(todo))
    return results
