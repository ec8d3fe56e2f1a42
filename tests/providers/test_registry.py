"""Every provider says how its outcomes come back, and is built from the server's settings
without the process assembly naming it."""

import asyncio

import pytest

from outbound.config import Settings
from outbound.domain.records import AttemptResult
from outbound.providers.callbacks import CallbackReceiver
from outbound.providers.registry import BY_NAME, CALLBACK_RECEIVERS, PROVIDERS
from outbound.providers.router import ProviderRouter
from outbound.providers.simulator import SimulatorProvider
from outbound.providers.twilio import TwilioCallbacks, TwilioProvider
from outbound.providers.webhook import WebhookCallbacks, WebhookProvider
from outbound.store.database import Database
from outbound.workers.assembly import callback_receivers, provider_factory

CREDENTIALS = {
    "webhook_provider_url": "https://runtime.example.com/calls",
    "webhook_provider_secret": "runtime-secret",
    "twilio_account_sid": "AC" + "0123456789abcdef" * 2,
    "twilio_auth_token": "twilio-auth-token",
    "twilio_twiml_url": "https://agent.example.com/twiml",
}


def _ignore(result: AttemptResult) -> None:
    raise AssertionError("no call is placed here")


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda p: p.name)
def test_a_provider_reports_in_process_or_receives_callbacks(provider):
    assert (provider.callbacks is None) == provider.reports_in_process
    if provider.callbacks is not None:
        assert issubclass(provider.callbacks, CallbackReceiver)
        assert provider.callbacks.name == provider.name
        assert provider.callbacks.routes


def test_names_and_routes_are_unique():
    assert len(BY_NAME) == len(PROVIDERS)
    names = [route.name for receiver in CALLBACK_RECEIVERS for route in receiver.routes]
    assert len(set(names)) == len(names)
    assert [r.name for r in CALLBACK_RECEIVERS] == ["webhook", "twilio"]


@pytest.mark.parametrize(
    ("telephony", "expected"),
    [("simulator", SimulatorProvider), ("webhook", WebhookProvider), ("twilio", TwilioProvider)],
)
def test_the_provider_outbound_telephony_names_is_built_from_the_settings(telephony, expected):
    settings = Settings(telephony=telephony, max_call_seconds=90, **CREDENTIALS)

    async def build() -> float:
        provider = provider_factory(settings, Database("sqlite://"))(_ignore)
        try:
            assert isinstance(provider, ProviderRouter)  # playbooks' connections go elsewhere
            assert type(provider.default) is expected
            return provider.max_call_seconds
        finally:
            await provider.aclose()

    seconds = asyncio.run(build())
    expected_seconds = {"simulator": 1.0 + 3.0, "webhook": 90, "twilio": 30 + 90}[telephony]
    assert seconds == expected_seconds


def test_callbacks_are_checked_for_each_provider_whose_credentials_are_set():
    assert callback_receivers(Settings()) == {}
    webhook = callback_receivers(Settings(webhook_provider_secret="s"))
    assert list(webhook) == ["webhook"] and isinstance(webhook["webhook"], WebhookCallbacks)
    both = callback_receivers(Settings(**CREDENTIALS))  # the simulator places the calls
    assert {name: type(r) for name, r in both.items()} == {
        "webhook": WebhookCallbacks,
        "twilio": TwilioCallbacks,
    }


def test_every_connection_type_has_its_adapter_loaded_on_first_use():
    from outbound.domain.connections import FIELDS
    from outbound.providers.platforms.registry import ADAPTERS

    assert set(ADAPTERS) == set(FIELDS)
    assert all(ADAPTERS[type_].type is type_ for type_ in ADAPTERS)
