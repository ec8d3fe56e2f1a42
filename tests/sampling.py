"""The peak of calls in progress, sampled from the database while a test runs its workers."""

import threading
from collections.abc import Callable
from types import TracebackType

from sqlalchemy import ColumnElement, func, select

from outbound.domain.statuses import CallStatus
from outbound.store import tables
from outbound.store.database import Database

SAMPLE_INTERVAL_SECONDS = 0.01


class InProgressPeak:
    """The largest number of calls in progress that match ``which`` (None: not yet known, no
    sample), read from the database in a thread of its own for the life of the ``with`` block.
    """

    def __init__(
        self,
        database: Database,
        which: Callable[[], ColumnElement[bool] | None],
        interval: float = SAMPLE_INTERVAL_SECONDS,
    ) -> None:
        self.value = 0
        self._database = database
        self._which = which
        self._interval = interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> "InProgressPeak":
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stopping.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stopping.is_set():
            condition = self._which()
            if condition is not None:
                with self._database.engine.connect() as conn:
                    count = conn.execute(
                        select(func.count()).where(
                            condition, tables.calls.c.status == CallStatus.IN_PROGRESS.value
                        )
                    ).scalar_one()
                self.value = max(self.value, count)
            self._stopping.wait(self._interval)
