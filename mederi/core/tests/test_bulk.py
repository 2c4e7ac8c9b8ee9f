"""Bulk rows on PostgreSQL: binary COPY for a model's table, text COPY for any other, the same rows back."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from mederi.core import bulk

pytestmark = [pytest.mark.django_db,
              pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")]

ROWS = [(1, "plain", dt.date(2026, 3, 2)), (2, "tab\there, \\ and 'quotes' \u00e9", None)]


def test_a_table_without_a_model_takes_its_rows_as_text():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE bulk_plain (n bigint, words text, day date)")
        bulk.insert_rows("bulk_plain", ("n", "words", "day"), ROWS)
        cursor.execute("SELECT n, words, day FROM bulk_plain ORDER BY n")
        assert cursor.fetchall() == ROWS
