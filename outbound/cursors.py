"""Opaque keyset cursors: a moment and an id, for lists read newest first."""

import base64
import uuid
from datetime import datetime

from outbound.exceptions import InvalidRequest


def encode(moment: datetime, key: uuid.UUID) -> str:
    text = f"{moment.isoformat()}|{key}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment_text, key = text.split("|")
        moment = datetime.fromisoformat(moment_text)
        if moment.tzinfo is None:
            raise ValueError("naive moment")
        return moment, uuid.UUID(key)
    except ValueError as exc:
        raise InvalidRequest(
            "invalid cursor", errors=[{"field": "cursor", "reason": "invalid"}]
        ) from exc
