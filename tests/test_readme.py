"""The README's Guarantees table names tests that exist: a move or a rename must update it."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _guarantees() -> str:
    readme = (ROOT / "README.md").read_text()
    return readme.split("## Guarantees", 1)[1].split("\n## ", 1)[0]


def test_every_test_the_guarantees_table_names_exists():
    named = re.findall(r"`(tests/[^`:]+\.py)(?:::(\w+))?`", _guarantees())
    assert len(named) >= 16  # a promise a row
    for path, function in named:
        assert (ROOT / path).is_file(), path
        if function:
            source = (ROOT / path).read_text()
            assert re.search(rf"^(?:async )?def {function}\(", source, re.MULTILINE), (
                f"{path}::{function}"
            )
