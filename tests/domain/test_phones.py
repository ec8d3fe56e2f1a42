import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outbound.domain.phones import InvalidPhone, mask_phone, normalize_phone, zone_of_number
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


def _parsed_in_full(text: str) -> str | None:
    """What phonenumbers' general parser makes of ``text``: E.164 when valid, else None."""
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _normalized(text: str) -> str | None:
    try:
        return normalize_phone(text)
    except InvalidPhone:
        return None


def _example_numbers() -> list[str]:
    examples = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in range(12):  # every PhoneNumberType but UNKNOWN
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                examples.append(number)
    for code in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS:
        examples.append(phonenumbers.example_number_for_non_geo_entity(code))
    e164 = phonenumbers.PhoneNumberFormat.E164
    return sorted({phonenumbers.format_number(n, e164) for n in examples if n is not None})


def test_numbers_in_e164_read_as_the_general_parser_reads_them():
    """The fast path for canonical E.164 agrees with ``phonenumbers.parse`` on the example
    numbers of every region and type, and on their neighbours one digit away."""
    examples = _example_numbers()
    assert len(examples) > 900
    for text in [*examples, "+78123456789", "+114155550100", "+390612345678"]:
        for candidate in (text, text[:-1] + str((int(text[-1]) + 1) % 10), text + "1", text[:-1]):
            assert _normalized(candidate) == _parsed_in_full(candidate), candidate


@settings(max_examples=1000, deadline=None)
@given(st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True))
def test_any_e164_shaped_text_reads_as_the_general_parser_reads_it(text: str):
    assert _normalized(text) == _parsed_in_full(text)
