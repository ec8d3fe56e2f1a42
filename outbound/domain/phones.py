"""Phone numbers: everything is stored and compared in E.164."""

import re
from collections.abc import Sequence
from functools import cache
from typing import NamedTuple

import phonenumbers
from phonenumbers import REGION_CODE_FOR_NON_GEO_ENTITY, PhoneMetadata, PhoneNumberDesc
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
    return _parse_valid(raw, country).e164


class _Parsed(NamedTuple):
    """A valid number, in E.164 and as phonenumbers reads it (its zone is read from the latter)."""

    e164: str
    number: phonenumbers.PhoneNumber


def _parse_valid(raw: object, country: str | None) -> _Parsed:
    if not isinstance(raw, str | int) or isinstance(raw, bool):
        raise InvalidPhone("phone must be a string")
    text = str(raw).strip()
    if not text:
        raise InvalidPhone("phone is empty")
    if len(text) > MAX_PHONE_LENGTH:
        raise InvalidPhone("phone is too long")
    if CANONICAL_E164.fullmatch(text):
        parts = _read_canonical(text)
        if parts is not None and _is_valid(*parts):
            # Already what format_number(E164) would write: +, the code, the national digits.
            return _Parsed(text, _number(*parts))
    region = country.strip().upper() if country else None
    if not text.startswith("+") and not region:
        raise InvalidPhone("phone has no +country code and the contact has no country")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"phone cannot be parsed: {exc._msg}") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("phone is not a valid number")
    return _Parsed(_e164(number), number)


def _read_canonical(text: str) -> tuple[int, str] | None:
    """A number already in E.164 as its calling code and national significant number, read the
    way ``phonenumbers.parse`` would read it, without its general parser (more than half of the
    cost of a number); None when ``parse`` could read it otherwise: when the national number
    starts with what may be the region's national prefix, which parse may strip or rewrite. A
    leading 0 that is no national prefix stays, as in Italy: parse keeps it too.
    """
    parts = _split_calling_code(text[1:])
    if parts is None:
        return None
    national_prefix = _national_prefix(parts[0])
    found = national_prefix.match(parts[1]) if national_prefix else None
    # An empty match that captures nothing (Argentina's prefix is all optional) strips nothing.
    if found and (found.end() or any(group is not None for group in found.groups())):
        return None
    return parts


def _split_calling_code(digits: str) -> tuple[int, str] | None:
    """The calling code that starts ``digits`` and the digits after it, if one does."""
    for length in (1, 2, 3):  # country calling codes are a prefix code
        code = int(digits[:length])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return code, digits[length:]
    return None


def _number(country_code: int, national: str) -> phonenumbers.PhoneNumber:
    """The number as ``parse`` stores it: the national number as an integer, and the zeros it
    loses there as Italian leading zeros (all of them but the last digit of an all-zero number).
    """
    number = phonenumbers.PhoneNumber(country_code=country_code, national_number=int(national))
    if len(national) > 1 and national[0] == "0":
        zeros = min(len(national) - len(national.lstrip("0")), len(national) - 1)
        number.italian_leading_zero = True
        if zeros != 1:
            number.number_of_leading_zeros = zeros
    return number


@cache
def _national_prefix(country_code: int) -> re.Pattern[str] | None:
    """What ``parse`` may strip from a national number of this calling code."""
    region = phonenumbers.region_code_for_country_code(country_code)
    metadata = _metadata(country_code, region)
    pattern = metadata.national_prefix_for_parsing if metadata else None
    return re.compile(pattern) if pattern else None


def _metadata(country_code: int, region: str) -> PhoneMetadata | None:
    """A region's metadata, or a non-geographic entity's (region 001) by its calling code."""
    return PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)


class _Region(NamedTuple):
    """A region of a calling code, as ``region_code_for_number`` tells it apart from the others:
    by its leading digits when it has some (then the number need not be valid there), else by
    the number being valid there."""

    code: str
    leading_digits: re.Pattern[str] | None


def _is_valid(country_code: int, national: str) -> bool:
    """``phonenumbers.is_valid_number`` of a number by its national significant number.

    The library's two steps, ``region_code_for_number`` then ``is_valid_number_for_region``,
    with the same patterns compiled once and tried together: the library recompiles or looks up
    a dozen patterns a number, the bulk of its cost.
    """
    regions = _regions(country_code)
    if regions is None:
        return bool(phonenumbers.is_valid_number(_number(country_code, national)))
    region = _region_among(regions, country_code, national)
    return region is not None and _is_valid_in(country_code, region, national)


def _region_among(regions: Sequence[_Region], country_code: int, national: str) -> str | None:
    """``region_code_for_number``: the only region of a calling code whatever the number, else
    the first region whose leading digits start the number or, without leading digits, where
    the number is valid."""
    if len(regions) == 1:
        return regions[0].code
    for region in regions:
        if region.leading_digits is None:
            if _is_valid_in(country_code, region.code, national):
                return region.code
        elif region.leading_digits.match(national):
            return region.code
    return None


@cache
def _regions(country_code: int) -> tuple[_Region, ...] | None:
    """The regions of a calling code, in the library's order.

    None when one has no metadata or another calling code, or when a non-geographic entity
    shares the code (the library would find no metadata for it among the regions): rare cases
    left to the library rather than imitated.
    """
    codes = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code, ())
    if len(codes) > 1 and REGION_CODE_FOR_NON_GEO_ENTITY in codes:
        return None
    regions = []
    for code in codes:
        metadata = _metadata(country_code, code)
        if metadata is None or metadata.country_code != country_code:
            return None
        leading_digits = metadata.leading_digits
        regions.append(
            _Region(code, None if leading_digits is None else re.compile(leading_digits))
        )
    return tuple(regions)


def _is_valid_in(country_code: int, region: str, national: str) -> bool:
    pattern = _valid_pattern(country_code, region, len(national))
    return pattern is not None and pattern.fullmatch(national) is not None


# What _number_type_helper tries after general_desc; any match is a type, so a valid number.
# Mobile comes apart: the library skips it when its pattern is the fixed line's.
_TYPES = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
)


@cache
def _valid_pattern(country_code: int, region: str, length: int) -> re.Pattern[str] | None:
    """``_valid_pattern_of`` a region's metadata, compiled once."""
    metadata = _metadata(country_code, region)
    return None if metadata is None else _valid_pattern_of(metadata, length)


def _valid_pattern_of(metadata: PhoneMetadata, length: int) -> re.Pattern[str] | None:
    """One pattern for what ``_number_type_helper`` finds a type for among national numbers of
    ``length`` digits: the general pattern (a lookahead) and the alternation of the type
    patterns that admit the length; None when no number of that length can be valid.
    """
    general = _pattern_admitting(metadata.general_desc, length)
    if general is None:
        return None
    types = [getattr(metadata, name) for name in _TYPES]
    if not metadata.same_mobile_and_fixed_line_pattern:
        types.append(metadata.mobile)
    patterns = [p for desc in types if (p := _pattern_admitting(desc, length)) is not None]
    if not patterns:
        return None
    alternation = "|".join(f"(?:{pattern})" for pattern in patterns)
    return re.compile(f"(?=(?:{general})\\Z)(?:{alternation})")


def _pattern_admitting(desc: PhoneNumberDesc | None, length: int) -> str | None:
    """The pattern ``_is_number_matching_desc`` tries on a number of ``length`` digits, if it
    tries one: a desc without possible lengths admits any length, one without a pattern none."""
    if desc is None or not desc.national_number_pattern:
        return None
    if desc.possible_length and length not in desc.possible_length:
        return None
    return str(desc.national_number_pattern)


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
            parsed = _parse_valid(raw, country)
        except InvalidPhone as exc:
            results.append(exc)
            continue
        results.append(Normalized(parsed.e164, _zone(parsed.number) if with_zones else None))
    return results
