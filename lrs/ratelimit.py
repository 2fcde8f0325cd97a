"""Per-credential request rates, one limit whichever worker serves a request.

Off unless a tenant has a rate set. A credential may send `burst` requests
at once and then `rate` a second (a token bucket), kept as GCRA keeps it: one
number per credential, the theoretical arrival time (TAT) of its next
request were it to send at exactly its rate. A request at `now` is let in
when now >= TAT - (burst - 1) / rate, and then TAT = max(TAT, now) + 1 / rate.
A bucket whose TAT has passed is full, the same as none. At its rate a TAT is
never more than burst / rate ahead of now; one further ahead was counted at a
slower rate since raised, and is made an empty bucket at the new one.

The buckets are slots of a table of fixed size (a 64-bit hash of the
credential, its TAT), found by the hash with a short linear probe. With
several workers the kernel spreads a client's connections over them, so
`lrs serve` makes the table a file (named by RATE_BUCKETS_ENV) that every
worker maps, and a check holds a lock on it (fcntl; the kernel drops it if
its holder dies). Times are time.monotonic(): CLOCK_MONOTONIC, one clock for
every process of the host. A single worker keeps the table in its own memory.
When every slot a credential may take holds another credential's bucket not
yet full, the one that fills soonest is given up: that credential starts
afresh. The table's size bounds memory, and it errs towards letting requests
in; the limit protects the service from a runaway client, it is not billing."""

from __future__ import annotations

import fcntl
import functools
import hashlib
import math
import mmap
import os
import struct
import time
from collections.abc import Callable
from pathlib import Path

from lrs import metrics
from lrs.auth.principal import Principal
from lrs.errors import TooManyRequests

# The file `lrs serve --workers N` makes for its workers (lrs.cli).
RATE_BUCKETS_ENV = "LRS_SERVE_RATE_BUCKETS"
SLOTS = 1 << 16  # 1 MiB; a power of two
_SLOT = struct.Struct("<Qd")  # the credential's hash (0: never used), its TAT
_PROBE = 8


def make_table(path: Path, slots: int = SLOTS) -> None:
    """An empty shared table, made before the workers start."""
    with open(path, "wb") as table:
        table.truncate(slots * _SLOT.size)


class RateLimiter:
    def __init__(self, path: str | Path | None = None, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """The table in the file at `path` (made by make_table; its size
        gives the number of slots), else one of this process's own."""
        self._clock = clock
        if path is None:
            self._fd: int | None = None
            self._table = mmap.mmap(-1, SLOTS * _SLOT.size)
        else:
            self._fd = os.open(path, os.O_RDWR)
            self._table = mmap.mmap(self._fd, 0)
        self._slots = len(self._table) // _SLOT.size
        assert self._slots & (self._slots - 1) == 0, "slots: a power of two"

    @classmethod
    def for_this_process(cls) -> RateLimiter:
        """The table `lrs serve` made for its workers, if it made one."""
        return cls(os.environ.get(RATE_BUCKETS_ENV) or None)

    def close(self) -> None:
        self._table.close()
        if self._fd is not None:
            os.close(self._fd)

    def check(self, principal: Principal) -> None:
        """429 with Retry-After when the credential is over its rate."""
        if principal.rate_limit is None:
            return
        rate, burst = principal.rate_limit
        wait = self._take(_credential_hash(principal.tenant, principal.credential), rate, burst)
        if wait > 0.0:
            metrics.RATE_LIMITED.labels(tenant=principal.tenant).inc()
            raise TooManyRequests(f"this credential is over its rate of {rate:g} requests "
                                  f"per second", headers={"Retry-After": str(max(1, math.ceil(wait)))})

    def _take(self, key: int, rate: float, burst: int) -> float:
        """0 when a request is let in (and counted), else the seconds until
        one would be."""
        interval = 1.0 / rate
        if self._fd is not None:
            fcntl.lockf(self._fd, fcntl.LOCK_EX)
        try:
            now = self._clock()
            offset, tat = self._slot(key)
            if tat > now + burst * interval:  # counted at a slower rate since raised
                tat = now + burst * interval
                _SLOT.pack_into(self._table, offset, key, tat)
            earliest = tat - (burst - 1) * interval
            if now < earliest:
                return earliest - now
            _SLOT.pack_into(self._table, offset, key, max(tat, now) + interval)
            return 0.0
        finally:
            if self._fd is not None:
                fcntl.lockf(self._fd, fcntl.LOCK_UN)

    def _slot(self, key: int) -> tuple[int, float]:
        """Where `key`'s bucket is, and its TAT (0 for a new one): its own
        slot if it has one among those it may take, else the one among them
        that fills soonest (an unused slot first, TAT 0)."""
        mask = self._slots - 1
        chosen, soonest = 0, math.inf
        for step in range(_PROBE):
            offset = ((key + step) & mask) * _SLOT.size
            held, tat = _SLOT.unpack_from(self._table, offset)
            if held == key:
                return offset, tat
            if tat < soonest:
                chosen, soonest = offset, tat
        return chosen, 0.0


@functools.lru_cache(maxsize=1 << 12)  # a hit 0.1 us, the hash ~1 us
def _credential_hash(tenant: str, credential: str) -> int:
    digest = hashlib.blake2b(f"{tenant}\x00{credential}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") or 1  # 0 marks a slot never used
