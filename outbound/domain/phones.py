"""Phone numbers: everything is stored and compared in E.164."""

from collections.abc import Sequence

import phonenumbers
from phonenumbers import timezone as phone_timezones

MAX_PHONE_LENGTH = 64


class InvalidPhone(ValueError):
    """The phone number cannot be read as a valid number."""


def normalize_phone(raw: object, country: str | None = None) -> str:
    """Return ``raw`` in E.164, reading a number without ``+`` in ``country``'s region."""
    if not isinstance(raw, str | int) or isinstance(raw, bool):
        raise InvalidPhone("phone must be a string")
    text = str(raw).strip()
    if not text:
        raise InvalidPhone("phone is empty")
    if len(text) > MAX_PHONE_LENGTH:
        raise InvalidPhone("phone is too long")
    region = country.strip().upper() if country else None
    if not text.startswith("+") and not region:
        raise InvalidPhone("phone has no +country code and the contact has no country")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"phone cannot be parsed: {exc._msg}") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("phone is not a valid number")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def mask_phone(e164: str) -> str:
    """A phone fit for logs: the country code and the last two digits."""
    if len(e164) <= 5:
        return "***"
    return f"{e164[:3]}{'*' * (len(e164) - 5)}{e164[-2:]}"


def zone_of_number(e164: str) -> str | None:
    """The IANA zone of the number when its prefix names exactly one."""
    zones = phone_timezones.time_zones_for_number(phonenumbers.parse(e164))
    if len(zones) == 1 and zones[0] != phone_timezones.UNKNOWN_TIMEZONE:
        return str(zones[0])
    return None


def normalize_each(items: Sequence[tuple[object, str | None]]) -> list[str | InvalidPhone]:
    """``normalize_phone`` over many ``(phone, country)`` pairs: each number or its error."""
    results: list[str | InvalidPhone] = []
    for raw, country in items:
        try:
            results.append(normalize_phone(raw, country))
        except InvalidPhone as exc:
            results.append(exc)
    return results
