"""Per-credential request rates: a token bucket per credential, per process.

Off unless a tenant has a rate set. Buckets live in the worker's memory, so
with N workers a credential may reach N times its rate in the worst case;
the limit protects the service from a runaway client, it is not billing."""

from __future__ import annotations

import math
import time
from collections import OrderedDict

from lrs import metrics
from lrs.auth.principal import Principal
from lrs.errors import TooManyRequests

_MAX_BUCKETS = 100_000  # bounded memory: the least recently used go first


class RateLimiter:
    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._buckets: OrderedDict[tuple[str, str], tuple[float, float]] = OrderedDict()

    def check(self, principal: Principal) -> None:
        """429 with Retry-After when the credential is over its rate."""
        if principal.rate_limit is None:
            return
        rate, burst = principal.rate_limit
        key = (principal.tenant, principal.credential)
        now = self._clock()
        tokens, last = self._buckets.pop(key, (float(burst), now))
        tokens = min(float(burst), tokens + (now - last) * rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            metrics.RATE_LIMITED.labels(tenant=principal.tenant).inc()
            wait = math.ceil((1.0 - tokens) / rate)
            raise TooManyRequests(f"this credential is over its rate of {rate:g} requests "
                                  f"per second", headers={"Retry-After": str(max(1, wait))})
        self._buckets[key] = (tokens - 1.0, now)
        if len(self._buckets) > _MAX_BUCKETS:
            self._buckets.popitem(last=False)
