import itertools

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneMetadata, PhoneNumberDesc, PhoneNumberType
from phonenumbers.phonenumberutil import _number_type_helper

from outbound.domain.phones import (
    InvalidPhone,
    Normalized,
    _is_valid,
    _number,
    _parse_valid,
    _region_among,
    _regions,
    _split_calling_code,
    _valid_pattern_of,
    mask_phone,
    normalize_each,
    normalize_phone,
    zone_of_number,
)
from outbound.domain.statuses import Outcome
from outbound.providers.simulator import simulated_outcome


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("+34 600 000 000", None, "+34600000000"),
        ("600000000", "ES", "+34600000000"),
        ("600000000", "es", "+34600000000"),
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("(415) 555-0100", "US", "+14155550100"),
        ("+1 415 555 0100", "FR", "+14155550100"),
    ],
)
def test_numbers_are_normalized_to_e164(raw: str, country: str | None, expected: str):
    assert normalize_phone(raw, country) == expected


@pytest.mark.parametrize(
    ("raw", "country"),
    [("", None), ("hello", None), ("600000000", None), ("+1555", None), ("12", "ES"), (None, None)],
)
def test_invalid_numbers_are_rejected(raw: object, country: str | None):
    with pytest.raises(InvalidPhone):
        normalize_phone(raw, country)


def test_masking_keeps_only_the_country_code_and_last_digits():
    assert mask_phone("+34600000042") == "+34*******42"


def test_zone_of_number_when_it_names_one():
    assert zone_of_number("+34912345678") == "Europe/Madrid"
    assert zone_of_number("+34600000000") is None  # Spanish mobiles: Madrid or Canary
    assert zone_of_number("+14155550100") == "America/Los_Angeles"


@pytest.mark.parametrize(
    ("last_two", "outcome"),
    [
        (0, Outcome.ANSWERED),
        (59, Outcome.ANSWERED),
        (60, Outcome.NO_ANSWER),
        (79, Outcome.NO_ANSWER),
        (80, Outcome.VOICEMAIL),
        (89, Outcome.VOICEMAIL),
        (90, Outcome.BUSY),
        (97, Outcome.BUSY),
        (98, Outcome.FAILED),
        (99, Outcome.FAILED),
    ],
)
def test_simulator_outcome_by_last_two_digits(last_two: int, outcome: Outcome):
    assert simulated_outcome(f"+141555501{last_two:02d}") is outcome


def _parsed_in_full(text: str) -> tuple[str, phonenumbers.PhoneNumber] | None:
    """What phonenumbers' general parser makes of ``text``: E.164 and the number when valid."""
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)), number


def _parsed(text: str) -> tuple[str, phonenumbers.PhoneNumber] | None:
    try:
        return _parse_valid(text, None)
    except InvalidPhone:
        return None


# Every description that carries an example number (general_desc and no_international_dialling
# carry none today, but would be tried if they did).
_DESCS = (
    "general_desc",
    "fixed_line",
    "mobile",
    "toll_free",
    "premium_rate",
    "shared_cost",
    "personal_number",
    "voip",
    "pager",
    "uan",
    "voicemail",
    "no_international_dialling",
)


def _example_numbers() -> list[str]:
    """The example number of every type of every region and non-geographic entity, in E.164."""
    examples = set()
    for code, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items():
        for region in regions:
            metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, region)
            for name in _DESCS:
                desc = getattr(metadata, name)
                if desc is not None and desc.example_number:
                    examples.add(f"+{code}{desc.example_number}")
    return sorted(examples)


EXAMPLES = _example_numbers()


def _variants(digits: str) -> list[str]:
    """``digits`` with each digit changed to each other digit, with one digit more and one less:
    the numbers next to a valid one, some valid, some of a length the region does not admit."""
    changed = [
        digits[:i] + digit + digits[i + 1 :]
        for i in range(len(digits))
        for digit in "0123456789"
        if digit != digits[i]
    ]
    return [*changed, *(digits + digit for digit in "0123456789"), digits[:-1]]


def _assert_valid_as_the_library_says(digits: str) -> bool:
    """The fast validity check agrees with ``phonenumbers.is_valid_number`` on the number that
    ``digits`` (without ``+``) read as calling code and national number, and so does the region
    it chooses with ``region_code_for_number``; False when no calling code starts them."""
    parts = _split_calling_code(digits) if digits[0] != "0" else None
    if parts is None:
        return False
    code, national = parts
    number = _number(code, national)
    assert (number.country_code, phonenumbers.national_significant_number(number)) == parts
    region = _region_among(_regions(code), code, national)
    assert region == phonenumbers.region_code_for_number(number), digits
    assert _is_valid(code, national) == phonenumbers.is_valid_number(number), digits
    return True


def test_examples_and_their_neighbours_are_valid_as_the_library_says():
    """Every example number, every number one digit away, one digit longer or shorter."""
    assert len(EXAMPLES) > 1000
    compared = 0
    for example in EXAMPLES:  # in order: the library's own bounded cache of patterns keeps up
        for digits in [example[1:], *_variants(example[1:])]:
            compared += _assert_valid_as_the_library_says(digits)
    assert compared > 100_000


def _desc(pattern: str | None, *lengths: int) -> PhoneNumberDesc:
    return PhoneNumberDesc(national_number_pattern=pattern, possible_length=lengths)


# Metadata unlike any region's today, each with a rule of _number_type_helper that decides
# what is valid: the real metadata never needs the possible lengths to tell a valid number,
# never has a general pattern narrower than its types, nor a mobile pattern equal to the fixed
# line's but of other lengths.
_SYNTHETIC_METADATA = {
    "general narrower than its types": {
        "general_desc": _desc(r"1\d{1,2}"),
        "fixed_line": _desc(r"\d{2,4}"),
    },
    "lengths narrower than the patterns": {
        "general_desc": _desc(r"\d{2,5}", 2, 3, 5),
        "fixed_line": _desc(r"[12]\d{1,4}", 2, 5),
        "voip": _desc(r"8\d{1,4}", 3),
        "mobile": _desc(r"9\d{1,4}", 4),
    },
    "mobile as the fixed line, of other lengths": {
        "general_desc": _desc(r"\d{2,4}"),
        "fixed_line": _desc(r"[01]\d{1,3}", 2),
        "mobile": _desc(r"[01]\d{1,3}", 3),
    },
    "mobile apart": {
        "general_desc": _desc(r"\d{2,4}", 2, 3, 4),
        "fixed_line": _desc(r"1\d{1,3}", 4),
        "mobile": _desc(r"[12]\d{1,3}", 3),
    },
    "empty, absent or length-free patterns": {
        "general_desc": _desc(r"\d{2,4}"),
        "fixed_line": _desc(""),
        "mobile": _desc(None, 3),
        "toll_free": _desc(r"8\d{1,3}"),
    },
    "a type for every leading pair": {
        "general_desc": _desc(r"\d{2,4}", 2, 3, 4),
        **{
            name: _desc(rf"{prefix}\d{{0,2}}")
            for name, prefix in zip(
                (
                    *("premium_rate", "toll_free", "shared_cost", "voip", "personal_number"),
                    *("pager", "uan", "voicemail", "fixed_line", "mobile"),
                ),
                ("10", "11", "12", "18", "19", "20", "21", "22", "28", "29"),
                strict=True,
            )
        },
    },
}


@pytest.mark.parametrize("name", sorted(_SYNTHETIC_METADATA))
def test_the_valid_pattern_finds_a_type_where_the_library_does(name: str):
    """The one pattern per length answers as ``_number_type_helper`` does, number by number, on
    metadata made so that each of its rules decides."""
    metadata = PhoneMetadata(id="XX", register=False, **_SYNTHETIC_METADATA[name])
    answers = set()
    for length in range(1, 6):
        pattern = _valid_pattern_of(metadata, length)
        for digits in itertools.product("01289", repeat=length):
            national = "".join(digits)
            valid = pattern is not None and pattern.fullmatch(national) is not None
            expected = _number_type_helper(national, metadata) != PhoneNumberType.UNKNOWN
            assert valid == expected, national
            answers.add(valid)
    assert answers == {True, False}


_ANY_E164 = st.integers(10**6, 10**15 - 1).map(lambda n: f"+{n}")  # CANONICAL_E164's shape
_EDITS = st.lists(st.tuples(st.integers(1, 15), st.integers(0, 9)), min_size=1, max_size=3)


@st.composite
def _e164_shaped(draw: st.DrawFn) -> str:
    """Any text of E.164's shape, or an example number with a few digits changed (valid far more
    often than a random one)."""
    if draw(st.booleans()):
        return draw(_ANY_E164)
    digits = list(EXAMPLES[draw(st.integers(0, len(EXAMPLES) - 1))])
    for position, digit in draw(_EDITS):
        digits[min(position, len(digits) - 1)] = str(digit)
    return "".join(digits)


def test_numbers_in_e164_read_as_the_general_parser_reads_them():
    """The fast path for canonical E.164 agrees with ``phonenumbers.parse`` on the example
    numbers of every region and type, and on their neighbours one digit away: the same E.164
    and the same number (so the same zone)."""
    for text in [*EXAMPLES, "+78123456789", "+114155550100", "+390612345678", "+3900000000"]:
        for candidate in (text, text[:-1] + str((int(text[-1]) + 1) % 10), text + "1", text[:-1]):
            assert _parsed(candidate) == _parsed_in_full(candidate), candidate


@settings(max_examples=3000, deadline=None)
@given(_e164_shaped())
def test_any_e164_shaped_text_is_read_and_validated_as_the_library_does(text: str):
    _assert_valid_as_the_library_says(text[1:])
    assert _parsed(text) == _parsed_in_full(text)


def test_zones_are_the_zones_of_the_parsed_numbers():
    valid = [text for text in EXAMPLES if _parsed_in_full(text)]
    results = normalize_each([(text, None) for text in valid], with_zones=True)
    assert [r.zone for r in results if isinstance(r, Normalized)] == [
        zone_of_number(text) for text in valid
    ]


def _non_geo_example(code: int) -> str:
    metadata = PhoneMetadata.metadata_for_nongeo_region(code)
    return next(
        desc.example_number
        for name in _DESCS
        if (desc := getattr(metadata, name)) is not None and desc.example_number
    )


COMMON_COUNTRIES = ("US", "CA", "ES", "FR", "DE", "IT", "BR", "GB", "MX", "IN", "AR", "PT")


def _forbidden(*args: object, **kwargs: object) -> object:
    raise AssertionError("the fast path called phonenumbers' parser, validator or formatter")


def test_common_countries_take_the_fast_path(monkeypatch: pytest.MonkeyPatch):
    assert all(_regions(code) is not None for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
    numbers = [
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        for region in COMMON_COUNTRIES
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE)
        if (number := phonenumbers.example_number_for_type(region, kind)) is not None
    ]
    numbers += [f"+{code}{_non_geo_example(code)}" for code in (800, 808, 870, 882, 883)]
    for name in ("parse", "is_valid_number", "format_number"):
        monkeypatch.setattr(phonenumbers, name, _forbidden)
    assert normalize_each([(text, None) for text in numbers]) == [
        Normalized(text) for text in numbers
    ]
