"""custom_fields_problem decides most objects without serializing them: it must decide
exactly as serializing them would."""

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from outbound.schemas.limits import (
    MAX_CUSTOM_BYTES,
    MAX_CUSTOM_DEPTH,
    MAX_CUSTOM_FIELDS,
    MAX_CUSTOM_KEY_LENGTH,
    custom_fields_problem,
)


def exact_problem(value: dict[str, Any]) -> bool:
    """Whether the object breaks a limit, by the definition of each."""

    def depth(item: Any) -> int:
        if isinstance(item, dict):
            return 1 + max((depth(child) for child in item.values()), default=0)
        if isinstance(item, list):
            return 1 + max((depth(child) for child in item), default=0)
        return 0

    def keys(item: Any) -> list[str]:
        if isinstance(item, dict):
            return list(item) + [k for child in item.values() for k in keys(child)]
        if isinstance(item, list):
            return [k for child in item for k in keys(child)]
        return []

    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
    return (
        len(value) > MAX_CUSTOM_FIELDS
        or depth(value) > MAX_CUSTOM_DEPTH
        or any(len(key) > MAX_CUSTOM_KEY_LENGTH for key in keys(value))
        or size > MAX_CUSTOM_BYTES
    )


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.text(alphabet='"\\\n\x01é名', max_size=3000),  # escaped or multi-byte characters
)
keys = st.text(min_size=0, max_size=MAX_CUSTOM_KEY_LENGTH + 2)
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(keys, children, max_size=3),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(keys, scalars, max_size=12))
def test_flat_objects_are_decided_as_their_json_decides(value: dict[str, Any]):
    assert (custom_fields_problem(value) is not None) == exact_problem(value)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, values, max_size=6))
def test_nested_objects_are_decided_as_their_json_decides(value: dict[str, Any]):
    assert (custom_fields_problem(value) is not None) == exact_problem(value)


def test_the_limits_themselves():
    assert custom_fields_problem({"k" * MAX_CUSTOM_KEY_LENGTH: 1}) is None
    assert custom_fields_problem({"k" * (MAX_CUSTOM_KEY_LENGTH + 1): 1}) is not None
    many = {f"k{i}": i for i in range(MAX_CUSTOM_FIELDS)}
    assert custom_fields_problem(many) is None
    assert custom_fields_problem({**many, "one more": 1}) is not None
    big = {"text": "x" * (MAX_CUSTOM_BYTES - len('{"text":""}'))}
    assert custom_fields_problem(big) is None
    assert custom_fields_problem({"text": big["text"] + "x"}) is not None
