"""JSON Patch (RFC 6902) as applied to resources."""

from __future__ import annotations

import copy

import pytest
from hypothesis import assume, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from mederi.core.errors import MederiError
from mederi.fhir.jsonpatch import apply_patch

DOC = {
    "resourceType": "Patient",
    "id": "p1",
    "name": [{"family": "Doe", "given": ["Jane", "Q"]}],
    "a/b": 1,
    "m~n": 2,
    "active": True,
}


def patched(*operations) -> dict:
    return apply_patch(DOC, list(operations))


def error_of(*operations) -> MederiError:
    with pytest.raises(MederiError) as caught:
        apply_patch(DOC, list(operations))
    return caught.value


# --------------------------------------------------------------------------------------------
# each operation


def test_add_member_and_array_positions():
    assert patched({"op": "add", "path": "/gender", "value": "female"})["gender"] == "female"
    assert patched({"op": "add", "path": "/name/0/given/0", "value": "X"})["name"][0]["given"] == ["X", "Jane", "Q"]
    assert patched({"op": "add", "path": "/name/0/given/2", "value": "X"})["name"][0]["given"] == ["Jane", "Q", "X"]
    assert patched({"op": "add", "path": "/name/0/given/-", "value": "Z"})["name"][0]["given"] == ["Jane", "Q", "Z"]
    assert patched({"op": "add", "path": "/active", "value": False})["active"] is False  # add replaces a member


def test_add_past_the_end_or_with_bad_index_fails():
    assert "out of range" in str(error_of({"op": "add", "path": "/name/0/given/3", "value": "X"}))
    assert "not an array index" in str(error_of({"op": "add", "path": "/name/0/given/01", "value": "X"}))
    assert "not an array index" in str(error_of({"op": "add", "path": "/name/x", "value": {}}))


def test_add_into_missing_parent_fails():
    assert "no element 'contact'" in str(error_of({"op": "add", "path": "/contact/0/name", "value": {}}))


def test_remove():
    result = patched({"op": "remove", "path": "/name/0/given/0"})
    assert result["name"][0]["given"] == ["Q"]
    assert "active" not in patched({"op": "remove", "path": "/active"})
    assert "no element 'gender' to remove" in str(error_of({"op": "remove", "path": "/gender"}))
    assert "out of range" in str(error_of({"op": "remove", "path": "/name/5"}))
    assert "whole resource" in str(error_of({"op": "remove", "path": ""}))


def test_replace():
    assert patched({"op": "replace", "path": "/name/0/family", "value": "Roe"})["name"][0]["family"] == "Roe"
    assert patched({"op": "replace", "path": "/name/0/given/1", "value": "R"})["name"][0]["given"] == ["Jane", "R"]
    assert "no element 'gender' to replace" in str(error_of({"op": "replace", "path": "/gender", "value": "x"}))
    assert "out of range" in str(error_of({"op": "replace", "path": "/name/0/given/2", "value": "x"}))
    assert "whole resource" in str(error_of({"op": "replace", "path": "", "value": {}}))


def test_move_and_copy():
    moved = patched({"op": "move", "from": "/name/0/given/1", "path": "/name/0/given/0"})
    assert moved["name"][0]["given"] == ["Q", "Jane"]
    moved_member = patched({"op": "move", "from": "/active", "path": "/isActive"})
    assert "active" not in moved_member and moved_member["isActive"] is True
    copied = patched({"op": "copy", "from": "/name/0", "path": "/name/-"})
    assert copied["name"] == [DOC["name"][0], DOC["name"][0]]
    copied["name"][1]["given"].append("only in the copy")
    assert copied["name"][0]["given"] == ["Jane", "Q"]
    assert "into itself" in str(error_of({"op": "move", "from": "/name", "path": "/name/0"}))
    assert "needs 'from'" in str(error_of({"op": "copy", "path": "/x"}))
    assert "no element 'nothing'" in str(error_of({"op": "copy", "from": "/nothing", "path": "/x"}))


def test_test_operation():
    assert patched({"op": "test", "path": "/name/0/family", "value": "Doe"}) == DOC
    failure = error_of({"op": "test", "path": "/name/0/family", "value": "Roe"})
    assert failure.status == 422
    assert "test failed" in str(failure)
    assert error_of({"op": "test", "path": "/missing", "value": 1}).status == 400
    # JSON types differ even where Python's == does not
    assert error_of({"op": "test", "path": "/active", "value": 1}).status == 422
    assert error_of({"op": "test", "path": "", "value": {**DOC, "active": 1}}).status == 422
    assert error_of({"op": "test", "path": "/a~1b", "value": True}).status == 422
    assert patched({"op": "test", "path": "/a~1b", "value": 1.0}) == DOC  # 1 and 1.0 are the same number


def test_escaped_pointer_tokens():
    assert patched({"op": "replace", "path": "/a~1b", "value": 9})["a/b"] == 9
    assert patched({"op": "replace", "path": "/m~0n", "value": 8})["m~n"] == 8
    assert "a/b" not in patched({"op": "remove", "path": "/a~1b"})


def test_operations_apply_in_order_and_failure_names_the_operation():
    result = patched(
        {"op": "add", "path": "/gender", "value": "male"},
        {"op": "replace", "path": "/gender", "value": "female"},
        {"op": "test", "path": "/gender", "value": "female"},
    )
    assert result["gender"] == "female"
    failure = error_of({"op": "add", "path": "/gender", "value": "male"}, {"op": "remove", "path": "/nope"})
    assert "patch operation 1" in str(failure)
    assert failure.status == 400


@pytest.mark.parametrize("operations, fragment", [
    ({"op": "add"}, "array of operations"),
    ([{"path": "/x", "value": 1}], "needs 'op' and 'path'"),
    ([{"op": "add", "value": 1}], "needs 'op' and 'path'"),
    (["add"], "needs 'op' and 'path'"),
    ([{"op": "add", "path": "/x"}], "'add' needs a 'value'"),
    ([{"op": "replace", "path": "/x"}], "'replace' needs a 'value'"),
    ([{"op": "test", "path": "/x"}], "'test' needs a 'value'"),
    ([{"op": "frobnicate", "path": "/x"}], "unknown operation"),
    ([{"op": "add", "path": "x", "value": 1}], "JSON pointer"),
    ([{"op": "add", "path": "/active/deeper", "value": 1}], "cannot"),
])
def test_malformed_patches_are_refused(operations, fragment):
    with pytest.raises(MederiError) as caught:
        apply_patch(DOC, operations)
    assert fragment in str(caught.value)
    assert caught.value.status == 400


def test_failed_patch_leaves_the_input_untouched():
    original = copy.deepcopy(DOC)
    with pytest.raises(MederiError):
        apply_patch(DOC, [{"op": "remove", "path": "/active"}, {"op": "remove", "path": "/gone"}])
    assert DOC == original


# --------------------------------------------------------------------------------------------
# properties

_keys = st.text(alphabet="abcxyz/~0", min_size=1, max_size=4)
_scalars = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=4)
_json = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=3),
                     max_leaves=12)
_documents = st.dictionaries(_keys, _json, max_size=4)


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _container_paths(node, prefix=""):
    """Every pointer to a dict or list inside `node`, itself included."""
    yield prefix, node
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, (dict, list)):
                yield from _container_paths(value, f"{prefix}/{_escape(key)}")
    elif isinstance(node, list):
        for position, value in enumerate(node):
            if isinstance(value, (dict, list)):
                yield from _container_paths(value, f"{prefix}/{position}")


@st.composite
def _add_target(draw):
    """A document and a pointer at which `add` inserts a new value (a new key or an array slot)."""
    doc = draw(_documents)
    containers = list(_container_paths(doc))
    prefix, container = draw(st.sampled_from(containers))
    if isinstance(container, dict):
        key = draw(_keys)
        assume(key not in container)
        return doc, f"{prefix}/{_escape(key)}"
    position = draw(st.integers(0, len(container)))
    return doc, f"{prefix}/{position}"


@hsettings(max_examples=300, deadline=None)
@given(_add_target(), _json)
def test_add_then_remove_at_the_same_path_gives_back_the_original(target, value):
    doc, path = target
    original = copy.deepcopy(doc)
    result = apply_patch(doc, [{"op": "add", "path": path, "value": value}, {"op": "remove", "path": path}])
    assert result == original
    assert doc == original


@hsettings(max_examples=300, deadline=None)
@given(_add_target(), _json)
def test_add_then_test_finds_the_value(target, value):
    doc, path = target
    result = apply_patch(doc, [{"op": "add", "path": path, "value": value}, {"op": "test", "path": path, "value": value}])
    assert result != doc
    assert apply_patch(result, [{"op": "remove", "path": path}]) == doc


_ops = st.sampled_from(["add", "remove", "replace", "move", "copy", "test", "bogus", "", None, 3])
_pointers = st.one_of(
    st.text(alphabet="/~01-abcxyz", max_size=10),
    st.none(),
    st.integers(),
    st.lists(st.text(max_size=2), max_size=2),
)
_operation = st.one_of(
    st.fixed_dictionaries({"op": _ops, "path": _pointers}, optional={"value": _json, "from": _pointers}),
    _json,
)


@hsettings(max_examples=500, deadline=None)
@given(_documents, st.one_of(st.lists(_operation, max_size=5), _json))
def test_garbage_patches_raise_only_mederi_errors_and_never_modify_the_input(doc, operations):
    original = copy.deepcopy(doc)
    try:
        result = apply_patch(doc, operations)
    except MederiError as error:
        assert error.status in (400, 422)
        assert str(error)
    else:
        assert isinstance(result, dict)
    assert doc == original
