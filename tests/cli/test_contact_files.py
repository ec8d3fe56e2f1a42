"""Contact files read into contacts, in process: CSV dialects, encodings, JSON, bad lines."""

import codecs
import json
from pathlib import Path

import pytest

from outbound.cli.contact_files import (
    ContactFile,
    FileContact,
    Rejected,
    UnreadableFile,
    decode,
    parse_recall,
    read_contacts,
)


def _read(tmp_path: Path, data: str | bytes, name: str = "contacts.csv") -> ContactFile:
    path = tmp_path / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8", newline="")
    else:
        path.write_bytes(data)
    return read_contacts(path)


def _phones(read: ContactFile) -> list[str]:
    return [item.contact["phone"] for item in read.contacts]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_each_delimiter_is_recognised(tmp_path: Path, delimiter: str):
    rows = [["phone", "first_name", "city"], ["+34910000001", "Ada", "Madrid"]]
    rows.append(["+34910000002", "Grace", "Sevilla"])
    read = _read(tmp_path, "\n".join(delimiter.join(row) for row in rows) + "\n")
    assert read.rejected == []
    assert [item.contact for item in read.contacts] == [
        {"phone": "+34910000001", "first_name": "Ada", "city": "Madrid"},
        {"phone": "+34910000002", "first_name": "Grace", "city": "Sevilla"},
    ]


def test_the_delimiter_is_the_one_that_finds_phone_in_the_header(tmp_path: Path):
    """Commas inside the cells would fool a sniffer; the header decides."""
    text = "phone;company\n+34910000001;Acme, Inc.\n+34910000002;Foo, Bar, Baz\n"
    read = _read(tmp_path, text)
    assert [item.contact["company"] for item in read.contacts] == ["Acme, Inc.", "Foo, Bar, Baz"]


@pytest.mark.parametrize("header", ["Phone", " PHONE ", "phone"])
def test_the_phone_column_is_found_whatever_its_case_and_spaces(tmp_path: Path, header: str):
    read = _read(tmp_path, f"{header},First Name,last-name\n+34910000001,Ada,Lovelace\n")
    assert [item.contact for item in read.contacts] == [
        {"phone": "+34910000001", "first_name": "Ada", "last_name": "Lovelace"}
    ]


def test_a_header_without_phone_is_unreadable_and_names_the_columns(tmp_path: Path):
    with pytest.raises(UnreadableFile, match=r"no `phone` column \(columns: name, email\)"):
        _read(tmp_path, "name,email\nAda,ada@example.com\n")


def test_an_empty_file_is_unreadable(tmp_path: Path):
    with pytest.raises(UnreadableFile, match="empty"):
        _read(tmp_path, "")


def test_a_missing_file_is_unreadable(tmp_path: Path):
    with pytest.raises(UnreadableFile, match="cannot read"):
        read_contacts(tmp_path / "nope.csv")


@pytest.mark.parametrize(
    "data",
    [
        codecs.BOM_UTF8 + "phone,last_name\n+34910000001,Müller\n".encode(),
        codecs.BOM_UTF16_LE + "phone,last_name\n+34910000001,Müller\n".encode("utf-16-le"),
        codecs.BOM_UTF16_BE + "phone,last_name\n+34910000001,Müller\n".encode("utf-16-be"),
        "phone,last_name\n+34910000001,Müller\n".encode("cp1252"),
        "phone,last_name\n+34910000001,Müller\n".encode(),
    ],
    ids=["utf-8-bom", "utf-16-le-bom", "utf-16-be-bom", "cp1252", "utf-8"],
)
def test_encodings_and_byte_order_marks(tmp_path: Path, data: bytes):
    read = _read(tmp_path, data)
    assert [item.contact for item in read.contacts] == [
        {"phone": "+34910000001", "last_name": "Müller"}
    ]


def test_decode_falls_back_to_cp1252_then_latin_1():
    assert decode("Straße \u2013 Zoë".encode("cp1252")) == "Straße \u2013 Zoë"
    assert decode(b"\x81\x8d") == "\x81\x8d"  # undefined in cp1252: latin-1 reads any byte
    assert decode(codecs.BOM_UTF8 + b"phone") == "phone"  # the BOM is not part of the header


def test_quoted_fields_keep_delimiters_quotes_and_newlines(tmp_path: Path):
    text = (
        "phone,first_name,address\r\n"
        '+34910000001,"Zoë; the ""second""","1 Main St\nSuite 2"\r\n'
        "+34910000002,Alan,plain\r\n"
    )
    read = _read(tmp_path, text)
    first, second = read.contacts
    assert first.contact == {
        "phone": "+34910000001",
        "first_name": 'Zoë; the "second"',
        "address": "1 Main St\nSuite 2",
    }
    assert (first.line, second.line) == (2, 4)  # the quoted newline spans lines 2-3


def test_blank_lines_and_empty_cells_are_skipped_but_counted(tmp_path: Path):
    text = "phone,first_name,city\n\n+34910000001,,Madrid\n , ,\n\n+34910000002,Grace,\n"
    read = _read(tmp_path, text)
    assert read.contacts == [
        FileContact(3, {"phone": "+34910000001", "city": "Madrid"}),
        FileContact(6, {"phone": "+34910000002", "first_name": "Grace"}),
    ]
    assert read.rejected == []


def test_unknown_columns_go_into_custom_fields_under_their_own_name(tmp_path: Path):
    text = "phone,First Name,Plan,Seats,,company\n+34910000001,Ada,pro,3,ignored,\n"
    read = _read(tmp_path, text)
    assert [item.contact for item in read.contacts] == [
        {
            "phone": "+34910000001",
            "first_name": "Ada",
            "custom_fields": {"Plan": "pro", "Seats": "3"},
        }
    ]  # a column without a name is dropped, an empty known cell is left out


def test_more_cells_than_columns_is_a_bad_line_named_with_its_number(tmp_path: Path):
    text = (
        "phone,first_name\n"
        "+34910000001,Ada\n"
        "+34910000002,Alan,extra cell\n"  # line 3
        "+34910000003,Edsger,,\n"  # empty extra cells are fine
        "+34910000004\n"  # fewer cells than columns are fine
    )
    read = _read(tmp_path, text)
    assert read.rejected == [Rejected(3, "3 cells but 2 columns in the header")]
    assert _phones(read) == ["+34910000001", "+34910000003", "+34910000004"]
    assert [item.line for item in read.contacts] == [2, 4, 5]
    assert read.rejected[0].to_json() == {
        "line": 3,
        "reason": "3 cells but 2 columns in the header",
    }


def test_a_line_the_csv_reader_refuses_is_unreadable_and_names_its_line(tmp_path: Path):
    huge = "x" * 200_000  # over the csv module's field limit
    with pytest.raises(UnreadableFile, match=r"^line 3: field larger than field limit"):
        _read(tmp_path, f'phone,first_name\n+34910000001,Ada\n+34910000002,"{huge}"\n')


def test_a_json_array_gives_each_contact_its_line(tmp_path: Path):
    contacts = [{"phone": "+34910000001", "custom_fields": {"tier": 1}}, {"phone": "+3491002"}]
    read = _read(tmp_path, json.dumps(contacts, indent=1), name="contacts.json")
    assert read.contacts == [FileContact(2, contacts[0]), FileContact(8, contacts[1])]
    assert read.rejected == []


def test_a_json_object_with_contacts_and_items_that_are_not_objects(tmp_path: Path):
    text = (
        '{"source": "crm",\n "contacts": [\n'
        '  {"phone": "+34910000001", "first_name": "Ada"},\n'
        '  "not an object", 42,\n'
        '  {"phone": "bad"}\n'
        '], "count": 4}\n'
    )
    read = _read(tmp_path, text, name="export.txt")  # recognised by its first character
    assert read.contacts == [
        FileContact(3, {"phone": "+34910000001", "first_name": "Ada"}),
        FileContact(5, {"phone": "bad"}),  # the phone is checked by the server, not here
    ]
    assert read.rejected == [
        Rejected(4, "a contact must be a JSON object"),
        Rejected(4, "a contact must be a JSON object"),
    ]


def test_an_empty_json_array_has_no_contacts(tmp_path: Path):
    assert _read(tmp_path, " [ ] \n", name="c.json") == ContactFile()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"source": "crm"}', r"expected an array of contacts"),
        ('[{"phone": "+34910000001"}]\n[]', r"extra data on line 2"),
        ('[{"phone": "+34910000001"}\n {"phone": "+34910000002"}]', r"expected ',' on line 2"),
        ('[{"phone": }]', r"not valid JSON"),
    ],
)
def test_json_that_is_not_a_list_of_contacts_is_unreadable(tmp_path: Path, text: str, message: str):
    with pytest.raises(UnreadableFile, match=message):
        _read(tmp_path, text, name="c.json")


def test_recall_is_minutes_separated_by_commas_or_a_json_list():
    assert parse_recall("30,120") == [30.0, 120.0]
    assert parse_recall(" [0.5, 2] ") == [0.5, 2.0]
    assert parse_recall("") == []
    with pytest.raises(ValueError, match="--recall"):
        parse_recall("30,soon")
