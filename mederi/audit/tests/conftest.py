"""Fixtures shared by the audit log's tests."""

import pytest

from mederi.conftest import start_empty


@pytest.fixture(autouse=True)
def empty_log(request):
    """The audit log's tests start from an empty log and record (see `mederi.conftest.start_empty`)."""
    start_empty(request, audit_log=True)
