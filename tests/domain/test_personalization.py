import pytest
from jinja2.exceptions import SecurityError

from outbound.domain.contacts import CONTACT_FIELDS
from outbound.domain.personalization import (
    InvalidTemplate,
    check_template,
    contact_variables,
    missing_variables,
    render,
    row_variables,
)

ADA = contact_variables(
    {
        "phone": "+14155550100",
        "first_name": "Ada",
        "company": None,
        "custom_fields": {"plan": "pro"},
    }
)


def test_fields_and_custom_fields_are_rendered():
    text = "Hi {{first_name}} ({{phone}}), your {{custom.plan}} plan"
    assert render(text, ADA) == "Hi Ada (+14155550100), your pro plan"


def test_missing_variables_render_empty():
    assert render("[{{company}}|{{custom.seats}}|{{last_name}}]", ADA) == "[||]"


def test_missing_variables_are_named():
    text = "{{first_name}} {{company}} {{custom.plan}} {{custom.seats}} {{last_name | upper}}"
    assert missing_variables(text, ADA) == {"company", "custom.seats", "last_name"}
    assert missing_variables("Hi {{first_name}}", ADA) == set()


def test_the_sandbox_refuses_unsafe_templates():
    with pytest.raises(SecurityError):
        render("{{ ().__class__.__bases__[0].__subclasses__() }}", ADA)


def test_syntax_errors_are_reported():
    with pytest.raises(InvalidTemplate):
        check_template("Hi {{first_name")


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"first_name": "Ada", "company": "", "timezone": "Europe/London"},
        {name: f"{name}!" for name in CONTACT_FIELDS},
    ],
)
def test_a_contact_read_as_a_row_offers_the_same_variables(fields):
    contact = {"phone": "+14155550100", **fields, "custom_fields": {"plan": "pro"}}
    values = [fields.get(name) for name in CONTACT_FIELDS]  # a row's columns, None when unset
    assert row_variables("+14155550100", values, {"plan": "pro"}) == contact_variables(contact)
