"""Validation of resources against the FHIR R4 structure rules (mederi.fhir.validation).

No database is needed. The example-package tests skip when their data is absent.
"""

import copy
import gzip
import json
import sys
import tarfile
from pathlib import Path

import pytest
from django.conf import settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from mederi.core.errors import Issue
from mederi.fhir import validation
from mederi.fhir.validation import RESOURCE_TYPES, is_resource_type, validate_resource

PROJECT_ROOT = Path(settings.BASE_DIR).parent
SHARED_DATA = Path(settings.BASE_DIR).parent.parent / "shared" / "data"


def r4_package() -> Path:
    return Path(settings.FHIR_R4_EXAMPLES_DIR) / "package"


def rendered(issues: list[Issue]) -> list[str]:
    return [f"{i.expression}: {i.diagnostics}" for i in issues]


def only_issue(resource: dict) -> Issue:
    issues = validate_resource(resource)
    assert len(issues) == 1, rendered(issues)
    return issues[0]


def check_examples(examples, expected_invalid: dict[str, str]) -> None:
    """Valid examples must pass; each listed one must fail, with its expected reason among the issues."""
    problems = []
    seen = set()
    for name, resource in examples:
        seen.add(name)
        issues = rendered(validate_resource(resource))
        expected = expected_invalid.get(name)
        if expected is None and issues:
            problems.append(f"{name} was rejected: {issues[:5]}")
        elif expected is not None and not any(expected in text for text in issues):
            problems.append(f"{name} should fail with {expected!r}, got {issues[:5]}")
    missing = set(expected_invalid) - seen
    assert not missing, f"expected-invalid examples not found: {sorted(missing)}"
    assert not problems, "\n".join(problems)


# -- official examples -------------------------------------------------------------------------

# Official R4 examples that break R4's own rules. Each was checked by hand against the
# StructureDefinitions: the element is required (min 1) or the value breaks its type's regex.
R4_EXPECTED_INVALID = {
    # ImplementationGuide.name and .status are 1..1; both files have neither.
    "ImplementationGuide-fhir.json": "ImplementationGuide.status: must have at least 1 value",
    "ig-r4.json": "ImplementationGuide.name: must have at least 1 value",
    # Questionnaire.item.linkId is 1..1; the nested items of the first group have none.
    "Questionnaire-qs1.json": "Questionnaire.item[0].item[0].linkId: must have at least 1 value",
    # SearchParameter.base is 1..*; these search parameters on extensions omit it.
    "SearchParameter-codesystem-extensions-CodeSystem-author.json": "SearchParameter.base: must have at least 1",
    "SearchParameter-codesystem-extensions-CodeSystem-effective.json": "SearchParameter.base: must have at least 1",
    "SearchParameter-codesystem-extensions-CodeSystem-end.json": "SearchParameter.base: must have at least 1",
    "SearchParameter-codesystem-extensions-CodeSystem-keyword.json": "SearchParameter.base: must have at least 1",
    "SearchParameter-codesystem-extensions-CodeSystem-workflow.json": "SearchParameter.base: must have at least 1",
    "SearchParameter-valueset-extensions-ValueSet-author.json": "SearchParameter.base: must have at least 1",
    "SearchParameter-valueset-extensions-ValueSet-effective.json": "SearchParameter.base: must have at least 1",
    "SearchParameter-valueset-extensions-ValueSet-end.json": "SearchParameter.base: must have at least 1",
    "SearchParameter-valueset-extensions-ValueSet-keyword.json": "SearchParameter.base: must have at least 1",
    "SearchParameter-valueset-extensions-ValueSet-workflow.json": "SearchParameter.base: must have at least 1",
    # Its id has 67 characters; an id has at most 64.
    "SearchParameter-questionnaireresponse-extensions-QuestionnaireResponse-item-subject.json":
        "SearchParameter.id: 'questionnaireresponse-extensions-QuestionnaireResponse-it...' is not a valid id",
}

# package.json is the npm manifest, not a resource
NOT_RESOURCES = {"package.json"}

US_CORE_EXPECTED_INVALID: dict[str, str] = {}


def r4_examples():
    for path in sorted(r4_package().glob("*.json")):
        if path.name in NOT_RESOURCES or path.name.startswith("."):
            continue
        with path.open(encoding="utf-8") as fh:
            yield path.name, json.load(fh)


@pytest.mark.r4examples
def test_official_r4_examples():
    if not r4_package().is_dir():
        pytest.skip(f"R4 examples package not found at {r4_package()}")
    check_examples(r4_examples(), R4_EXPECTED_INVALID)


@pytest.mark.dataset
def test_us_core_examples():
    tgz = SHARED_DATA / "us-core" / "us_core_610.tgz"
    if not tgz.is_file():
        pytest.skip(f"US Core package not found at {tgz}")
    examples = []
    with tarfile.open(tgz, "r:gz") as tf:
        for member in tf.getmembers():
            if member.isfile() and member.name.startswith("package/example/") and member.name.endswith(".json"):
                examples.append((member.name.rsplit("/", 1)[1], json.load(tf.extractfile(member))))
    assert len(examples) > 100
    check_examples(examples, US_CORE_EXPECTED_INVALID)


@pytest.mark.dataset
def test_synthea_bundles():
    files = sorted((SHARED_DATA / "synthea").glob("*.json"))
    if not files:
        pytest.skip("Synthea data not found")
    for path in files:
        with path.open(encoding="utf-8") as fh:
            bundle = json.load(fh)
        assert validate_resource(bundle) == [], path.name


@pytest.mark.r4examples
def test_definitions_file_is_current():
    """The shipped data file is what the build script makes from the package."""
    if not (r4_package() / "StructureDefinition-Patient.json").is_file():
        pytest.skip("R4 examples package not found")
    sys.path.insert(0, str(PROJECT_ROOT / "scripts"))
    try:
        import build_fhir_definitions
    finally:
        sys.path.pop(0)
    built = build_fhir_definitions.build(r4_package())
    with gzip.open(validation.DATA_FILE, "rb") as fh:
        shipped = json.loads(fh.read())
    assert json.loads(json.dumps(built)) == shipped, "run scripts/build_fhir_definitions.py"


def test_data_file_is_small():
    assert validation.DATA_FILE.stat().st_size < 300_000


def test_primitive_regexes_are_the_official_ones():
    with gzip.open(validation.DATA_FILE, "rb") as fh:
        primitives = json.loads(fh.read())["primitives"]
    compiled = {"date": validation._RE_DATE, "dateTime": validation._RE_DATETIME, "instant": validation._RE_INSTANT,
                "time": validation._RE_TIME, "id": validation._RE_ID, "oid": validation._RE_OID,
                "uuid": validation._RE_UUID, "code": validation._RE_CODE}
    for name, regex in compiled.items():
        assert regex.pattern == primitives[name], name
    assert set(primitives) <= set(validation._CHECKS)


# -- resource types ----------------------------------------------------------------------------


def test_resource_types():
    assert 140 <= len(RESOURCE_TYPES) <= 150
    assert isinstance(RESOURCE_TYPES, frozenset)
    for name in ("Patient", "Observation", "Bundle", "Parameters", "Questionnaire", "Binary"):
        assert is_resource_type(name)
    for name in ("Resource", "DomainResource", "MetadataResource", "HumanName", "patient", "", None, 3):
        assert not is_resource_type(name)


def test_not_an_object():
    issue = only_issue_of(["not", "a", "resource"])
    assert "must be a JSON object" in issue.diagnostics


def only_issue_of(value) -> Issue:
    issues = validate_resource(value)
    assert len(issues) == 1, rendered(issues)
    return issues[0]


def test_missing_resource_type():
    issue = only_issue({"id": "x"})
    assert issue.expression == "resourceType"
    assert "missing 'resourceType'" in issue.diagnostics
    assert issue.code == "required"


def test_unknown_resource_type():
    issue = only_issue({"resourceType": "Patiant"})
    assert issue.expression == "resourceType"
    assert "'Patiant' is not a FHIR R4 resource type" in issue.diagnostics
    assert "did you mean 'Patient'" in issue.diagnostics


def test_abstract_resource_type_rejected():
    assert "is not a FHIR R4 resource type" in only_issue({"resourceType": "DomainResource"}).diagnostics


# -- valid resources ---------------------------------------------------------------------------

PATIENT = {
    "resourceType": "Patient",
    "id": "pat-1",
    "meta": {"versionId": "1", "lastUpdated": "2024-01-31T09:30:00.123+01:00", "profile": ["http://x.org/p"]},
    "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Ann</div>"},
    "extension": [{"url": "http://example.org/ext", "valueCodeableConcept": {"text": "x"}}],
    "identifier": [{"system": "urn:oid:1.2.3", "value": "123", "period": {"start": "2020"}}],
    "active": True,
    "name": [{"use": "official", "family": "Doe", "given": ["Ann", "Marie"], "_given": [None, {"id": "g2"}]}],
    "telecom": [{"system": "phone", "value": "555", "use": "home", "rank": 1}],
    "gender": "female",
    "_gender": {"extension": [{"url": "http://example.org/g", "valueString": "f"}]},
    "birthDate": "1970-02-28",
    "deceasedBoolean": False,
    "multipleBirthInteger": 2,
    "address": [{"line": ["1 Main St"], "city": "X", "postalCode": "123"}],
    "contact": [{"relationship": [{"coding": [{"system": "http://t.org", "code": "N"}]}], "name": {"text": "Bob"}}],
    "communication": [{"language": {"text": "English"}, "preferred": True}],
    "photo": [{"contentType": "image/png", "data": "aGVsbG8h", "size": 6}],
}


def test_valid_patient():
    assert validate_resource(PATIENT) == []


def test_valid_resource_does_not_change():
    patient = copy.deepcopy(PATIENT)
    validate_resource(patient)
    assert patient == PATIENT


def test_valid_observation():
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]},
        "subject": {"reference": "Patient/pat-1"},
        "effectiveDateTime": "2024-01-31T09:30:00Z",
        "valueQuantity": {"value": 72.5, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"},
        "referenceRange": [{"low": {"value": 60}, "high": {"value": 100}}],
        "component": [{"code": {"text": "x"}, "valueTime": "09:30:00"}, {"code": {"text": "y"}, "valueBoolean": True}],
    }
    assert validate_resource(obs) == []


# -- unknown elements --------------------------------------------------------------------------


def test_unknown_element():
    issue = only_issue({"resourceType": "Patient", "foo": 1})
    assert issue.expression == "Patient.foo"
    assert issue.diagnostics.startswith("unknown element 'foo'")
    assert issue.code == "structure"


def test_unknown_element_suggests_close_name():
    issue = only_issue({"resourceType": "Patient", "birthdate": "1970"})
    assert issue.expression == "Patient.birthdate"
    assert "did you mean 'birthDate'" in issue.diagnostics


def test_unknown_element_in_datatype():
    issue = only_issue({"resourceType": "Patient", "name": [{"first": "Ann"}]})
    assert issue.expression == "Patient.name[0].first"
    assert "unknown element 'first'" in issue.diagnostics


def test_choice_without_type_suffix():
    issue = only_issue({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "value": 3})
    assert issue.expression == "Observation.value"
    assert "value[x] takes its type as a suffix" in issue.diagnostics
    assert "valueQuantity" in issue.diagnostics


def test_choice_with_type_not_allowed():
    issue = only_issue({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "valueDate": "2020"})
    assert issue.expression == "Observation.valueDate"
    assert "unknown element 'valueDate'" in issue.diagnostics


def test_only_one_choice_variant():
    issue = only_issue({"resourceType": "Patient", "deceasedBoolean": True, "deceasedDateTime": "2020"})
    assert issue.expression == "Patient.deceasedDateTime"
    assert "only one of deceased[x] may be present" in issue.diagnostics


def test_resource_type_inside_datatype_is_unknown():
    issue = only_issue({"resourceType": "Patient", "name": [{"resourceType": "HumanName", "family": "X"}]})
    assert issue.expression == "Patient.name[0].resourceType"


def test_underscore_sibling_of_complex_element():
    issue = only_issue({"resourceType": "Patient", "_name": [{"id": "x"}]})
    assert issue.expression == "Patient._name"
    assert "unknown element '_name'" in issue.diagnostics


def test_underscore_sibling_of_attribute():
    issue = only_issue({"resourceType": "Patient", "extension": [{"url": "http://x", "_url": {"id": "a"},
                                                                  "valueString": "v"}]})
    assert issue.expression == "Patient.extension[0]._url"


def test_backbone_element_from_base_resource():
    res = {"resourceType": "Basic", "code": {"text": "x"}, "modifierExtension": [{"url": "http://x", "valueBoolean": True}],
           "implicitRules": "http://rules", "language": "en"}
    assert validate_resource(res) == []


def test_modifier_extension_not_on_datatype_group():
    # Timing.repeat is an Element, not a BackboneElement: it has no modifierExtension
    res = {"resourceType": "MedicationRequest", "status": "active", "intent": "order",
           "subject": {"reference": "Patient/1"}, "medicationCodeableConcept": {"text": "x"},
           "dosageInstruction": [{"timing": {"repeat": {"frequency": 1, "modifierExtension": [{"url": "http://x",
                                                                                                "valueBoolean": True}]}}}]}
    issue = only_issue(res)
    assert issue.expression == "MedicationRequest.dosageInstruction[0].timing.repeat.modifierExtension"


# -- arrays vs single values -------------------------------------------------------------------


def test_must_be_array():
    issue = only_issue({"resourceType": "Patient", "name": {"family": "Doe"}})
    assert issue.expression == "Patient.name"
    assert issue.diagnostics.startswith("must be an array")


def test_must_not_be_array():
    issue = only_issue({"resourceType": "Patient", "gender": ["female"]})
    assert issue.expression == "Patient.gender"
    assert issue.diagnostics.startswith("must not be an array")


def test_primitive_array_of_wrong_items():
    issue = only_issue({"resourceType": "Patient", "name": [{"given": ["Ann", 3]}]})
    assert issue.expression == "Patient.name[0].given[1]"
    assert issue.diagnostics == "expected a string, found a number"


def test_array_item_must_be_object():
    issue = only_issue({"resourceType": "Patient", "name": ["Ann"]})
    assert issue.expression == "Patient.name[0]"
    assert "expected an object (HumanName), found a string" in issue.diagnostics


# -- required elements -------------------------------------------------------------------------


def test_required_elements():
    issues = validate_resource({"resourceType": "Observation"})
    assert [(i.expression, i.code) for i in issues] == [("Observation.status", "required"),
                                                        ("Observation.code", "required")]
    assert all(i.diagnostics.startswith("must have at least 1 value") for i in issues)


def test_required_inside_backbone_element():
    res = {"resourceType": "Patient", "link": [{"type": "seealso"}]}
    issue = only_issue(res)
    assert issue.expression == "Patient.link[0].other"
    assert "must have at least 1 value" in issue.diagnostics


def test_required_inside_datatype():
    issue = only_issue({"resourceType": "Patient", "extension": [{"valueString": "x"}]})
    assert issue.expression == "Patient.extension[0].url"
    assert "must have at least 1 value" in issue.diagnostics


def test_required_choice():
    res = {"resourceType": "Group", "type": "person", "actual": True,
           "characteristic": [{"code": {"text": "x"}, "exclude": False}]}
    issue = only_issue(res)
    assert issue.expression == "Group.characteristic[0].value[x]"
    assert "valueCodeableConcept" in issue.diagnostics


def test_required_primitive_satisfied_by_extension():
    res = {"resourceType": "Observation", "code": {"text": "x"},
           "_status": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
                                      "valueCode": "unknown"}]}}
    assert validate_resource(res) == []


def test_content_reference():
    res = {"resourceType": "Questionnaire", "status": "draft",
           "item": [{"linkId": "1", "type": "group", "item": [{"linkId": "1.1", "type": "string"},
                                                              {"type": "string", "answerOptionx": []}]}]}
    issues = validate_resource(res)
    assert rendered(issues) == [
        "Questionnaire.item[0].item[1].answerOptionx: unknown element 'answerOptionx' (did you mean 'answerOption'?)",
        "Questionnaire.item[0].item[1].linkId: must have at least 1 value (required element missing)",
    ]


# -- primitive values ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "element, value, message",
    [
        ("active", "true", "expected a boolean (true or false), found a string"),
        ("active", 1, "expected a boolean (true or false), found a number"),
        ("birthDate", "1970-13-01", "not a valid date (YYYY, YYYY-MM or YYYY-MM-DD)"),
        ("birthDate", "1970-02-30", "not a day of the calendar"),
        ("birthDate", "1970-01-01T10:00:00Z", "not a valid date"),
        ("birthDate", 1970, "expected a string, found a number"),
        ("deceasedDateTime", "2020-01-01T10:00:00", "not a valid dateTime"),
        ("deceasedDateTime", "2020-01-01T25:00:00Z", "not a valid dateTime"),
        ("multipleBirthInteger", 2.5, "expected an integer, found a number"),
        ("multipleBirthInteger", 2.0, "an integer has no decimal point"),
        ("multipleBirthInteger", "2", "expected an integer, found a string"),
        ("multipleBirthInteger", 2**31, "out of range"),
        ("multipleBirthInteger", True, "expected an integer, found a boolean"),
        ("id", "a b", "not a valid id"),
        ("id", "x" * 65, "not a valid id"),
        ("id", "", "must not be empty"),
        ("implicitRules", "http://a b", "not a valid URI"),
        ("language", " en", "not a valid code"),
        ("language", "en  US", "not a valid code"),
        ("gender", "", "must not be empty"),
    ],
)
def test_primitive_values(element, value, message):
    issue = only_issue({"resourceType": "Patient", element: value})
    assert issue.expression == f"Patient.{element}"
    assert message in issue.diagnostics
    assert issue.code in ("value", "code-invalid")


@pytest.mark.parametrize(
    "element, value",
    [
        ("birthDate", "1970"), ("birthDate", "1970-02"), ("birthDate", "2000-02-29"),
        ("deceasedDateTime", "2020-01-01T10:00:00.1234+14:00"), ("deceasedDateTime", "2016-12-31T23:59:60Z"),
        ("multipleBirthInteger", -2147483648), ("multipleBirthInteger", 0),
        ("id", "A-b.9"), ("id", "x" * 64), ("language", "en-US"),
    ],
)
def test_primitive_values_accepted(element, value):
    assert validate_resource({"resourceType": "Patient", element: value}) == []


@pytest.mark.parametrize(
    "value, message",
    [
        ("2024-01-31", "not a valid instant"),
        ("2024-01-31T09:30:00", "not a valid instant"),
        ("2024-02-30T09:30:00Z", "not a day of the calendar"),
    ],
)
def test_instant(value, message):
    issue = only_issue({"resourceType": "Patient", "meta": {"lastUpdated": value}})
    assert issue.expression == "Patient.meta.lastUpdated"
    assert message in issue.diagnostics


@pytest.mark.parametrize(
    "element, value, message",
    [
        ("size", 0.5, "expected an unsigned integer (0 or more)"),
        ("size", -1, "is not an unsigned integer"),
        ("data", "abc", "is not valid base64"),
        ("data", "ab!d", "is not valid base64"),
        ("url", "has space", "not a valid URI"),
        ("hash", "", "must not be empty"),
        ("creation", "2020-1-1", "not a valid dateTime"),
    ],
)
def test_attachment_values(element, value, message):
    issue = only_issue({"resourceType": "Patient", "photo": [{element: value}]})
    assert issue.expression == f"Patient.photo[0].{element}"
    assert message in issue.diagnostics


def test_base64_with_whitespace():
    assert validate_resource({"resourceType": "Patient", "photo": [{"data": "aGVs\nbG8h "}]}) == []


@pytest.mark.parametrize(
    "value, message",
    [
        (0, "is not a positive integer"),
        (1.5, "expected a positive integer (1 or more), found a number"),
    ],
)
def test_positive_int(value, message):
    issue = only_issue({"resourceType": "Patient", "telecom": [{"rank": value}]})
    assert issue.expression == "Patient.telecom[0].rank"
    assert message in issue.diagnostics


def test_decimal():
    obs = {"resourceType": "Observation", "status": "final", "code": {"text": "x"}}
    assert validate_resource({**obs, "valueQuantity": {"value": 1}}) == []
    assert validate_resource({**obs, "valueQuantity": {"value": -1.5e3}}) == []
    issue = only_issue({**obs, "valueQuantity": {"value": "1.5"}})
    assert issue.expression == "Observation.valueQuantity.value"
    assert issue.diagnostics == "expected a number, found a string"


def test_time():
    obs = {"resourceType": "Observation", "status": "final", "code": {"text": "x"}}
    assert "not a valid time" in only_issue({**obs, "valueTime": "9:30"}).diagnostics


def test_oid_and_uuid():
    assert "not a valid oid" in only_issue({"resourceType": "Patient", "extension": [
        {"url": "http://x", "valueOid": "1.2.3"}]}).diagnostics
    assert "not a valid uuid" in only_issue({"resourceType": "Patient", "extension": [
        {"url": "http://x", "valueUuid": "urn:uuid:ABC"}]}).diagnostics


def test_long_string():
    issue = only_issue({"resourceType": "Patient", "name": [{"text": "x" * (1024 * 1024 + 1)}]})
    assert "longer than the 1 MB" in issue.diagnostics


# -- empty values and nulls ------------------------------------------------------------------


def test_empty_object():
    issue = only_issue({"resourceType": "Patient", "maritalStatus": {}})
    assert issue.expression == "Patient.maritalStatus"
    assert issue.diagnostics.startswith("must not be empty")


def test_empty_array():
    issue = only_issue({"resourceType": "Patient", "name": []})
    assert issue.expression == "Patient.name"
    assert issue.diagnostics.startswith("must not be empty")


def test_empty_string():
    issue = only_issue({"resourceType": "Patient", "name": [{"family": ""}]})
    assert issue.expression == "Patient.name[0].family"
    assert issue.diagnostics.startswith("must not be empty")


def test_null_value():
    issue = only_issue({"resourceType": "Patient", "birthDate": None})
    assert issue.expression == "Patient.birthDate"
    assert "must not be null" in issue.diagnostics


# -- primitive extensions (_name) ------------------------------------------------------------


def test_primitive_extension_alone():
    res = {"resourceType": "Patient", "_birthDate": {"extension": [
        {"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "unknown"}]}}
    assert validate_resource(res) == []


def test_primitive_extension_array_with_nulls():
    res = {"resourceType": "Patient", "name": [{"given": ["Ann", None, "Lee"],
                                               "_given": [None, {"extension": [{"url": "http://x", "valueString": "y"}]},
                                                          None]}]}
    assert validate_resource(res) == []


def test_null_without_extension():
    res = {"resourceType": "Patient", "name": [{"given": ["Ann", None], "_given": [None, None]}]}
    paths = [i.expression for i in validate_resource(res)]
    assert "Patient.name[0].given[1]" in paths
    assert "Patient.name[0]._given[1]" in paths


def test_primitive_extension_array_length_mismatch():
    res = {"resourceType": "Patient", "name": [{"given": ["Ann", "Lee"], "_given": [{"id": "a"}]}]}
    issue = only_issue(res)
    assert issue.expression == "Patient.name[0]._given"
    assert "must have as many items as 'given'" in issue.diagnostics


def test_primitive_extension_must_be_object():
    issue = only_issue({"resourceType": "Patient", "_birthDate": "x"})
    assert issue.expression == "Patient._birthDate"
    assert "expected an object" in issue.diagnostics


def test_primitive_extension_contents_validated():
    issue = only_issue({"resourceType": "Patient", "_birthDate": {"extension": [{"valueCode": "x"}]}})
    assert issue.expression == "Patient._birthDate.extension[0].url"


def test_primitive_extension_on_choice():
    res = {"resourceType": "Patient", "deceasedBoolean": True, "_deceasedBoolean": {"id": "d"}}
    assert validate_resource(res) == []


# -- required bindings -----------------------------------------------------------------------


def test_required_binding_on_code():
    issue = only_issue({"resourceType": "Observation", "status": "finalx", "code": {"text": "x"}})
    assert issue.expression == "Observation.status"
    assert issue.code == "code-invalid"
    assert issue.diagnostics.startswith(
        "'finalx' is not one of the allowed codes: registered, preliminary, final, amended")


def test_required_binding_in_datatype():
    issue = only_issue({"resourceType": "Patient", "telecom": [{"system": "fax", "use": "house"}]})
    assert issue.expression == "Patient.telecom[0].use"
    assert "home" in issue.diagnostics


def test_required_binding_in_repeating_code():
    res = {"resourceType": "Location", "hoursOfOperation": [{"daysOfWeek": ["mon", "monday"]}]}
    issue = only_issue(res)
    assert issue.expression == "Location.hoursOfOperation[0].daysOfWeek[1]"
    assert "'monday' is not one of the allowed codes" in issue.diagnostics


def test_narrative_status_binding():
    issue = only_issue({"resourceType": "Patient", "text": {"status": "done", "div": "<div>x</div>"}})
    assert issue.expression == "Patient.text.status"


def test_required_binding_on_codeable_concept():
    system = "http://terminology.hl7.org/CodeSystem/condition-clinical"
    base = {"resourceType": "Condition", "subject": {"reference": "Patient/1"}}
    ok = {**base, "clinicalStatus": {"coding": [{"system": "http://other", "code": "z"}, {"system": system,
                                                                                          "code": "active"}]}}
    assert validate_resource(ok) == []
    issue = only_issue({**base, "clinicalStatus": {"coding": [{"system": system, "code": "actve"}]}})
    assert issue.expression == "Condition.clinicalStatus"
    assert issue.code == "code-invalid"
    assert "condition-clinical" in issue.diagnostics and "active" in issue.diagnostics


def test_unbound_code_accepts_anything():
    res = {"resourceType": "Patient", "communication": [{"language": {"coding": [{"code": "xx-whatever"}]}}]}
    assert validate_resource(res) == []


def test_simple_quantity_has_no_comparator():
    res = {"resourceType": "MedicationRequest", "status": "active", "intent": "order",
           "subject": {"reference": "Patient/1"}, "medicationCodeableConcept": {"text": "x"},
           "dispenseRequest": {"quantity": {"value": 1, "comparator": "<"}}}
    issue = only_issue(res)
    assert issue.expression == "MedicationRequest.dispenseRequest.quantity.comparator"
    assert "not allowed in a SimpleQuantity" in issue.diagnostics


# -- resources inside resources --------------------------------------------------------------


def test_contained_resources_validated():
    res = {"resourceType": "Patient", "contained": [
        {"resourceType": "Organization", "id": "o1", "name": "Org"},
        {"resourceType": "Observation", "id": "o2", "status": "final"},
    ]}
    issue = only_issue(res)
    assert issue.expression == "Patient.contained[1].code"


def test_contained_must_be_resource():
    issues = validate_resource({"resourceType": "Patient", "contained": [{"id": "x"}, "y"]})
    assert rendered(issues)[0] == "Patient.contained[0].resourceType: missing 'resourceType' (the type of the " \
                                  "resource, e.g. \"Patient\")"
    assert issues[1].expression == "Patient.contained[1]"


def test_contained_within_contained():
    res = {"resourceType": "Patient", "contained": [
        {"resourceType": "Organization", "contained": [{"resourceType": "Organization"}]}]}
    issue = only_issue(res)
    assert issue.expression == "Patient.contained[0].contained"
    assert "dom-2" in issue.diagnostics


def test_bundle_entries_validated():
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:0f6c8a9c-1f0e-4c5e-9c1a-6a0f1d9b7e11",
         "resource": {"resourceType": "Patient", "birthDate": "1970"},
         "request": {"method": "POST", "url": "Patient"}},
        {"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                      "valueQuantity": {"value": "7"}},
         "request": {"method": "PUT", "url": "Observation/1"}},
        {"request": {"method": "GETT", "url": "Patient"}},
    ]}
    assert rendered(validate_resource(bundle)) == [
        "Bundle.entry[1].resource.valueQuantity.value: expected a number, found a string",
        "Bundle.entry[2].request.method: 'GETT' is not one of the allowed codes: GET, HEAD, POST, PUT, DELETE, PATCH",
    ]


def test_parameters_resource_validated():
    params = {"resourceType": "Parameters", "parameter": [
        {"name": "a", "resource": {"resourceType": "Patient", "gender": "F"}},
        {"name": "b", "part": [{"name": "c", "valueBoolean": "yes"}]},
    ]}
    assert [i.expression for i in validate_resource(params)] == [
        "Parameters.parameter[0].resource.gender", "Parameters.parameter[1].part[0].valueBoolean"]


def test_deep_nesting_does_not_crash():
    item = {"linkId": "x", "type": "group"}
    root = item
    for _ in range(5000):
        child = {"linkId": "x", "type": "group"}
        item["item"] = [child]
        item = child
    issues = validate_resource({"resourceType": "Questionnaire", "status": "draft", "item": [root]})
    assert all(isinstance(i, Issue) for i in issues)


# -- robustness --------------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=12)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
element_names = st.sampled_from(sorted(set(PATIENT) | {"_birthDate", "_given", "given", "family", "value",
                                                         "valueString", "url", "extension", "resourceType",
                                                         "coding", "system", "code", "contained", "foo", ""}))


def _containers(node, out):
    if isinstance(node, dict):
        out.append(node)
        for v in node.values():
            _containers(v, out)
    elif isinstance(node, list):
        out.append(node)
        for v in node:
            _containers(v, out)
    return out


@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 10_000), element_names, json_values, st.booleans()), min_size=1,
                max_size=4))
def test_mutations_never_crash(mutations):
    patient = copy.deepcopy(PATIENT)
    for pick, name, value, delete in mutations:
        containers = _containers(patient, [])
        target = containers[pick % len(containers)]
        if isinstance(target, dict):
            if delete and target:
                target.pop(sorted(target)[pick % len(target)])
            else:
                target[name] = value
        elif target and not delete:
            target[pick % len(target)] = value
        elif target:
            target.pop(pick % len(target))
        else:
            target.append(value)
    issues = validate_resource(patient)
    assert isinstance(issues, list)
    for issue in issues:
        assert isinstance(issue, Issue)
        assert issue.diagnostics
        assert issue.expression is None or isinstance(issue.expression, str)
