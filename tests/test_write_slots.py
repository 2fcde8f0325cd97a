"""When the statement writer starts a group commit (statement_writer._Slots):
at once when none is in flight; beside others only once the one started last
has run `patience`; never more than `limit`; waiting ones in arrival order."""

from __future__ import annotations

import asyncio

from lrs.store.statement_writer import _Slots


async def _run(slots: _Slots, name: str, seconds: float, log: list) -> None:
    loop = asyncio.get_running_loop()
    async with slots:
        log.append((name, round(loop.time(), 3)))
        await asyncio.sleep(seconds)


def _starts(patience: float, limit: int, jobs: list[tuple[str, float, float]]) -> dict[str, float]:
    """Start times (seconds after the first call) of jobs (name, arrival, duration)."""
    async def scenario() -> dict[str, float]:
        slots = _Slots(limit, patience)
        loop = asyncio.get_running_loop()
        began = loop.time()
        log: list = []

        async def job(name: str, arrival: float, seconds: float) -> None:
            await asyncio.sleep(arrival)
            await _run(slots, name, seconds, log)

        await asyncio.gather(*(job(*j) for j in jobs))
        return {name: at - round(began, 3) for name, at in log}

    return asyncio.run(scenario())


def test_without_patience_transactions_start_together_up_to_the_limit():
    starts = _starts(0.0, 2, [("a", 0, 0.2), ("b", 0, 0.2), ("c", 0, 0.2)])
    assert starts["a"] < 0.05 and starts["b"] < 0.05
    assert 0.18 < starts["c"] < 1.0  # the third waits for a free slot


def test_a_quick_transaction_keeps_the_next_waiting_until_it_ends():
    starts = _starts(0.5, 4, [("a", 0, 0.1), ("b", 0.01, 0.1)])
    assert starts["a"] < 0.05
    assert 0.08 < starts["b"] < 0.4  # when a ended: not at once, nor after 0.5 s


def test_a_slow_transaction_holds_the_next_back_only_for_the_patience():
    starts = _starts(0.1, 4, [("slow", 0, 1.0), ("next", 0.01, 0.05)])
    assert 0.08 < starts["next"] < 0.6  # not when the slow one ends, at 1 s


def test_waiting_transactions_start_in_the_order_they_came():
    jobs = [("first", 0, 0.1)] + [(f"w{i}", 0.01 + i * 0.005, 0.02) for i in range(5)]
    starts = _starts(10.0, 1, jobs)
    waiting = sorted((at, name) for name, at in starts.items() if name != "first")
    assert [name for _, name in waiting] == [f"w{i}" for i in range(5)]


def test_a_waiter_cancelled_gives_up_its_place():
    async def scenario() -> list:
        slots = _Slots(1, 10.0)
        log: list = []
        holder = asyncio.create_task(_run(slots, "holder", 0.1, log))
        await asyncio.sleep(0.01)
        gone = asyncio.create_task(_run(slots, "gone", 0.01, log))
        after = asyncio.create_task(_run(slots, "after", 0.01, log))
        await asyncio.sleep(0.01)
        gone.cancel()
        await asyncio.gather(holder, after, gone, return_exceptions=True)
        return [name for name, _ in log]

    assert asyncio.run(scenario()) == ["holder", "after"]


def test_a_waiter_cancelled_after_its_place_was_passed_over_stays_cancelled():
    # Cancelled while waiting, and the slots pass over its (cancelled) turn
    # before it runs again: it ends cancelled, and the slots stay usable.
    async def scenario() -> tuple[bool, list]:
        slots = _Slots(1, 10.0)
        log: list = []
        await slots.__aenter__()  # held by this test
        waiter = asyncio.create_task(_run(slots, "waiter", 0.01, log))
        await asyncio.sleep(0.01)
        waiter.cancel()
        await slots.__aexit__()  # frees the slot before the waiter runs again
        outcome = (await asyncio.gather(waiter, return_exceptions=True))[0]
        await _run(slots, "after", 0.01, log)
        return isinstance(outcome, asyncio.CancelledError), [name for name, _ in log]

    assert asyncio.run(scenario()) == (True, ["after"])
