"""Fixtures shared by the FHIR app's tests."""

import pytest

from mederi.fhir.tests.factories import patient
from mederi.fhir.tests.searching import put_all


@pytest.fixture(autouse=True)
def empty_record(request):
    """The record engine's tests start from an empty record.

    Apps may ship resources that every migrate adds (the note templates are Questionnaires); the
    engine knows nothing of them, and its tests count and compare what they store themselves.
    """
    if not ({"db", "transactional_db", "django_db_setup"} & set(request.fixturenames)
            or request.node.get_closest_marker("django_db")):
        return
    request.getfixturevalue("transactional_db" if "transactional_db" in request.fixturenames else "db")
    from mederi.fhir import models

    for model in (models.SearchToken, models.SearchString, models.SearchDate, models.SearchReference,
                  models.SearchNumber, models.SearchQuantity, models.SearchUri, models.SearchSnapshot,
                  models.ResourceHistory, models.Resource):
        model.objects.all().delete()


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
