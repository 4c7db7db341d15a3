"""One retry policy for everything groqgen retries: Groq calls, store reads and writes.

:class:`RetryPolicy` decides *whether* a failure is worth another try and *how long* to wait;
:func:`retrying` / :func:`async_retrying` carry the decision out with tenacity, for a whole call
or for the attempts left after a first failure that already happened (a store read runs bare on
its fast path and only reaches for retries when it fails). :class:`RateGate` makes one client's
concurrent calls hold back together when Groq asks for a pause.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .errors import GroqgenError, StoreError

if TYPE_CHECKING:
    import tenacity

__all__ = [
    "RateGate",
    "RetryPolicy",
    "async_retrying",
    "parse_duration",
    "response_headers",
    "retry_after",
    "retrying",
]

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_duration(text: str | None) -> float | None:
    """Seconds in a Groq duration such as ``"2m59.56s"``, ``"7.66s"`` or ``"120ms"``."""
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    parts = _DURATION.findall(text)
    if not parts:
        return None
    return sum(float(n) * _UNITS[unit] for n, unit in parts)


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """How long the server asked us to wait.

    ``retry-after`` when given, else the rate-limit reset of whichever budget (requests or
    tokens) is exhausted.
    """
    if not headers:
        return None
    explicit = parse_duration(headers.get("retry-after"))
    if explicit is not None:
        return explicit
    waits = []
    for budget in ("requests", "tokens"):
        if headers.get(f"x-ratelimit-remaining-{budget}") == "0":
            reset = parse_duration(headers.get(f"x-ratelimit-reset-{budget}"))
            if reset is not None:
                waits.append(reset)
    return max(waits) if waits else None


def response_headers(exc: BaseException) -> Mapping[str, str] | None:
    """The HTTP headers of the response behind ``exc``, if it carries one."""
    response = getattr(exc, "response", None)
    return getattr(response, "headers", None)


class RetryPolicy:
    """Which failures are worth another try, and how long to wait before it.

    Retried: Groq 429 (after ``retry-after`` or the rate-limit reset), 5xx, connection errors
    and timeouts, and transient store errors. Waits grow exponentially with full jitter,
    capped; a server-given wait is honoured as given (up to ``max_wait``).
    """

    def __init__(
        self, max_retries: int, *, base: float = 0.5, cap: float = 8.0, max_wait: float = 60.0
    ) -> None:
        self.max_retries = max_retries
        self.base, self.cap, self.max_wait = base, cap, max_wait

    def retryable(self, exc: BaseException) -> bool:
        """Whether ``exc`` is a transient failure."""
        if isinstance(exc, GroqgenError):
            return isinstance(exc, StoreError) and exc.transient
        import groq

        if isinstance(exc, (groq.RateLimitError, groq.APIConnectionError)):
            return True  # APITimeoutError is an APIConnectionError
        if isinstance(exc, groq.APIStatusError):
            return exc.status_code >= 500 or exc.status_code == 498  # 498: capacity exceeded
        return False

    def server_wait(self, exc: BaseException) -> float | None:
        """The wait the server asked for, if it said."""
        wait = retry_after(response_headers(exc))
        return None if wait is None else min(wait, self.max_wait)

    def wait(self, exc: BaseException, attempt: int) -> float:
        """Seconds to wait before attempt number ``attempt + 1`` (``attempt`` counts from 1)."""
        asked = self.server_wait(exc)
        if asked is not None:
            return asked
        return random.uniform(0, min(self.cap, self.base * 2 ** (attempt - 1)))


class RateGate:
    """A moment before which no new Groq request starts, shared by one client's calls.

    When Groq says "wait 2 s" to one task of a batch, every task holds back, instead of each
    finding out with a 429 of its own.
    """

    def __init__(self) -> None:
        self.not_before = 0.0

    def hold(self, seconds: float) -> None:
        """No request may start during the next ``seconds``."""
        self.not_before = max(self.not_before, time.monotonic() + seconds)

    def delay(self) -> float:
        """How long a request about to start should still wait."""
        return max(0.0, self.not_before - time.monotonic())


def _options(
    policy: RetryPolicy,
    gate: RateGate | None,
    stop_when: Callable[[], bool] | None,
    failed: BaseException | None,
) -> dict[str, Any]:
    import tenacity

    from .observe import note_retry

    done = 0 if failed is None else 1  # attempts already made before this retrier

    def wait(state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if exc is None:
            return 0.0
        seconds = policy.wait(exc, state.attempt_number + done)
        if gate is not None and policy.server_wait(exc) is not None:
            gate.hold(seconds)  # everyone sharing this client slows down, not just us
        return seconds

    limit = tenacity.stop_after_attempt(policy.max_retries + 1 - done)

    def stop(state: tenacity.RetryCallState) -> bool:
        return bool(limit(state)) or (stop_when is not None and stop_when())

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        if exc is not None and state.next_action is not None:
            note_retry(exc, state.next_action.sleep, state.attempt_number + done)

    return {
        "retry": tenacity.retry_if_exception(policy.retryable),
        "wait": wait,
        "stop": stop,
        "reraise": True,
        "before_sleep": before_sleep,
    }


def _first_pause(policy: RetryPolicy, gate: RateGate | None, failed: BaseException | None) -> float:
    from .observe import note_retry

    if failed is None:
        return 0.0
    seconds = policy.wait(failed, 1)
    note_retry(failed, seconds, 1)
    if gate is not None and policy.server_wait(failed) is not None:
        gate.hold(seconds)
    return seconds


def retrying(
    policy: RetryPolicy,
    *,
    gate: RateGate | None = None,
    stop_when: Callable[[], bool] | None = None,
    failed: BaseException | None = None,
) -> tenacity.Retrying:
    """A tenacity retrier carrying out ``policy``.

    Use it as ``for attempt in retrying(policy): with attempt: ...``.

    ``gate``: a server-given wait holds back every call sharing it. ``stop_when``: give up early
    once it answers True (a store known to be down). ``failed``: the first attempt already
    failed with this exception; the retrier waits as the policy says, then makes the attempts
    that are left.
    """
    import tenacity

    pause = _first_pause(policy, gate, failed)
    options = _options(policy, gate, stop_when, failed)
    if pause:
        options["before"] = lambda state: time.sleep(pause) if state.attempt_number == 1 else None
    return tenacity.Retrying(**options)


def async_retrying(
    policy: RetryPolicy,
    *,
    gate: RateGate | None = None,
    stop_when: Callable[[], bool] | None = None,
    failed: BaseException | None = None,
) -> tenacity.AsyncRetrying:
    """The asyncio twin of :func:`retrying`.

    Use it as ``async for attempt in async_retrying(policy): with attempt: ...``.
    """
    import tenacity

    pause = _first_pause(policy, gate, failed)
    options = _options(policy, gate, stop_when, failed)
    if pause:

        async def before(state: tenacity.RetryCallState) -> None:
            if state.attempt_number == 1:
                await asyncio.sleep(pause)

        options["before"] = before
    return tenacity.AsyncRetrying(**options)
