"""Large lists are validated by a pool of processes, with the same answers in the same order."""

import pytest

from outbound.domain.phones import InvalidPhone
from outbound.services import phones


def test_the_pool_gives_the_same_answers_in_order(monkeypatch: pytest.MonkeyPatch):
    items: list[tuple[object, str | None]] = [
        (f"+3491234{n:04d}", None) if n % 7 else ("not a phone", None) for n in range(50)
    ]
    items.append(("600000000", "ES"))
    sequential = phones.normalize_all(items)
    monkeypatch.setattr(phones, "PARALLEL_FROM", 10)
    monkeypatch.setattr(phones, "CHUNK", 6)
    parallel = phones.normalize_all(items)
    assert [str(r) for r in parallel] == [str(r) for r in sequential]
    assert isinstance(parallel[0], InvalidPhone) and parallel[1].e164 == "+34912340001"
    assert parallel[-1].e164 == "+34600000000"
