"""``outbound.logs``: phones masked in any record, JSON lines or readable ones."""

import json
import logging
import re
import sys

from outbound import logs
from outbound.logs import MaskPhones

# A phone in any spelling a log line could carry it: E.164, URL-encoded, digits only.
PHONE_LIKE = re.compile(r"(?:\+|%2[Bb])\d{6,}")


def test_phones_are_masked_in_any_record_the_server_logs():
    masker = MaskPhones()
    try:
        raise RuntimeError("insert failed [parameters: {'phone': '+14155550142'}]")
    except RuntimeError as exc:
        record = logging.LogRecord(
            "outbound.api.errors",
            logging.ERROR,
            __file__,
            1,
            "database error on %s %s: %s (%d)",
            ("DELETE", "/dnc/+34912330140", exc, 7),
            sys.exc_info(),
        )
    assert masker.filter(record)
    text = logging.Formatter().format(record)
    assert "+34*******40" in text and "+14*******42" in text
    assert "(7)" in text
    assert not PHONE_LIKE.findall(text)


def test_a_terminal_gets_readable_lines():
    record = logging.LogRecord(
        "outbound.test", logging.INFO, __file__, 1, "hello %s", ("you",), None
    )
    text = logs.formatter(json=False).format(record)
    assert "hello you" in text and not text.lstrip().startswith("{")
    as_json = json.loads(logs.formatter(json=True).format(record))
    assert as_json["event"] == "hello you" and as_json["level"] == "info"
