"""Phone numbers: everything is stored and compared in E.164."""

import re
from collections.abc import Sequence
from functools import cache
from typing import NamedTuple

import phonenumbers
from phonenumbers import PhoneMetadata
from phonenumbers import timezone as phone_timezones

MAX_PHONE_LENGTH = 64
CANONICAL_E164 = re.compile(r"\+[1-9][0-9]{6,14}")  # nothing for a parser to clean up


class InvalidPhone(ValueError):
    """The phone number cannot be read as a valid number."""


class Normalized(NamedTuple):
    """A valid number in E.164, and its own zone when asked for and its prefix names one."""

    e164: str
    zone: str | None = None


def normalize_phone(raw: object, country: str | None = None) -> str:
    """Return ``raw`` in E.164, reading a number without ``+`` in ``country``'s region."""
    return _e164(_parse_valid(raw, country))


def _parse_valid(raw: object, country: str | None) -> phonenumbers.PhoneNumber:
    if not isinstance(raw, str | int) or isinstance(raw, bool):
        raise InvalidPhone("phone must be a string")
    text = str(raw).strip()
    if not text:
        raise InvalidPhone("phone is empty")
    if len(text) > MAX_PHONE_LENGTH:
        raise InvalidPhone("phone is too long")
    if CANONICAL_E164.fullmatch(text):
        number = _read_canonical(text)
        if number is not None and phonenumbers.is_valid_number(number):
            return number
    region = country.strip().upper() if country else None
    if not text.startswith("+") and not region:
        raise InvalidPhone("phone has no +country code and the contact has no country")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"phone cannot be parsed: {exc._msg}") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("phone is not a valid number")
    return number


def _read_canonical(text: str) -> phonenumbers.PhoneNumber | None:
    """A number already in E.164, read the way ``phonenumbers.parse`` would read it, without its
    general parser (more than half of the cost of a number); None when ``parse`` could read it
    otherwise: a national number starting with 0, or with the region's national prefix.
    """
    digits = text[1:]
    for length in (1, 2, 3):  # country calling codes are a prefix code
        code = int(digits[:length])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None
    national = digits[length:]
    national_prefix = _national_prefix(code)
    if national.startswith("0") or (national_prefix and national_prefix.match(national)):
        return None
    return phonenumbers.PhoneNumber(country_code=code, national_number=int(national))


@cache
def _national_prefix(country_code: int) -> re.Pattern[str] | None:
    """What ``parse`` may strip from a national number of this calling code."""
    region = phonenumbers.region_code_for_country_code(country_code)
    metadata = (
        PhoneMetadata.metadata_for_nongeo_region(country_code)
        if region == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY
        else PhoneMetadata.metadata_for_region(region)
    )
    pattern = metadata.national_prefix_for_parsing if metadata else None
    return re.compile(pattern) if pattern else None


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def mask_phone(e164: str) -> str:
    """A phone fit for logs: the country code and the last two digits."""
    if len(e164) <= 5:
        return "***"
    return f"{e164[:3]}{'*' * (len(e164) - 5)}{e164[-2:]}"


def zone_of_number(e164: str) -> str | None:
    """The IANA zone of the number when its prefix names exactly one."""
    return _zone(phonenumbers.parse(e164))


def _zone(number: phonenumbers.PhoneNumber) -> str | None:
    zones = phone_timezones.time_zones_for_number(number)
    if len(zones) == 1 and zones[0] != phone_timezones.UNKNOWN_TIMEZONE:
        return str(zones[0])
    return None


def normalize_each(
    items: Sequence[tuple[object, str | None]], with_zones: bool = False
) -> list[Normalized | InvalidPhone]:
    """``normalize_phone`` over many ``(phone, country)`` pairs: each number or its error.

    With ``with_zones``, each number's zone is read from the same parse.
    """
    results: list[Normalized | InvalidPhone] = []
    for raw, country in items:
        try:
            number = _parse_valid(raw, country)
        except InvalidPhone as exc:
            results.append(exc)
            continue
        results.append(Normalized(_e164(number), _zone(number) if with_zones else None))
    return results
