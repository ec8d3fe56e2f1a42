"""Contact files (CSV with a header, or JSON) read into contacts, each bad line named.

Pure parsing: no HTTP, no terminal."""

import codecs
import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from outbound.cli.options import (
    CSV_DELIMITERS,
    KNOWN_COLUMNS,
    SNIFF_SAMPLE,
)


class UnreadableFile(Exception):
    """The contacts file cannot be read."""


@dataclass(frozen=True)
class FileContact:
    """A contact as the file gave it, and the line it starts on."""

    line: int
    contact: dict[str, Any]


@dataclass(frozen=True)
class Rejected:
    line: int
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "reason": self.reason}


@dataclass
class ContactFile:
    contacts: list[FileContact] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


def decode(data: bytes) -> str:
    """Text of a file from Excel or anywhere: UTF-8 (BOM or not), UTF-16 with BOM, cp1252,
    and latin-1 as the last resort (it decodes any byte)."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def read_contacts(path: Path) -> ContactFile:
    """Contacts from a CSV file (with a header row) or a JSON file."""
    try:
        text = decode(path.read_bytes())
    except OSError as exc:
        raise UnreadableFile(f"cannot read {path}: {exc.strerror or exc}") from exc
    stripped = text.lstrip()
    if path.suffix.lower() == ".json" or stripped.startswith(("[", "{")):
        return _read_json(text)
    return _read_csv(text)


def _column_key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _csv_format(text: str) -> type[csv.Dialect] | csv.Dialect:
    """The sniffed CSV format, unless splitting the header another way is what finds ``phone``."""
    first_line = text.split("\n", 1)[0]
    try:
        csv_format: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:SNIFF_SAMPLE], delimiters=CSV_DELIMITERS
        )
    except csv.Error:
        csv_format = csv.excel

    def header_has_phone(candidate: type[csv.Dialect] | csv.Dialect) -> bool:
        header = next(csv.reader([first_line], candidate), [])
        return "phone" in {_column_key(name) for name in header}

    if header_has_phone(csv_format):
        return csv_format
    for delimiter in CSV_DELIMITERS:
        candidate = type("Guessed", (csv.excel,), {"delimiter": delimiter})
        if header_has_phone(candidate):
            return candidate
    return csv_format


def _read_csv(text: str) -> ContactFile:
    reader = csv.reader(io.StringIO(text, newline=""), _csv_format(text))
    try:
        header = next(reader)
    except StopIteration:
        raise UnreadableFile("the file is empty") from None
    except csv.Error as exc:
        raise UnreadableFile(f"line 1: {exc}") from exc
    keys = [_column_key(name) for name in header]
    if "phone" not in keys:
        raise UnreadableFile(
            f"the header row has no `phone` column (columns: {', '.join(header) or 'none'})"
        )
    result = ContactFile()
    line = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise UnreadableFile(f"line {line}: {exc}") from exc
        if any(cell.strip() for cell in cells):
            if any(cell.strip() for cell in cells[len(header) :]):
                reason = f"{len(cells)} cells but {len(header)} columns in the header"
                result.rejected.append(Rejected(line, reason))
            else:
                result.contacts.append(FileContact(line, _contact_of_row(header, keys, cells)))
        line = reader.line_num + 1
    return result


def _contact_of_row(header: list[str], keys: list[str], cells: list[str]) -> dict[str, Any]:
    contact: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for name, key, cell in zip(header, keys, cells, strict=False):
        value = cell.strip()
        if not value or not key:
            continue
        if key in KNOWN_COLUMNS:
            contact[key] = value
        else:
            custom[name.strip()] = value
    if custom:
        contact["custom_fields"] = custom
    return contact


def _read_json(text: str) -> ContactFile:
    """An array of contacts, or ``{"contacts": [...]}``, each item with the line it starts on."""
    try:
        items = _JsonScanner(text).contacts()
    except ValueError as exc:
        raise UnreadableFile(f"not valid JSON: {exc}") from exc
    result = ContactFile()
    for line, item in items:
        if isinstance(item, dict):
            result.contacts.append(FileContact(line, item))
        else:
            result.rejected.append(Rejected(line, "a contact must be a JSON object"))
    return result


class _JsonScanner:
    """Reads a JSON document's contacts one by one, to know the line each starts on."""

    _space = re.compile(r"\s*")
    _decoder = json.JSONDecoder()

    def __init__(self, text: str) -> None:
        self.text = text

    def skip(self, pos: int) -> int:
        match = self._space.match(self.text, pos)
        return match.end() if match else pos

    def line_of(self, pos: int) -> int:
        return self.text.count("\n", 0, pos) + 1

    def value(self, pos: int) -> tuple[Any, int]:
        return self._decoder.raw_decode(self.text, pos)

    def expect(self, pos: int, char: str) -> int:
        if not self.text.startswith(char, pos):
            raise ValueError(f"expected {char!r} on line {self.line_of(pos)}")
        return self.skip(pos + 1)

    def array(self, pos: int) -> tuple[list[tuple[int, Any]], int]:
        items: list[tuple[int, Any]] = []
        pos = self.skip(self.expect(pos, "["))
        if self.text.startswith("]", pos):
            return items, pos + 1
        while True:
            item, end = self.value(pos)
            items.append((self.line_of(pos), item))
            pos = self.skip(end)
            if self.text.startswith("]", pos):
                return items, pos + 1
            pos = self.expect(pos, ",")

    def contacts_of_object(self, pos: int) -> tuple[list[tuple[int, Any]] | None, int]:
        """The ``contacts`` array of an object (the last one, as ``json`` reads it)."""
        found: list[tuple[int, Any]] | None = None
        pos = self.expect(pos, "{")
        while not self.text.startswith("}", pos):
            key, pos = self.value(pos)
            pos = self.expect(self.skip(pos), ":")
            if key == "contacts" and self.text.startswith("[", pos):
                found, pos = self.array(pos)
            else:
                _, pos = self.value(pos)
            pos = self.skip(pos)
            if not self.text.startswith("}", pos):
                pos = self.expect(pos, ",")
        return found, pos + 1

    def contacts(self) -> list[tuple[int, Any]]:
        pos = self.skip(0)
        found: list[tuple[int, Any]] | None = None
        if self.text.startswith("[", pos):
            found, pos = self.array(pos)
        elif self.text.startswith("{", pos):
            found, pos = self.contacts_of_object(pos)
        if found is None:
            raise ValueError('expected an array of contacts or {"contacts": [...]}')
        if self.skip(pos) != len(self.text):
            raise ValueError(f"extra data on line {self.line_of(self.skip(pos))}")
        return found


def parse_recall(value: str) -> list[float]:
    """``30,120`` or ``[30, 120]``: minutes after the first attempt."""
    items = [item.strip() for item in value.strip().strip("[]").split(",") if item.strip()]
    try:
        return [float(item) for item in items]
    except ValueError as exc:
        raise ValueError(f"--recall must be minutes separated by commas, got {value!r}") from exc
