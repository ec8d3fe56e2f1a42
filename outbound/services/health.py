"""Readiness: whether this process can take traffic (its database answers, schema current)."""

import logging
from dataclasses import dataclass

from outbound.exceptions import DatabaseUnavailable
from outbound.store.database import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Readiness:
    """Ready, or what is not ready (``"database"`` or ``"schema"``) and why."""

    ready: bool
    field: str | None = None
    reason: str | None = None


READY = Readiness(ready=True)


def readiness(database: Database) -> Readiness:
    try:
        current = database.schema_is_current()
    except DatabaseUnavailable as exc:
        log.warning("readiness: database does not answer: %s", exc.__cause__)
        return Readiness(False, "database", f"the database does not answer ({exc.message})")
    if not current:
        return Readiness(
            False, "schema", "database migrations are not current: run `outbound db upgrade`"
        )
    return READY
