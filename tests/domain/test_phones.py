import pytest

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
