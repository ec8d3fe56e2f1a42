"""Fuzzing the API from its own OpenAPI document, with schemathesis, against ``outbound serve``.

Every operation of /openapi.json gets valid and invalid requests (schemathesis' examples,
coverage and fuzzing phases, a bounded number of each, reproducible from a fixed seed), sent
with a valid token of an account whose playbook, campaign, contact, webhook endpoint and provider
connection are known, so that the requests reach past the 404s. Each answer must be no 5xx, a
status code the operation documents, and a body of the documented content type and schema.

The dashboard (``/`` and ``/static/*``: HTML and files, not in the document) is not fuzzed. The
providers' callbacks are: their signatures are checked first, so they answer 401 to anything
schemathesis makes up, which must conform all the same.
"""

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from outbound.api.app import create_app
from outbound.config import Settings
from outbound.workers.assembly import open_database
from tests.conftest import migrated_database
from tests.factories import connection_body, make_account, phone
from tests.servers import Server, start_server

SEED = 20261124
FUZZ_EXAMPLES = 100  # generated requests per operation in the fuzzing phase, on top of the
# deterministic examples and coverage phases
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
ENV = {
    "OUTBOUND_RATE_LIMIT_WRITES_PER_SECOND": "0",  # the fuzzer writes faster than a client
    "OUTBOUND_WEBHOOK_PROVIDER_SECRET": "runtime-secret",
    "OUTBOUND_TWILIO_AUTH_TOKEN": "twilio-auth-token",
    "OUTBOUND_SECRET_KEY": "the key of provider credentials",
}


@dataclass
class Target:
    """The fuzzed server and the resources of the account the requests are made as."""

    server: Server
    token: str
    playbook_id: str
    known: dict[str, str]  # path parameter -> an id that exists
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)

    def aim(self, case: schemathesis.Case) -> None:
        """Point some requests at resources that exist (a made-up id only finds 404)."""
        for name, value in (case.path_parameters or {}).items():
            if name in self.known and _half(value):
                case.path_parameters[name] = self.known[name]
        body = case.body
        if isinstance(body, dict) and _is_uuid(body.get("playbook_id")) and _half(body):
            body["playbook_id"] = self.playbook_id


def _half(value: object) -> bool:
    """True for about half the values, always the same way (the run stays reproducible)."""
    return len(repr(value)) % 2 == 0


def _is_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    workdir = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite:///{workdir / 'outbound.db'}"
    database = migrated_database(url)
    tenant = make_account(database)
    database.dispose()
    with start_server(url, workdir, extra_env=ENV) as server, server.client(tenant.token) as http:
        campaign = http.post(
            "/campaign",
            json={
                "playbook_id": str(tenant.playbook_id),
                "contacts": [{"phone": phone(n)} for n in range(3)],
                "launch_at": "2099-01-01T00:00:00Z",
            },
        ).json()["campaign_id"]
        contact = http.get(f"/campaign/{campaign}/calls").json()["calls"][0]["contact_id"]
        suppressed = phone(4)
        http.post("/dnc", json={"phones": [suppressed]})
        endpoint = http.post("/webhook-endpoint", json={"url": "http://127.0.0.1:9/h"}).json()
        # Another playbook than the campaigns': the fuzzer may archive it.
        playbook = http.post("/playbook", json={"name": "Fuzzed"}).json()
        connection = http.post("/provider-connection", json=connection_body()).json()
        started = time.monotonic()
        fuzzed = Target(
            server=server,
            token=tenant.token,
            playbook_id=str(tenant.playbook_id),
            known={
                "campaign_id": campaign,
                "contact_id": contact,
                "endpoint_id": endpoint["id"],
                "playbook_id": playbook["playbook_id"],
                "connection_id": connection["connection_id"],
                "phone": suppressed,
            },
        )
        yield fuzzed
        total = sum(fuzzed.statuses.values())
        print(
            f"\nfuzz: {total} requests in {time.monotonic() - started:.0f} s;",
            ", ".join(f"{op} {code}: {n}" for (op, code), n in sorted(fuzzed.statuses.items())),
        )
        assert "Traceback" not in server.log()


def _document() -> dict[str, Any]:
    """The document ``outbound serve`` serves, built before any server runs (collection)."""
    settings = Settings(database_url="sqlite:///:memory:", telephony="simulator")
    return create_app(settings, open_database(settings)).openapi()


# schemathesis' lazy loader (``from_fixture``) does not work with pytest 9.2, so the schema is
# loaded when the module is, from the application, and the cases are sent to the live server.
schema = schemathesis.openapi.from_dict(
    _document(),
    config=schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {"mode": "all", "deterministic": True},
            "phases": {"stateful": {"enabled": False}},
        }
    ),
)


@settings(
    max_examples=FUZZ_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@schema.parametrize()
def test_every_answer_conforms_to_the_document(case: schemathesis.Case, target: Target):
    target.aim(case)
    response = case.call_and_validate(
        base_url=target.server.url,
        headers={"Authorization": f"Bearer {target.token}"},
        checks=CHECKS,
    )
    target.statuses[(f"{case.method} {case.path}", response.status_code)] += 1


def test_the_fuzzed_document_is_the_served_one(target: Target):
    assert httpx.get(f"{target.server.url}/openapi.json").json() == _document()
