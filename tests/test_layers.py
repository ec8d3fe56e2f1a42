"""The package's layers: which module may import what, read from the source (no import runs).

The arrows point one way: ``api`` and ``cli`` → ``services`` → ``domain``, ``store`` and
``providers``. Only the store speaks to a database driver, only providers speak to a telephony
platform's SDK, the domain does no I/O, and the Python client does not pull in the web server.
"""

import ast
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "outbound"


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        yield ".".join(relative.parts).removesuffix(".__init__"), path


def _imports(path: Path) -> set[str]:
    """Every module named by an import statement of the file, at any depth of the file."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _offenders(inside: str, forbidden: tuple[str, ...]) -> list[str]:
    """Modules outside the package ``inside`` that import one of ``forbidden``."""
    found = []
    for module, path in _modules():
        if module == inside or module.startswith(inside + "."):
            continue
        for name in _imports(path):
            if any(name == top or name.startswith(top + ".") for top in forbidden):
                found.append(f"{module} imports {name}")
    return found


def test_only_the_store_imports_database_drivers() -> None:
    assert _offenders("outbound.store", ("sqlalchemy", "psycopg", "sqlite3", "alembic")) == []


def test_only_providers_import_telephony_sdks() -> None:
    assert _offenders("outbound.providers", ("twilio",)) == []


def test_no_dialect_is_asked_outside_the_store() -> None:
    asking = [
        f"{module}:{number}"
        for module, path in _modules()
        if not module.startswith("outbound.store")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"dialect", line)
    ]
    assert asking == []


@pytest.mark.parametrize(
    ("layer", "allowed"),
    [
        ("outbound.domain", ("outbound.domain", "outbound.exceptions")),
        (
            "outbound.schemas",
            ("outbound.schemas", "outbound.domain"),
        ),
        (
            "outbound.store",
            ("outbound.store", "outbound.domain", "outbound.exceptions", "outbound.config"),
        ),
    ],
)
def test_inner_layers_import_no_outer_one(layer: str, allowed: tuple[str, ...]) -> None:
    outside = [
        f"{module} imports {name}"
        for module, path in _modules()
        if module == layer or module.startswith(layer + ".")
        for name in _imports(path)
        if name.startswith("outbound.")
        and not any(name == ok or name.startswith(ok + ".") for ok in allowed)
    ]
    assert outside == []


def test_nothing_below_the_api_imports_it() -> None:
    below = ("outbound.domain", "outbound.services", "outbound.store", "outbound.providers")
    upward = [
        f"{module} imports {name}"
        for module, path in _modules()
        if module.startswith(below)
        for name in _imports(path)
        if name.startswith(("outbound.api", "outbound.cli", "outbound.workers.assembly"))
    ]
    assert upward == []


def test_the_client_does_not_load_the_web_server() -> None:
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, outbound.client; print(' '.join(sorted(sys.modules)))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    heavy = ("fastapi", "starlette", "uvicorn", "sqlalchemy", "psycopg", "twilio")
    assert [name for name in loaded if name.split(".")[0] in heavy] == []


def test_every_package_says_what_it_holds_and_may_import() -> None:
    undocumented = []
    for init in sorted(PACKAGE.rglob("__init__.py")):
        if "migrations" in init.parts:
            continue
        docstring = ast.get_docstring(ast.parse(init.read_text())) or ""
        if "import" not in docstring.lower():
            undocumented.append(str(init.relative_to(PACKAGE.parent)))
    assert undocumented == []
