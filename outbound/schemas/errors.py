"""Pydantic's validation errors as the API's error items: ``{"field", "reason", "index"?}``.

The API renders them as its ``400`` (``outbound.api.validation``); the CLI and the use cases that
validate a body outside a request (``outbound.services.playbooks``) give the same items.
Imports the standard library only.
"""

from collections.abc import Iterable, Mapping
from typing import Any

# Lists whose items a validation error names by index, as ``errors[].index``.
INDEXED_LISTS = ("contacts", "phones")
LOCATIONS = ("body", "query", "path", "header")


def field_path(loc: tuple[int | str, ...]) -> tuple[str, int | None]:
    """``contacts[3].email`` and the item's index (3) from pydantic's location of an error."""
    parts = list(loc[1:] if loc and loc[0] in LOCATIONS else loc)
    index = parts[1] if len(parts) > 1 and parts[0] in INDEXED_LISTS else None
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body", index if isinstance(index, int) else None


def error_items(
    errors: Iterable[Mapping[str, Any]], prefix: tuple[int | str, ...] = (), offset: int = 0
) -> list[dict[str, Any]]:
    """Each error as an item; ``prefix`` and ``offset`` place errors of a list's slice in the
    request (``("body", "contacts")`` and the index of the slice's first item)."""
    items: list[dict[str, Any]] = []
    for error in errors:
        loc = tuple(error.get("loc", ()))
        if offset and loc and isinstance(loc[0], int):
            loc = (loc[0] + offset, *loc[1:])
        path, index = field_path(prefix + loc)
        reason = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        if error.get("type") == "missing":
            reason = "required"
        item: dict[str, Any] = {"field": path, "reason": reason}
        if index is not None:
            item["index"] = index
        items.append(item)
    return items
