"""Conformance with published examples: what the spec calls valid is stored and read back as sent.

Each official R4 example (and each US Core 6.1 example) is sent with `PUT /fhir/R4/{type}/{id}`
and read back with `GET`; the stored resource must equal the file apart from `meta.versionId`
and `meta.lastUpdated`, which the server owns. The examples known to break R4's own rules (the
list kept beside the validator's tests) must be refused with a 400 OperationOutcome that names
the problem, and must leave nothing behind. One test per package loops over every file and
reports every mismatch at once.
"""

from __future__ import annotations

import json
import re
import tarfile
from pathlib import Path

import pytest
from django.conf import settings

from mederi.conftest import shared_data, without_versioning
from mederi.fhir.models import Resource, ResourceHistory
from mederi.fhir.tests import test_validation as known

BASE = "/fhir/R4"
# The known-invalid examples are kept with the validator's tests; a file name listed there maps
# to a piece of the "expression: diagnostics" text the refusal must contain.
R4_EXPECTED_INVALID: dict[str, str] = getattr(known, "R4_EXPECTED_INVALID", {})
US_CORE_EXPECTED_INVALID: dict[str, str] = getattr(known, "US_CORE_EXPECTED_INVALID", {})
NOT_RESOURCES: set[str] = set(getattr(known, "NOT_RESOURCES", {"package.json"}))
ROUTABLE_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


def r4_package() -> Path:
    package = Path(settings.FHIR_R4_EXAMPLES_DIR) / "package"
    if not package.is_dir():
        pytest.skip(f"the official R4 examples are not at {package} (run `make packages`)")
    return package


def issue_texts(outcome: dict) -> list[str]:
    return [f"{(i.get('expression') or [''])[0]}: {i.get('diagnostics', '')}" for i in outcome.get("issue", [])]


def check_example(fhir, name: str, raw: bytes, expected_reason: str | None) -> list[str]:
    """Send one example; return what went wrong (nothing when the server behaved)."""
    # Decimals compared as the digits written: FHIR keeps a decimal's precision.
    resource = json.loads(raw, parse_float=str)
    resource_type, logical_id = resource.get("resourceType"), resource.get("id")
    if not logical_id:
        return [f"{name}: has no id, cannot be PUT"]
    if resource_type == "AuditEvent":
        return _check_audit_event_example(fhir, name, raw, expected_reason)
    url = f"{BASE}/{resource_type}/{logical_id}"
    response = fhir.put(url, raw)
    if expected_reason is None:
        if response.status_code not in (200, 201):
            return [f"{name}: PUT answered {response.status_code}: {response.content[:400]!r}"]
        read = fhir.get(url)
        if read.status_code != 200:
            return [f"{name}: GET answered {read.status_code}"]
        body = json.loads(read.content, parse_float=str)
        problems = []
        if not body.get("meta", {}).get("versionId") or not body.get("meta", {}).get("lastUpdated"):
            problems.append(f"{name}: read back without meta.versionId/lastUpdated")
        if without_versioning(body) != without_versioning(resource):
            differing = sorted(k for k in set(body) | set(resource)
                               if without_versioning(body).get(k) != without_versioning(resource).get(k))
            problems.append(f"{name}: read back differs in {differing}")
        return problems
    # a known-invalid example: refused, explained, and nothing kept
    problems = []
    routable = bool(ROUTABLE_ID.fullmatch(logical_id))
    allowed = (400,) if routable else (400, 404)  # an id no URL can carry is refused by the router
    if response.status_code not in allowed:
        problems.append(f"{name}: PUT of a known-invalid example answered {response.status_code}, not 400")
    if not response["Content-Type"].startswith("application/fhir+json"):
        return problems + [f"{name}: refusal is {response['Content-Type']}, not an OperationOutcome"]
    outcome = response.json()
    texts = issue_texts(outcome)
    if outcome.get("resourceType") != "OperationOutcome" or not any(
        i.get("severity") in ("error", "fatal") for i in outcome.get("issue", [])
    ):
        problems.append(f"{name}: refusal is not an OperationOutcome with an error: {outcome}")
    wanted = expected_reason if routable else "1-64"
    if not any(wanted in text for text in texts):
        problems.append(f"{name}: refusal should mention {wanted!r}, says {texts[:5]}")
    if Resource.objects.filter(resource_type=resource_type, logical_id=logical_id).exists() or \
            ResourceHistory.objects.filter(resource_type=resource_type, logical_id=logical_id).exists():
        problems.append(f"{name}: was refused but something was stored")
    return problems


def _check_audit_event_example(fhir, name: str, raw: bytes, expected_reason: str | None) -> list[str]:
    """`AuditEvent` on this server is the audit log itself, read-only: the examples are checked
    with $validate instead of being stored."""
    response = fhir.post(f"{BASE}/AuditEvent/$validate", raw)
    errors = [i for i in response.json().get("issue", []) if i.get("severity") in ("error", "fatal")]
    if expected_reason is None and errors:
        return [f"{name}: $validate found errors: {issue_texts(response.json())[:5]}"]
    if expected_reason is not None and not any(expected_reason in t for t in issue_texts(response.json())):
        return [f"{name}: $validate should mention {expected_reason!r}"]
    if fhir.put(f"{BASE}/AuditEvent/{json.loads(raw)['id']}", raw).status_code != 405:
        return [f"{name}: PUT of an AuditEvent was not refused as read-only"]
    return []


def check_all(fhir, examples, expected_invalid: dict[str, str]) -> int:
    failures: list[str] = []
    seen = set()
    for name, raw in examples:
        seen.add(name)
        failures += check_example(fhir, name, raw, expected_invalid.get(name))
    missing = sorted(set(expected_invalid) - seen)
    assert not missing, f"known-invalid examples not found in the package: {missing}"
    assert not failures, f"{len(failures)} of {len(seen)} examples misbehaved:\n" + "\n".join(failures)
    return len(seen)


# -- the official R4 examples ----------------------------------------------------------------------


def r4_examples(package: Path):
    for path in sorted(package.glob("*.json")):
        if path.name in NOT_RESOURCES or path.name.startswith("."):
            continue
        yield path.name, path.read_bytes()


@pytest.mark.r4examples
def test_every_official_r4_example_is_stored_and_read_back_or_refused_with_its_reason(fhir):
    package = r4_package()
    count = check_all(fhir, r4_examples(package), R4_EXPECTED_INVALID)
    assert count > 5000  # the whole package, definitional resources and Bundles included
    stored_types = set(Resource.objects.values_list("resource_type", flat=True).distinct())
    assert {"Patient", "Bundle", "StructureDefinition", "Observation", "Questionnaire"} <= stored_types
    # every stored resource is at version 1 unless two files share a type and id
    assert Resource.objects.count() == ResourceHistory.objects.count()


@pytest.mark.r4examples
def test_large_example_bundle_is_stored_whole(fhir):
    """The largest official examples are Bundles of tens of MB; a Bundle is a resource like any other."""
    path = r4_package() / "Bundle-resources.json"
    if not path.is_file():
        pytest.skip("Bundle-resources.json is not in this examples package")
    raw = path.read_bytes()
    assert len(raw) > 10 * 1024 * 1024
    original = json.loads(raw)
    response = fhir.put(f"{BASE}/Bundle/{original['id']}", raw)
    assert response.status_code == 201, response.content[:500]
    read = fhir.get(f"{BASE}/Bundle/{original['id']}").json()
    assert len(read["entry"]) == len(original["entry"])
    assert without_versioning(read) == without_versioning(original)


def test_body_over_the_size_limit_is_refused_with_an_operation_outcome(fhir, monkeypatch):
    from mederi.fhir import views

    monkeypatch.setattr(views, "MAX_BODY_BYTES", 2000)
    patient = {"resourceType": "Patient", "id": "big", "name": [{"text": "x" * 3000}]}
    response = fhir.put(f"{BASE}/Patient/big", patient)
    assert response.status_code == 413
    assert response.json()["resourceType"] == "OperationOutcome"
    assert "at most 2000" in response.json()["issue"][0]["diagnostics"]
    assert not Resource.objects.filter(logical_id="big").exists()
    patient["name"][0]["text"] = "x" * 100
    assert fhir.put(f"{BASE}/Patient/big", patient).status_code == 201


def break_patient(patient: dict, how: str) -> tuple[dict, str]:
    broken = json.loads(json.dumps(patient))
    if how == "unknown element":
        broken["favouriteColour"] = "teal"
        return broken, "favouriteColour"
    if how == "bad date":
        broken["birthDate"] = "1974-13-45"
        return broken, "birthDate"
    if how == "wrong type":
        broken["active"] = "yes"
        return broken, "active"
    if how == "bad code":
        broken["gender"] = "robot"
        return broken, "gender"
    raise AssertionError(how)


@pytest.mark.r4examples
@pytest.mark.parametrize("how", ["unknown element", "bad date", "wrong type", "bad code"])
def test_broken_official_example_is_refused_and_an_existing_version_is_kept(fhir, how):
    raw = (r4_package() / "Patient-example.json").read_bytes()
    patient = json.loads(raw)
    broken, element = break_patient(patient, how)
    fresh = {**broken, "id": "broken-new"}
    response = fhir.put(f"{BASE}/Patient/broken-new", fresh)
    assert response.status_code == 400
    texts = issue_texts(response.json())
    assert any(f"Patient.{element}" in text for text in texts), texts
    assert fhir.get(f"{BASE}/Patient/broken-new").status_code == 404
    assert not Resource.objects.filter(logical_id="broken-new").exists()

    assert fhir.put(f"{BASE}/Patient/example", raw).status_code == 201
    response = fhir.put(f"{BASE}/Patient/example", broken)
    assert response.status_code == 400
    assert any(f"Patient.{element}" in text for text in issue_texts(response.json()))
    current = fhir.get(f"{BASE}/Patient/example").json()
    assert current["meta"]["versionId"] == "1"
    assert without_versioning(current) == without_versioning(patient)
    assert ResourceHistory.objects.filter(resource_type="Patient", logical_id="example").count() == 1


@pytest.mark.r4examples
def test_decimal_precision_of_an_example_is_kept(fhir):
    raw = (r4_package() / "Observation-decimal.json").read_bytes()
    assert fhir.put(f"{BASE}/Observation/decimal", raw).status_code == 201
    read = fhir.get(f"{BASE}/Observation/decimal")
    assert without_versioning(json.loads(read.content, parse_float=str)) == without_versioning(
        json.loads(raw, parse_float=str))


# -- US Core 6.1 -----------------------------------------------------------------------------------


def us_core_examples(tgz: Path):
    with tarfile.open(tgz, "r:gz") as archive:
        for member in sorted(archive.getmembers(), key=lambda m: m.name):
            if member.isfile() and member.name.startswith("package/example/") and member.name.endswith(".json"):
                yield member.name.rsplit("/", 1)[1], archive.extractfile(member).read()


@pytest.mark.dataset
def test_every_us_core_example_is_stored_and_read_back(fhir):
    tgz = shared_data("us-core", "us_core_610.tgz")
    count = check_all(fhir, us_core_examples(tgz), US_CORE_EXPECTED_INVALID)
    assert count > 100
    profiled = [r for r in Resource.objects.values_list("content", flat=True)
                if "us-core" in json.dumps(json.loads(r).get("meta", {}).get("profile", []))]
    assert profiled, "the US Core examples keep their meta.profile"
