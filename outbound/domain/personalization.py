"""Per-call text: a playbook's templates rendered with the contact's fields.

Templates use ``{{first_name}}``, any contact field, ``{{phone}}`` and ``{{custom.KEY}}``; they
run in Jinja2's sandbox. A variable the contact lacks renders empty (or is reported, for
``strict_variables``).
"""

from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

from outbound.domain.contacts import CONTACT_FIELDS


class InvalidTemplate(ValueError):
    """The template is not valid Jinja2."""


_missing: ContextVar[set[str]] = ContextVar("missing_variables")


class _Recording(ChainableUndefined):
    """Renders empty and remembers which variable was missing."""

    def __str__(self) -> str:
        name = self._undefined_name or "?"
        if isinstance(self._undefined_obj, Mapping):
            name = f"custom.{name}"
        _missing.get().add(name)
        return ""


_lenient = SandboxedEnvironment(undefined=ChainableUndefined, autoescape=False)
_recording = SandboxedEnvironment(undefined=_Recording, autoescape=False)


_FIELDS = frozenset(CONTACT_FIELDS)
_EMPTY = (None, "")


def contact_variables(contact: Mapping[str, Any]) -> dict[str, Any]:
    """The variables a contact offers: its non-empty fields, its phone, and ``custom``."""
    variables: dict[str, Any] = {
        name: value
        for name, value in contact.items()
        if name in _FIELDS and value not in _EMPTY  # (run for every call placed)
    }
    variables["phone"] = contact.get("phone")
    variables["custom"] = dict(contact.get("custom_fields") or {})
    return variables


def row_variables(phone: str, values: Sequence[Any], custom: Mapping[str, Any]) -> dict[str, Any]:
    """``contact_variables`` of a contact read as a row: its ``CONTACT_FIELDS`` in order, its
    custom fields already parsed (run for every call placed; a list of bare numbers skips the
    fields)."""
    variables: dict[str, Any] = (
        {
            name: value
            for name, value in zip(CONTACT_FIELDS, values, strict=True)
            if value not in _EMPTY
        }
        if any(values)
        else {}
    )
    variables["phone"] = phone
    variables["custom"] = custom
    return variables


@lru_cache(maxsize=512)
def _compiled(text: str, strict: bool) -> Any:
    try:
        return (_recording if strict else _lenient).from_string(text)
    except TemplateSyntaxError as exc:
        raise InvalidTemplate(f"template error: {exc.message}") from exc


def check_template(text: str) -> None:
    _compiled(text, False)


@lru_cache(maxsize=512)
def is_template(text: str) -> bool:
    """Whether ``text`` has anything to render (else it is its own rendering)."""
    return "{{" in text or "{%" in text or "{#" in text


def render(text: str | None, variables: Mapping[str, Any]) -> str | None:
    if text is None or not is_template(text):
        return text
    return str(_compiled(text, False).render(variables))


def missing_variables(text: str | None, variables: Mapping[str, Any]) -> set[str]:
    """The variables ``text`` uses that ``variables`` lacks."""
    if not text:
        return set()
    found: set[str] = set()
    token = _missing.set(found)
    try:
        _compiled(text, True).render(variables)
    finally:
        _missing.reset(token)
    return found


__all__ = [
    "InvalidTemplate",
    "check_template",
    "contact_variables",
    "missing_variables",
    "render",
    "row_variables",
]
