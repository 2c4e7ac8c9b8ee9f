"""Independent FHIR client libraries talking to a running server over real HTTP.

The SMART `fhirclient` models parse every response strictly against R4, and `fhirpy` follows
the paging links the server hands out, so these tests catch responses that only our own
test client would accept.
"""

from __future__ import annotations

import pytest
import requests
from fhirclient import client as smart_client
from fhirclient.models.bundle import Bundle as SmartBundle
from fhirclient.models.humanname import HumanName
from fhirclient.models.identifier import Identifier
from fhirclient.models.observation import Observation as SmartObservation
from fhirclient.models.patient import Patient as SmartPatient
from fhirclient.server import FHIRNotFoundException
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome as FhirpyOutcome
from fhirpy.base.exceptions import ResourceNotFound

from mederi.conftest import token_for

pytestmark = pytest.mark.django_db(transaction=True)

# The bearer token of the test's API user, for the plain `requests` calls below.
AUTH: dict[str, str] = {}


@pytest.fixture
def api_base(live_server, integration_user) -> str:
    AUTH["Authorization"] = f"Bearer {token_for(integration_user)}"
    return f"{live_server.url}/fhir/R4"


@pytest.fixture
def smart(api_base):
    client = smart_client.FHIRClient(settings={"app_id": "test", "api_base": api_base})
    client.server.session.headers.update(AUTH)
    return client


@pytest.fixture
def fhirpy_client(api_base):
    return SyncFHIRClient(api_base, authorization=AUTH["Authorization"], extra_headers={"Accept": "application/fhir+json"})


def post(api_base: str, resource: dict) -> dict:
    response = requests.post(f"{api_base}/{resource['resourceType']}", json=resource,
                             headers={"Content-Type": "application/fhir+json", **AUTH}, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


def person(family: str, given: str = "Ann", mrn: str | None = None) -> dict:
    body = {"resourceType": "Patient", "name": [{"family": family, "given": [given]}], "gender": "female",
            "birthDate": "1980-02-29"}
    if mrn:
        body["identifier"] = [{"system": "http://example.org/mrn", "value": mrn}]
    return body


# --------------------------------------------------------------------------------------------
# SMART fhirclient


def test_smart_client_reads_a_patient(api_base, smart):
    created = post(api_base, person("Smartread", mrn="S-1"))
    found = SmartPatient.read(created["id"], smart.server)
    assert found.id == created["id"]
    assert found.name[0].family == "Smartread"
    assert found.birthDate.isostring == "1980-02-29"
    assert found.identifier[0].value == "S-1"
    assert found.meta.versionId == "1"


def test_smart_client_searches(api_base, smart):
    for given in ("Ann", "Bea", "Cid"):
        post(api_base, person("Smartsearch", given))
    post(api_base, person("Elsewhere"))
    found = SmartPatient.where({"family": "Smartsearch"}).perform_resources(smart.server)
    assert sorted(p.name[0].given[0] for p in found) == ["Ann", "Bea", "Cid"]
    bundle = SmartPatient.where({"family": "Smartsearch", "given": "Bea"}).perform(smart.server)
    assert isinstance(bundle, SmartBundle)
    assert bundle.total == 1


def test_smart_client_creates_and_updates(smart):
    patient = SmartPatient()
    name = HumanName()
    name.family = "Smartwrite"
    name.given = ["Dee"]
    patient.name = [name]
    identifier = Identifier()
    identifier.system = "http://example.org/mrn"
    identifier.value = "S-9"
    patient.identifier = [identifier]
    result = patient.create(smart.server)
    assert result["resourceType"] == "Patient"
    new_id = result["id"]
    stored = SmartPatient.read(new_id, smart.server)
    stored.gender = "other"
    stored.update(smart.server)
    again = SmartPatient.read(new_id, smart.server)
    assert again.gender == "other"
    assert again.meta.versionId == "2"


def test_smart_client_reads_observations_by_reference(api_base, smart):
    subject = post(api_base, person("Smartobs"))
    post(api_base, {
        "resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
        "subject": {"reference": f"Patient/{subject['id']}"},
        "valueQuantity": {"value": 70.5, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"},
    })
    found = SmartObservation.where({"subject": f"Patient/{subject['id']}"}).perform_resources(smart.server)
    assert len(found) == 1
    assert found[0].valueQuantity.value == 70.5
    assert found[0].subject.reference == f"Patient/{subject['id']}"


def test_smart_client_sees_missing_resources_as_errors(smart):
    with pytest.raises(FHIRNotFoundException) as caught:
        SmartPatient.read("no-such-patient", smart.server)
    assert caught.value.response.json()["resourceType"] == "OperationOutcome"


# --------------------------------------------------------------------------------------------
# fhirpy


def test_fhirpy_creates_reads_and_searches(fhirpy_client):
    created = fhirpy_client.resource("Patient", name=[{"family": "Pyfamily", "given": ["Eve"]}], gender="female")
    created.save()
    assert created.id
    assert created["meta"]["versionId"] == "1"
    read = fhirpy_client.reference("Patient", created.id).to_resource()
    assert read["name"][0]["family"] == "Pyfamily"
    found = fhirpy_client.resources("Patient").search(family="Pyfamily").fetch()
    assert [p.id for p in found] == [created.id]
    # fhirpy's count() adds `_totalMethod`, which this server refuses unless told to be lenient
    lenient = SyncFHIRClient(fhirpy_client.url, authorization=AUTH["Authorization"],
                             extra_headers={"Prefer": "handling=lenient"})
    assert lenient.resources("Patient").search(family="Pyfamily").count() == 1
    assert fhirpy_client.resources("Patient").search(family="Nobody").fetch() == []


def test_fhirpy_fetch_all_follows_every_page(api_base, fhirpy_client):
    ids = {post(api_base, person("Pypaged", given=f"G{i}"))["id"] for i in range(23)}
    post(api_base, person("Pyother"))
    query = fhirpy_client.resources("Patient").search(family="Pypaged").limit(5)
    first_page = query.fetch()
    assert len(first_page) == 5
    everything = query.fetch_all()
    assert len(everything) == 23
    assert {p.id for p in everything} == ids


def test_fhirpy_updates_and_deletes(fhirpy_client):
    patient = fhirpy_client.resource("Patient", name=[{"family": "Pychange"}])
    patient.save()
    patient["gender"] = "male"
    patient.save()
    assert patient["meta"]["versionId"] == "2"
    assert fhirpy_client.reference("Patient", patient.id).to_resource()["gender"] == "male"
    patient.delete()
    with pytest.raises(ResourceNotFound):  # 410 Gone
        fhirpy_client.reference("Patient", patient.id).to_resource()
    assert fhirpy_client.resources("Patient").search(family="Pychange").fetch() == []


def test_fhirpy_invalid_resource_is_refused_with_outcome(fhirpy_client):
    bad = fhirpy_client.resource("Patient", gender="martian")
    with pytest.raises(FhirpyOutcome) as caught:
        bad.save()
    assert "gender" in str(caught.value)
    assert fhirpy_client.resources("Patient").fetch() == []
