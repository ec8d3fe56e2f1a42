"""Every provider says how its outcomes come back, and its callbacks arrive under its own name."""

import pytest

from outbound.providers.callbacks import CallbackReceiver
from outbound.providers.registry import CALLBACK_RECEIVERS, PROVIDERS


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda p: p.name)
def test_a_provider_reports_in_process_or_receives_callbacks(provider):
    assert (provider.callbacks is None) == provider.reports_in_process
    if provider.callbacks is not None:
        assert issubclass(provider.callbacks, CallbackReceiver)
        assert provider.callbacks.name == provider.name
        assert provider.callbacks.routes


def test_names_and_routes_are_unique():
    assert len({p.name for p in PROVIDERS}) == len(PROVIDERS)
    names = [route.name for receiver in CALLBACK_RECEIVERS for route in receiver.routes]
    assert len(set(names)) == len(names)
    assert [r.name for r in CALLBACK_RECEIVERS] == ["webhook", "twilio"]
