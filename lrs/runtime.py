"""What the running app holds: settings and the resources its lifespan owns."""

from __future__ import annotations

import dataclasses
from typing import Any

from lrs.config import Settings
from lrs.store.db import Database


@dataclasses.dataclass
class Runtime:
    settings: Settings
    db: Database
    # Later issues hang their per-process services here (the group-commit
    # writer, caches); each is started and stopped by the app's lifespan.
    services: dict[str, Any] = dataclasses.field(default_factory=dict)
