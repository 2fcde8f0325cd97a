"""Which activity definitions this worker has seen held in the canonical
ones, so that a group commit can leave them out of lrs_write_statements.

Looking up and comparing a held definition costs PostgreSQL ~20 us an
activity, and nearly every definition a platform sends is one it sent
before (migrations/0016). Remembered per tenant as facts "a definition
with this fingerprint holds in the canonical definition of this activity",
each tied to the tenant's definitions epoch when the call that showed it
ended. The epoch moves only when a canonical definition changes, so a fact
holds while its epoch is the tenant's; a call that relies on facts names
their epoch, and the database refuses the call when it has moved on (then
the caller forgets the tenant's facts and sends everything).

Facts from two calls are kept together only when both ended at the same
epoch: then no definition changed between them. A call that ended at a
newer epoch replaces older facts; one that ended at an older epoch (its
answer came late) adds nothing."""

from __future__ import annotations

import dataclasses

from lrs.xapi import jsonparse

# What one worker remembers, across tenants: about 190 bytes an activity
# (its id and a fingerprint), so ~19 MB. Past it, it starts over.
MAX_ACTIVITIES = 100_000


def fingerprint(definition: dict) -> int:
    """The same for equal definitions serialized alike (a client sends its
    definitions the same way each time; one written in another key order
    is only sent to the database once more). 64 bits: two definitions of
    one activity share one by chance once in 2**64."""
    return hash(jsonparse.dumps(definition))


@dataclasses.dataclass(slots=True)
class TenantFacts:
    epoch: int
    # activity id -> the fingerprint of the definition last seen held (a
    # platform that sends two versions of one activity's definition by turns
    # has the other one looked up)
    holding: dict[str, int]

    def holds(self, activity_id: str, print_: int) -> bool:
        return self.holding.get(activity_id) == print_


class HeldDefinitions:
    def __init__(self, max_activities: int = MAX_ACTIVITIES) -> None:
        self._tenants: dict[int, TenantFacts] = {}
        self._activities = 0
        self._max = max_activities

    def facts(self, tenant_id: int) -> TenantFacts | None:
        return self._tenants.get(tenant_id)

    def learn(self, tenant_id: int, epoch: int, holding: dict[str, int]) -> None:
        """After a call that ended at `epoch`: each of `holding`'s
        definitions holds in its activity's canonical definition."""
        known = self._tenants.get(tenant_id)
        if known is not None and epoch < known.epoch:
            return
        if known is None or epoch > known.epoch:
            self.forget(tenant_id)
            known = self._tenants[tenant_id] = TenantFacts(epoch, {})
        before = len(known.holding)
        known.holding.update(holding)
        self._activities += len(known.holding) - before
        if self._activities > self._max:
            self._tenants.clear()
            self._activities = 0

    def forget(self, tenant_id: int) -> None:
        known = self._tenants.pop(tenant_id, None)
        if known is not None:
            self._activities -= len(known.holding)


# One per process: each worker learns from its own calls.
HELD = HeldDefinitions()
