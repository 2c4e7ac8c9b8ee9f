"""JSON Patch (RFC 6902) applied to a resource, with errors a client can act on."""

import copy

from mederi.core.errors import InvalidRequest, Issue, MederiError

_MISSING = object()


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _split(pointer: str, index: int) -> list[str]:
    if pointer == "":
        return []
    if not isinstance(pointer, str) or not pointer.startswith("/"):
        raise _bad(index, f"path '{pointer}' must be a JSON pointer starting with '/'")
    return [_unescape(t) for t in pointer[1:].split("/")]


def _bad(index: int, message: str, status: int = 400) -> MederiError:
    return MederiError([Issue(f"patch operation {index}: {message}", code="processing")], status)


def _parent(doc, tokens: list[str], index: int):
    node = doc
    for token in tokens[:-1]:
        node = _child(node, token, index)
    return node


def _child(node, token: str, index: int):
    if isinstance(node, dict):
        if token not in node:
            raise _bad(index, f"no element '{token}'")
        return node[token]
    if isinstance(node, list):
        position = _list_index(node, token, index, allow_end=False)
        return node[position]
    raise _bad(index, f"cannot descend into a value at '{token}'")


def _list_index(node: list, token: str, index: int, allow_end: bool) -> int:
    if token == "-" and allow_end:
        return len(node)
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise _bad(index, f"'{token}' is not an array index")
    position = int(token)
    limit = len(node) if allow_end else len(node) - 1
    if position > limit:
        raise _bad(index, f"array index {position} is out of range")
    return position


def _same(a, b) -> bool:
    """JSON equality (RFC 6902 4.6): unlike Python's ==, `true` is not `1` and `false` is not `0`."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _get(doc, pointer: str, index: int):
    node = doc
    for token in _split(pointer, index):
        node = _child(node, token, index)
    return node


def _remove(doc, pointer: str, index: int):
    tokens = _split(pointer, index)
    if not tokens:
        raise _bad(index, "cannot remove the whole resource")
    parent = _parent(doc, tokens, index)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise _bad(index, f"no element '{last}' to remove")
        return parent.pop(last)
    if isinstance(parent, list):
        return parent.pop(_list_index(parent, last, index, allow_end=False))
    raise _bad(index, f"cannot remove from a value at '{pointer}'")


def _add(doc, pointer: str, value, index: int, replace: bool = False):
    tokens = _split(pointer, index)
    if not tokens:
        raise _bad(index, "cannot replace the whole resource; use PUT")
    parent = _parent(doc, tokens, index)
    last = tokens[-1]
    if isinstance(parent, dict):
        if replace and last not in parent:
            raise _bad(index, f"no element '{last}' to replace")
        parent[last] = value
    elif isinstance(parent, list):
        if replace:
            parent[_list_index(parent, last, index, allow_end=False)] = value
        else:
            parent.insert(_list_index(parent, last, index, allow_end=True), value)
    else:
        raise _bad(index, f"cannot add into a value at '{pointer}'")
    return doc


def apply_patch(resource: dict, operations) -> dict:
    """Return a patched copy of `resource`; the original is never modified."""
    if not isinstance(operations, list):
        raise InvalidRequest.single("a JSON Patch document must be an array of operations")
    doc = copy.deepcopy(resource)
    for index, operation in enumerate(operations):
        if not isinstance(operation, dict) or "op" not in operation or "path" not in operation:
            raise _bad(index, "each operation needs 'op' and 'path'")
        op, path = operation["op"], operation["path"]
        if not isinstance(path, str) or not isinstance(operation.get("from", ""), str):
            raise _bad(index, "'path' and 'from' must be JSON pointer strings")
        if op in ("add", "replace", "test") and "value" not in operation:
            raise _bad(index, f"'{op}' needs a 'value'")
        if op == "add":
            _add(doc, path, copy.deepcopy(operation["value"]), index)
        elif op == "replace":
            _add(doc, path, copy.deepcopy(operation["value"]), index, replace=True)
        elif op == "remove":
            _remove(doc, path, index)
        elif op in ("move", "copy"):
            if "from" not in operation:
                raise _bad(index, f"'{op}' needs 'from'")
            if op == "move":
                if path.startswith(operation["from"] + "/"):
                    raise _bad(index, "cannot move a value into itself")
                value = _remove(doc, operation["from"], index)
            else:
                value = copy.deepcopy(_get(doc, operation["from"], index))
            _add(doc, path, value, index)
        elif op == "test":
            if not _same(_get(doc, path, index), operation["value"]):
                raise _bad(index, f"test failed: '{path}' does not hold the expected value", status=422)
        else:
            raise _bad(index, f"unknown operation '{op}'")
    return doc
