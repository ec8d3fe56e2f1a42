"""The outbox keeps only the events some endpoint of their account wants: decided as they come
for the accounts read with ``expect``, at ``publish`` for the others."""

import uuid

from outbound.clock import utcnow
from outbound.services import accounts, events, webhooks
from outbound.services.events import Outbox
from outbound.store.database import Database
from tests.factories import make_account


def test_events_no_endpoint_wants_are_dropped_as_they_come_for_expected_accounts(
    database: Database,
):
    quiet = make_account(database, name="quiet")  # no endpoint
    picky = make_account(database, name="picky")
    unread = make_account(database, name="unread")  # no endpoint, not expected
    account = accounts.authenticate(database, picky.token)
    assert account is not None
    webhooks.create_endpoint(database, account, "https://hooks.example/in", [events.CALL_FAILED])
    failed = uuid.uuid4()
    with database.transaction() as conn:
        outbox = Outbox(conn)
        outbox.expect({quiet.id, picky.id})
        outbox.call(events.CALL_ATTEMPTED, quiet.id, uuid.uuid4(), 1)
        outbox.campaign(events.CAMPAIGN_COMPLETED, quiet.id, uuid.uuid4())
        outbox.call(events.CALL_ATTEMPTED, picky.id, uuid.uuid4(), 1)
        outbox.call(events.CALL_FAILED, picky.id, failed, 1)
        outbox.call(events.CALL_ATTEMPTED, unread.id, uuid.uuid4(), 1)
        kept = [(item.type, item.account_id, item.subject_id) for item in outbox.pending]
        assert kept[0] == (events.CALL_FAILED, picky.id, failed)
        assert [(t, a) for t, a, _ in kept[1:]] == [(events.CALL_ATTEMPTED, unread.id)]

        later = Outbox(conn)
        later.call(events.CALL_ATTEMPTED, unread.id, uuid.uuid4(), 1)
        assert len(later.pending) == 1  # not read yet: publish decides
        assert later.publish(utcnow()) == 0  # no endpoint of that account wants it
        assert later.endpoints == {unread.id: []}
