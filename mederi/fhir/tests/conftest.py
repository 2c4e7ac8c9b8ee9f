"""Fixtures shared by the FHIR app's tests."""

import pytest

from mederi.conftest import start_empty
from mederi.fhir.tests.factories import patient
from mederi.fhir.tests.searching import put_all


@pytest.fixture(autouse=True)
def empty_record(request):
    """The record engine's tests start from an empty record (see `mederi.conftest.start_empty`)."""
    start_empty(request)


@pytest.fixture
def named(fhir):
    put_all(
        fhir,
        patient("mu", family="Müller", given=["Peter"],
                address=[{"line": ["12 Main Street"], "city": "Zürich", "postalCode": "8001", "country": "CH"}]),
        patient("me", family="Mueller", given=["Anna"], address=[{"city": "Bern", "postalCode": "3001"}]),
        patient("pe", family="Petersen", given=["Jo"]),
        patient("sc", family="Schmidt", given=["Peter", "James"], address=[{"city": "Zug", "state": "ZG"}]),
    )
