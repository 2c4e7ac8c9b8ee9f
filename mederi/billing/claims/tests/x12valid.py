"""pyx12's x12valid, run in this process: the problems it finds in an X12 text, as sentences."""

from __future__ import annotations

import io
import json
import logging

import pyx12.params
import pyx12.x12n_document

logging.getLogger("pyx12").setLevel(logging.CRITICAL)


def _problems(node, found: list[str]) -> None:
    if isinstance(node, dict):
        for error in node.get("errors") or ():
            found.append(f"{error.get('err_cde', '')} {error.get('err_str') or error.get('msg') or error}")
        for value in node.values():
            if isinstance(value, (list, dict)):
                _problems(value, found)
    elif isinstance(node, list):
        for item in node:
            _problems(item, found)


def x12valid(text: str) -> list[str]:
    """Every error pyx12 reports for the file (structure, required elements, code values); [] when valid."""
    report = io.StringIO()
    accepted = pyx12.x12n_document.x12n_document(pyx12.params.params(), io.StringIO(text), None, None, None, report)
    found: list[str] = []
    _problems(json.loads(report.getvalue() or "{}"), found)
    if not accepted and not found:
        found.append("pyx12 refused the file without naming an error")
    return found
