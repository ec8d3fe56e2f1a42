"""The claim's sort: what becomes of each due call a dispatcher has locked.

In due order, each call is skipped (its phone is on the do-not-call list), deferred to its
calling window's next opening (the window is closed now, in the call's zone), started (the
pacing budgets have room) or held back (they have none: it stays due). Pure: imports only
``domain``.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar
from uuid import UUID

from outbound.domain.pacing import Pacer
from outbound.domain.windows import CallingWindow, is_open, next_opening, zone_of


class DueCall(Protocol):
    """What the sort reads of a due call (the store's row has more)."""

    @property
    def id(self) -> UUID: ...
    @property
    def campaign_id(self) -> UUID: ...
    @property
    def account_id(self) -> UUID: ...
    @property
    def timezone(self) -> str | None: ...
    @property
    def suppressed(self) -> bool: ...  # the phone is on the account's do-not-call list
    @property
    def calling_window(self) -> CallingWindow | None: ...  # its campaign's


Due = TypeVar("Due", bound=DueCall)


@dataclass(frozen=True)
class ClaimSort(Generic[Due]):
    """Every due call lands in exactly one of these, in due order within each."""

    skipped: list[Due]  # on the do-not-call list: never dialed
    deferred: list[tuple[UUID, datetime]]  # the call, due again at its window's next opening
    starting: list[Due]  # an attempt starts now
    held: list[Due]  # no room in a pacing budget: still due, for a later claim

    @property
    def paced(self) -> bool:
        """Due calls were held back by a pacing limit."""
        return bool(self.held)


def sort_due_calls(due: Iterable[Due], pacer: Pacer, now: datetime) -> ClaimSort[Due]:
    """Sort ``due`` (in due order), each call in its campaign's calling window.

    Starting calls are counted against ``pacer`` as they are taken, earliest first.
    """
    skipped: list[Due] = []
    deferred: list[tuple[UUID, datetime]] = []
    starting: list[Due] = []
    held: list[Due] = []
    for call in due:
        if call.suppressed:
            skipped.append(call)
            continue
        window = call.calling_window
        if window is not None and not is_open(window, zone_of(call.timezone), now):
            deferred.append((call.id, next_opening(window, zone_of(call.timezone), now)))
        elif pacer.take(call.account_id, call.campaign_id):
            starting.append(call)
        else:
            held.append(call)
    return ClaimSort(skipped, deferred, starting, held)
