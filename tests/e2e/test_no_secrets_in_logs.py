"""The server's log never holds a secret or a contact's phone number.

A whole scenario runs against ``outbound serve`` (campaign with recalls, do-not-call list,
webhook endpoints, provider connections, the webhook provider's callback, bad tokens), and its
combined output is searched as raw text for every token, secret and phone it saw, in every
spelling.
"""

import json
import time
from pathlib import Path
from urllib.parse import quote

import httpx

from outbound.domain.phones import mask_phone
from outbound.services import accounts
from outbound.signing import SIGNATURE_HEADER, sign
from tests.conftest import migrated_database
from tests.factories import make_account
from tests.receiver import Receiver, receiving
from tests.servers import start_server, stop, wait_for
from tests.test_logs import PHONE_LIKE

PROVIDER_SECRET = "whpsec_" + "s3cr3t-of-the-runtime-" * 2
SECRET_KEY = "the-server-key-" + "k3y" * 8
# A provider connection's credentials, each recognisable.
CONNECTION_CREDENTIALS = {"api_key": "vapi_sk_" + "c" * 24, "webhook_secret": "vapi_wh_" + "d" * 24}


def _spellings(phone: str) -> list[str]:
    return [phone, quote(phone, safe=""), phone.removeprefix("+")]


def _connect_a_provider(http: httpx.Client, secrets: list[str]) -> None:
    """A provider connection made, read and deleted, and refused with its secrets in the body
    (a wrong type, a credential too many, a bad setting)."""
    body = {"type": "vapi", "name": "Vapi", "credentials": CONNECTION_CREDENTIALS}
    created = http.post("/provider-connection", json=body)
    assert created.status_code == 201, created.text
    connection_id = created.json()["connection_id"]
    assert http.get(f"/provider-connection/{connection_id}").status_code == 200
    assert http.get("/provider-connection").status_code == 200
    extra = "twilio_tok_" + "e" * 24
    secrets.append(extra)
    for refused in [
        {**body, "type": "vapi-2"},
        {**body, "credentials": {**CONNECTION_CREDENTIALS, "auth_token": extra}},
        {**body, "settings": {"api_base_url": f"ftp://{extra}"}},
    ]:
        answer = http.post("/provider-connection", json=refused)
        assert answer.status_code == 400, answer.text
    assert http.delete(f"/provider-connection/{connection_id}").status_code == 204


def test_no_token_secret_or_phone_reaches_the_log(tmp_path: Path):
    database_url = f"sqlite:///{tmp_path / 'outbound.db'}"
    database = migrated_database(database_url)
    tenant = make_account(database)  # before the first start: no demo token is printed
    spare_token = accounts.create_token(database, tenant.id)
    database.dispose()
    phones = [f"+3491233{n:04d}" for n in (0, 61, 85, 92, 140, 175)]
    suppressed, late, appended = phones[3], phones[4], phones[5]
    secrets = [
        tenant.token,
        spare_token,
        PROVIDER_SECRET,
        "ob_" + "w" * 43,
        SECRET_KEY,
        *CONNECTION_CREDENTIALS.values(),
    ]
    env = {
        "OUTBOUND_WEBHOOK_PROVIDER_SECRET": PROVIDER_SECRET,
        "OUTBOUND_SECRET_KEY": SECRET_KEY,
        "OUTBOUND_EVENT_RETRY_SECONDS": "0.1",
    }

    with (
        receiving(Receiver(fail_first=2)) as receiver,
        start_server(database_url, tmp_path, extra_env=env) as server,
        server.client(tenant.token) as http,
    ):
        # A receiver's URL may hold its own credential, as many hook URLs do.
        hook_key = "hk_" + "q" * 24
        secrets.append(hook_key)
        endpoint = http.post("/webhook-endpoint", json={"url": f"{receiver.url}?key={hook_key}"})
        assert endpoint.status_code == 201, endpoint.text
        secrets.append(endpoint.json()["secret"])
        assert http.post("/dnc", json={"phones": [suppressed, late]}).status_code == 200
        assert http.delete(f"/dnc/{quote(late, safe='')}").status_code == 204
        assert http.delete(f"/dnc/{quote(late, safe='')}").status_code == 404
        assert http.get("/dnc", params={"limit": 1}).status_code == 200
        _connect_a_provider(http, secrets)

        created = http.post(
            "/campaign",
            json={
                "playbook_id": str(tenant.playbook_id),
                "contacts": [{"phone": p, "first_name": "Ada"} for p in phones[:5]],
                "recall": [0.01],
            },
        )
        assert created.status_code == 202, created.text
        campaign_id = created.json()["campaign_id"]
        added = http.post(
            f"/campaign/{campaign_id}/contacts", json={"contacts": [{"phone": appended}]}
        )
        assert added.status_code == 202, added.text
        bad = http.post(
            "/campaign",
            json={"playbook_id": str(tenant.playbook_id), "contacts": [{"phone": "+1415555"}]},
        )
        assert bad.status_code == 400

        wrong = httpx.get(
            f"{server.url}/campaign", headers={"Authorization": f"Bearer {secrets[3]}"}
        )
        assert wrong.status_code == 401
        with server.client(spare_token) as spare:
            assert spare.get(f"/campaign/{campaign_id}").status_code == 200
        body = json.dumps({"provider_call_id": "nope", "event": "ended"}).encode()
        unsigned = httpx.post(f"{server.url}/provider/webhook/events", content=body)
        assert unsigned.status_code == 401
        signed = httpx.post(
            f"{server.url}/provider/webhook/events",
            content=body,
            headers={SIGNATURE_HEADER: sign(PROVIDER_SECRET, int(time.time()), body)},
        )
        assert signed.status_code == 400  # an ended event without an outcome

        wait_for(
            lambda: http.get(f"/campaign/{campaign_id}").json()["status"] == "completed",
            timeout=60,
            interval=0.2,
        )
        calls = http.get(f"/campaign/{campaign_id}/calls").json()["calls"]
        assert len(calls) == len(phones)  # five given, one appended
        assert http.get(f"/contact/{calls[0]['contact_id']}").status_code == 200
        wait_for(lambda: any(e["type"] == "campaign.completed" for e in receiver.accepted()), 30)
        assert stop(server.process) == 0
        log = server.log()

    assert "Demo account created" not in log
    assert '"method": "GET", "path": "/campaign/' in log, "the request log is in the output"
    assert '"method": "POST", "path": "/provider-connection", "status": 400' in log
    assert "dispatcher" in log
    leaked_secrets = [s for s in secrets if s in log]
    assert not leaked_secrets, f"secrets in the log: {leaked_secrets}"
    leaked_phones = [s for p in phones for s in _spellings(p) if s in log]
    assert not leaked_phones, f"phones in the log: {leaked_phones}"
    phone_like = PHONE_LIKE.findall(log)
    assert not phone_like, f"phone-like text in the log: {phone_like[:5]}"
    assert mask_phone(late) in log, "a masked phone is how a log line names a number"
