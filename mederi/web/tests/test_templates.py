"""Template comments that Django would print on the page instead of hiding."""

from __future__ import annotations

from pathlib import Path

import mederi

ROOT = Path(mederi.__file__).parent


def test_no_template_has_a_comment_spanning_lines():
    """`{# … #}` must close on its own line; a longer note needs {% comment %}, or the page shows it as text."""
    open_comments = [f"{path.relative_to(ROOT)}:{number}"
                     for path in ROOT.rglob("templates/**/*.html")
                     for number, line in enumerate(path.read_text().splitlines(), 1)
                     if line.count("{#") > line.count("#}")]
    assert open_comments == []
