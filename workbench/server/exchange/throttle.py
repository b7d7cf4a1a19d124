"""Log-in throttling that slows guessing without locking owners out
(docs/adr/0111-login-throttling-per-account-and-client.md).

Two counters of failed log-ins, both checked and reserved in one atomic step *before* the
password is verified, so concurrent attempts cannot slip past a limit:

- per ``(account, client)``: a few free attempts, then one attempt at a time after an
  exponentially growing delay (online guessing against one account from one client);
- per client: more free attempts across *all* accounts, then the same delays (password
  spraying: one guess against many accounts).

There is deliberately no counter per account alone: an attacker from one client would
otherwise lock the owner out from every other client (OWASP Authentication Cheat Sheet,
"account lockout" as a denial of service). A client with no failures always gets its
attempt. The client is the peer address the server sees (``request.client.host``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import TooManyAttempts


@dataclass
class _Counter:
    failures: int = 0
    in_flight: int = 0
    blocked_until: float = 0.0
    last: float = 0.0


@dataclass(frozen=True)
class Attempt:
    """A reserved log-in attempt: report its outcome with :meth:`LoginThrottle.failed` or
    :meth:`LoginThrottle.succeeded`."""

    keys: tuple[tuple[str, ...], ...] = field(default=())


class LoginThrottle:
    """Atomic, progressive log-in delays per (account, client) and per client.

    Parameters
    ----------
    free_per_account_client
        Failed attempts allowed for one account from one client before delays start.
    free_per_client
        Failed attempts allowed from one client across all accounts before delays start.
    base_delay_s
        The first delay; each further failure doubles it.
    max_delay_s
        The longest delay.
    forget_after_s
        A counter with no failure for this long starts again from zero.
    clock
        Monotonic seconds (tests may pass their own).
    """

    def __init__(
        self,
        *,
        free_per_account_client: int = 5,
        free_per_client: int = 20,
        base_delay_s: float = 5.0,
        max_delay_s: float = 900.0,
        forget_after_s: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free = {"pair": free_per_account_client, "client": free_per_client}
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.forget_after_s = forget_after_s
        self._clock = clock
        self._lock = threading.Lock()
        self._counters: dict[tuple[str, ...], _Counter] = {}

    def begin(self, account: str, client: str) -> Attempt:
        """Reserve one attempt to log in to ``account`` from ``client``.

        Raises
        ------
        TooManyAttempts
            The (account, client) pair or the client must wait; ``headers`` carries
            ``Retry-After``.
        """
        keys = (("pair", account, client), ("client", client))
        now = self._clock()
        with self._lock:
            wait = 0.0
            for key in keys:
                c = self._live(key, now)
                if c.failures + c.in_flight >= self.free[key[0]]:
                    # past the free attempts: one at a time, and only after the delay
                    busy = c.in_flight > 0
                    wait = max(wait, c.blocked_until - now, 1.0 if busy else 0.0)
            if wait > 0:
                raise _too_many(wait)
            for key in keys:
                self._counters.setdefault(key, _Counter()).in_flight += 1
        return Attempt(keys)

    def failed(self, attempt: Attempt) -> None:
        """Record a wrong password (or unknown account) for a reserved attempt."""
        now = self._clock()
        with self._lock:
            for key in attempt.keys:
                c = self._counters.setdefault(key, _Counter())
                c.in_flight = max(0, c.in_flight - 1)
                c.failures += 1
                c.last = now
                over = c.failures - self.free[key[0]]
                if over >= 0:
                    c.blocked_until = now + min(self.max_delay_s, self.base_delay_s * 2**over)
            if len(self._counters) > 100_000:
                self._prune(now)

    def succeeded(self, attempt: Attempt) -> None:
        """Record a correct password: the (account, client) pair starts afresh; the
        client's spraying counter keeps its failures (a known account does not wash them)."""
        with self._lock:
            for key in attempt.keys:
                c = self._counters.get(key)
                if c is None:
                    continue
                c.in_flight = max(0, c.in_flight - 1)
                if key[0] == "pair" and c.in_flight == 0:
                    del self._counters[key]

    def _live(self, key: tuple[str, ...], now: float) -> _Counter:
        c = self._counters.get(key)
        if c is None:
            return _Counter()
        if c.in_flight == 0 and c.failures and now - c.last > self.forget_after_s:
            del self._counters[key]
            return _Counter()
        return c

    def _prune(self, now: float) -> None:
        stale = [
            k
            for k, c in self._counters.items()
            if c.in_flight == 0 and (now - c.last > self.forget_after_s or now > c.blocked_until)
        ]
        for k in stale:
            del self._counters[k]


def _too_many(wait_s: float) -> TooManyAttempts:
    seconds = max(1, int(wait_s + 0.999))
    err = TooManyAttempts(
        f"Too many failed log-ins from here; wait {seconds} s before trying again "
        f"(ログインの失敗が続いたため、{seconds} 秒後に再度お試しください)."
    )
    err.headers = {"Retry-After": str(seconds)}
    return err
