"""R4 definitions shipped as package data (built by the scripts in `scripts/`)."""

import json
import re
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
_CHOICE_KEY = re.compile(r"^([a-z][A-Za-z]*?)[A-Z]")


@cache
def _summary_table() -> dict[str, frozenset[str]]:
    data = json.loads((HERE / "summary_elements.json").read_text())
    return {name: frozenset(elements) for name, elements in data.items()}


def summary_elements(resource_type: str) -> "SummaryFilter":
    return SummaryFilter(_summary_table().get(resource_type, frozenset()))


class SummaryFilter:
    """Membership test for a resource's summary elements, choice types (`value[x]`) included."""

    def __init__(self, names: frozenset[str]):
        self.names = names

    def __contains__(self, key: str) -> bool:
        if key in self.names:
            return True
        match = _CHOICE_KEY.match(key)
        return bool(match) and f"{match.group(1)}[x]" in self.names

    def __or__(self, other):
        return SummaryFilter(self.names | frozenset(other))
