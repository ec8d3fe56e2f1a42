"""A pool of processes, kept for the life of the server, for the work of large lists.

``phonenumbers`` and pydantic are CPU-bound Python: a 100,000-contact list takes seconds on one
core. Lists of phones above ``PARALLEL_FROM`` (``POST /dnc``) are split into chunks validated
here; contact lists are prepared here chunk by chunk (``outbound.services.contact_lists``).
"""

import importlib
import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import cache, partial

from outbound.domain.phones import InvalidPhone, Normalized, normalize_each
from outbound.workers import gc_tuning

PARALLEL_FROM = 20_000  # contacts; below this one core is faster than shipping the work
CHUNK = 10_000  # numbers per task
ORPHAN_CHECK_SECONDS = 1.0  # how often a process checks that the server is still there
# Modules each process imports as it starts, before its first task: ``preload`` adds to them.
PRELOADED: list[str] = ["outbound.services.contact_lists"]


@cache
def pool() -> ProcessPoolExecutor:
    """The processes, started on first use and kept for the life of the server."""
    workers = max(2, os.cpu_count() or 2)
    return ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start,
        initargs=(tuple(PRELOADED),),
    )


def preload(module: str) -> None:
    """Have the processes import ``module`` as they start (call before ``warm_up``): a task
    that needs it then does not wait for the import."""
    if module not in PRELOADED:
        PRELOADED.append(module)


def _start(modules: tuple[str, ...]) -> None:
    threading.Thread(target=_exit_with, args=(os.getppid(),), daemon=True).start()
    for module in modules:
        importlib.import_module(module)
    gc_tuning.tune()


def _exit_with(parent: int) -> None:
    """Exit once the server that started this process is gone, even killed without a word."""
    while os.getppid() == parent:
        time.sleep(ORPHAN_CHECK_SECONDS)
    os._exit(0)


def shutdown() -> None:
    """Stop the processes, if they were started (the server is stopping)."""
    if pool.cache_info().currsize:
        pool().shutdown(wait=True, cancel_futures=True)
        pool.cache_clear()


def normalize_all(
    items: Sequence[tuple[object, str | None]], with_zones: bool = False
) -> list[Normalized | InvalidPhone]:
    """Each ``(phone, country)`` as E.164, or the reason it is invalid, in order."""
    if len(items) < PARALLEL_FROM:
        return normalize_each(items, with_zones)
    chunks = [items[start : start + CHUNK] for start in range(0, len(items), CHUNK)]
    parts = pool().map(partial(normalize_each, with_zones=with_zones), chunks)
    return [result for part in parts for result in part]


def warm_up() -> None:
    """Start the pool's processes now, so that the first large list does not wait for them."""
    processes = pool()
    workers = getattr(processes, "_max_workers", 2)
    list(processes.map(normalize_each, [[("+14155550100", None)]] * workers))
