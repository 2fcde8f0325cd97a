"""How the LRS writes instants: ISO 8601, UTC, milliseconds, `Z`."""

from __future__ import annotations

import datetime as dt


def iso(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
