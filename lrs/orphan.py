"""A worker of `lrs serve --workers N` stops when the process that started
it is gone.

uvicorn's supervisor (the `lrs serve` process) stops its workers when it is
asked to stop. If it is killed outright instead (SIGKILL: `kill -9`, the
OOM killer, a supervisor giving up on a slow stop), its workers are left
running, adopted by init: they go on serving on the port, so the next
`lrs serve` cannot bind it and exits ("Address already in use"), and an
operator sees a dead service that still answers. Each worker therefore
watches its parent and, once it has been adopted by another, stops as on
SIGTERM: what is in flight is answered and pending group commits are
written first."""

from __future__ import annotations

import asyncio
import logging
import os
import signal

log = logging.getLogger("lrs.orphan")

CHECK_SECONDS = 1.0
# `lrs serve` puts its pid here for its workers: a worker that looked up its
# parent only once started could find init already, if the parent was killed
# while the worker was still starting.
PARENT_ENV = "LRS_SERVE_PID"


def running(pid: int) -> bool:
    """Whether process `pid` exists (another user's counts: it is not ours)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def parent_pid() -> int | None:
    """The `lrs serve` that started this worker, if one did."""
    value = os.environ.get(PARENT_ENV, "")
    return int(value) if value.isdigit() else None


async def stop_when_orphaned(parent: int, *, every: float = CHECK_SECONDS) -> None:
    """Wait until this process's parent is no longer `parent`, then send
    ourselves SIGTERM (uvicorn's graceful stop)."""
    while os.getppid() == parent:
        await asyncio.sleep(every)
    log.warning("the lrs serve process that started this worker (pid %d) is gone: stopping",
                parent)
    os.kill(os.getpid(), signal.SIGTERM)
