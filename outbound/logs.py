"""Logging: structured JSON lines (``structlog``), or readable lines in a terminal.

Every record, from outbound or from a library, goes through one handler on the root logger:
phone numbers are masked (as ``mask_phone`` does) wherever they appear, and the request id and
campaign id bound to the current context are added. The whole set-up is one ``dictConfig``
document, so that uvicorn applies it again in each ``--workers`` process.
"""

import logging
import logging.config
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from outbound.domain.phones import mask_phone

# A phone number as a request path or an error message may carry it: +E.164, or URL-encoded.
PHONE_IN_LOG = re.compile(r"(?:\+|%2[Bb])(\d{6,15})")
# Third-party HTTP clients log every request's URL at INFO (a webhook endpoint's URL may hold
# its credentials); their warnings still show.
QUIET_LOGGERS = ("httpx", "httpcore", "twilio.http_client")


def mask_phones(text: str) -> str:
    return PHONE_IN_LOG.sub(lambda match: mask_phone("+" + match.group(1)), text)


class MaskPhones(logging.Filter):
    """Masks phone numbers in a record's message, arguments and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_phones(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(self._mask_arg(arg) for arg in record.args)
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_phones(logging.Formatter().formatException(record.exc_info))
        return True

    @staticmethod
    def _mask_arg(arg: object) -> object:
        if isinstance(arg, int | float):
            return arg  # keeps %d and %f working
        text = str(arg)
        masked = mask_phones(text)
        return arg if masked == text else masked


def _mask_event(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    event.pop("color_message", None)  # uvicorn's copy of the message, with terminal colours
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = mask_phones(value)
    return event


_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.ExtraAdder(),
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    _mask_event,
]


def formatter(json: bool) -> structlog.stdlib.ProcessorFormatter:
    """The root handler's formatter (named in the dictConfig document)."""
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    tail: list[Any] = [structlog.processors.format_exc_info] if json else []
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *tail, renderer],
    )


def config(json: bool | None = None) -> dict[str, Any]:
    """The logging configuration: JSON unless stderr is a terminal."""
    if json is None:
        json = not sys.stderr.isatty()
    quiet = {name: {"level": "WARNING"} for name in QUIET_LOGGERS}
    passing = {"handlers": [], "propagate": True, "level": "INFO"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"mask_phones": {"()": f"{__name__}.MaskPhones"}},
        "formatters": {"outbound": {"()": f"{__name__}.formatter", "json": json}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "outbound",
                "filters": ["mask_phones"],
            }
        },
        "root": {"handlers": ["stderr"], "level": "INFO"},
        "loggers": {
            "uvicorn": passing,
            "uvicorn.error": passing,
            "uvicorn.access": {**passing, "level": "WARNING"},  # requests: outbound.api logs them
            **quiet,
        },
    }


def setup(json: bool | None = None) -> dict[str, Any]:
    """Configure logging for this process; returns the document, for uvicorn."""
    document = config(json)
    logging.config.dictConfig(document)
    configure_structlog()
    return document


def configure_structlog() -> None:
    """structlog's loggers hand their events to the standard handler set up above."""
    structlog.configure(
        processors=[*_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
