"""Phone validation for large lists, spread over the machine's cores.

``phonenumbers`` is pure Python: a 100,000-contact list takes seconds on one core. Lists above
``PARALLEL_FROM`` are split into chunks validated by a pool of processes kept for the life of
the server.
"""

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import cache

from outbound.domain.phones import InvalidPhone, normalize_each

PARALLEL_FROM = 20_000  # contacts; below this one core is faster than shipping the work
CHUNK = 10_000  # numbers per task


@cache
def _pool() -> ProcessPoolExecutor:
    workers = max(2, os.cpu_count() or 2)
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))


def normalize_all(items: Sequence[tuple[object, str | None]]) -> list[str | InvalidPhone]:
    """Each ``(phone, country)`` as E.164, or the reason it is invalid, in order."""
    if len(items) < PARALLEL_FROM:
        return normalize_each(items)
    chunks = [items[start : start + CHUNK] for start in range(0, len(items), CHUNK)]
    results: list[str | InvalidPhone] = []
    for part in _pool().map(normalize_each, chunks):
        results.extend(part)
    return results


def warm_up() -> None:
    """Start the pool's processes now, so that the first large list does not wait for them."""
    pool = _pool()
    workers = getattr(pool, "_max_workers", 2)
    list(pool.map(normalize_each, [[("+14155550100", None)]] * workers))
