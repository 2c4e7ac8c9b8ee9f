"""Importing files into the record and exporting it as NDJSON: the service and the CLI."""

from __future__ import annotations

import collections
import tempfile
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from mederi import cli
from mederi.conftest import shared_data, without_versioning
from mederi.core.context import Context
from mederi.fhir import models, services
from mederi.fhir.models import Resource, ResourceHistory

pytestmark = pytest.mark.django_db

SYSTEM = Context.system("import")


# -- fixtures --------------------------------------------------------------------------------------


def patient(logical_id: str, family: str = "Okafor") -> dict:
    return {"resourceType": "Patient", "id": logical_id, "name": [{"family": family, "given": ["Ada"]}],
            "gender": "female", "birthDate": "1980-04-02"}


def observation(logical_id: str, subject: str, value: float = 72.0) -> dict:
    return {
        "resourceType": "Observation", "id": logical_id, "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]},
        "subject": {"reference": subject},
        "valueQuantity": {"value": value, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"},
    }


def transaction_bundle() -> dict:
    """A Synthea-like transaction: POSTs with urn:uuid fullUrls pointing at each other."""
    pid = "6f1b3c2e-0d4a-4a8e-9a51-7c2f1e0b9d11"
    oid = "1c9e7a52-3b6f-4c1d-8e2a-5f4b3a2d1c00"
    return {
        "resourceType": "Bundle", "type": "transaction",
        "entry": [
            {"fullUrl": f"urn:uuid:{pid}",
             "resource": {k: v for k, v in patient("ignored", "Mensah").items() if k != "id"},
             "request": {"method": "POST", "url": "Patient"}},
            {"fullUrl": f"urn:uuid:{oid}",
             "resource": {k: v for k, v in observation("x", f"urn:uuid:{pid}").items() if k != "id"},
             "request": {"method": "POST", "url": "Observation"}},
        ],
    }


def batch_bundle() -> dict:
    return {
        "resourceType": "Bundle", "type": "batch",
        "entry": [
            {"resource": patient("batch-p1", "Ivanova"), "request": {"method": "PUT", "url": "Patient/batch-p1"}},
            {"resource": observation("batch-o1", "Patient/batch-p1"),
             "request": {"method": "PUT", "url": "Observation/batch-o1"}},
        ],
    }


def collection_bundle() -> dict:
    return {
        "resourceType": "Bundle", "type": "collection",
        "entry": [
            {"fullUrl": "http://example.org/fhir/Patient/coll-p1", "resource": patient("coll-p1", "Tanaka")},
            {"resource": observation("coll-o1", "Patient/coll-p1", 64)},
            {"resource": observation("coll-o2", "Patient/coll-p1", 66)},
        ],
    }


def write_json(path: Path, document) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(document))
    return path


def write_ndjson(path: Path, resources: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in resources) + b"\n")
    return path


def counts() -> tuple[int, int]:
    return Resource.objects.count(), ResourceHistory.objects.count()


def stored(resource_type: str, logical_id: str) -> dict:
    return orjson.loads(Resource.objects.get(resource_type=resource_type, logical_id=logical_id).content)


def types_and_ids() -> set[tuple[str, str]]:
    return set(Resource.objects.values_list("resource_type", "logical_id"))


def run_cli(*argv: str) -> int:
    args = cli.build_parser().parse_args(list(argv))
    return args.func(args)


# -- one file of each kind -------------------------------------------------------------------------


def test_transaction_bundle_is_stored_with_its_references_resolved(tmp_path):
    report = services.import_file(write_json(tmp_path / "tx.json", transaction_bundle()), SYSTEM)
    assert report.error is None
    assert report.resources == 2
    obs = Resource.objects.get(resource_type="Observation")
    pat = Resource.objects.get(resource_type="Patient")
    assert orjson.loads(obs.content)["subject"]["reference"] == f"Patient/{pat.logical_id}"
    assert orjson.loads(pat.content)["name"][0]["family"] == "Mensah"


def test_batch_bundle_is_stored(tmp_path):
    report = services.import_file(write_json(tmp_path / "batch.json", batch_bundle()), SYSTEM)
    assert report.error is None
    assert types_and_ids() == {("Patient", "batch-p1"), ("Observation", "batch-o1")}
    assert without_versioning(stored("Observation", "batch-o1")) == observation("batch-o1", "Patient/batch-p1")


def test_collection_bundle_stores_each_resource_under_its_own_id(tmp_path):
    report = services.import_file(write_json(tmp_path / "coll.json", collection_bundle()), SYSTEM)
    assert report.error is None
    assert report.resources == 3
    assert types_and_ids() == {("Patient", "coll-p1"), ("Observation", "coll-o1"), ("Observation", "coll-o2")}
    assert without_versioning(stored("Patient", "coll-p1")) == patient("coll-p1", "Tanaka")


def test_ndjson_file_is_stored(tmp_path):
    resources = [patient("nd-p1"), patient("nd-p2", "Silva"), observation("nd-o1", "Patient/nd-p2")]
    path = write_ndjson(tmp_path / "Mixed.ndjson", resources)
    report = services.import_file(path, SYSTEM)
    assert report.error is None
    assert report.resources == 3
    for resource in resources:
        assert without_versioning(stored(resource["resourceType"], resource["id"])) == resource


def test_single_resource_file_is_stored(tmp_path):
    report = services.import_file(write_json(tmp_path / "one.json", patient("single-1", "Nguyen")), SYSTEM)
    assert report.error is None
    assert report.resources == 1
    assert without_versioning(stored("Patient", "single-1")) == patient("single-1", "Nguyen")
    assert stored("Patient", "single-1")["meta"]["versionId"] == "1"


def build_folder(root: Path) -> Path:
    write_json(root / "a" / "tx.json", transaction_bundle())
    write_json(root / "a" / "batch.json", batch_bundle())
    write_json(root / "b" / "coll.json", collection_bundle())
    write_ndjson(root / "b" / "more.ndjson", [patient("nd-p1"), observation("nd-o1", "Patient/nd-p1")])
    write_json(root / "single.json", patient("single-1"))
    (root / "notes.txt").write_text("not a FHIR file; the importer leaves it alone")
    return root


def test_folder_is_walked_recursively_and_only_json_files_are_read(tmp_path):
    folder = build_folder(tmp_path / "in")
    report = services.import_paths([folder], SYSTEM)
    assert [f.error for f in report.files] == [None] * 5
    assert len(report.files) == 5
    assert report.resources == 2 + 2 + 3 + 2 + 1
    assert Resource.objects.count() == 10


def test_shared_synthea_files_are_imported_first(tmp_path):
    for name in ("Zed_Patient_1.json", "hospitalInformation1.json", "Abe_Patient_2.json",
                 "practitionerInformation1.json"):
        write_json(tmp_path / name, patient("x"))
    names = [p.name for p in services.collect_files([tmp_path])]
    assert names[:2] == ["hospitalInformation1.json", "practitionerInformation1.json"]
    assert sorted(names[2:]) == names[2:]


# -- idempotent re-import --------------------------------------------------------------------------


def test_importing_the_same_files_again_adds_no_resources_and_no_versions(tmp_path):
    folder = build_folder(tmp_path / "in")
    first = services.import_paths([folder], SYSTEM)
    assert not first.failed
    before = counts()
    contents = dict(((r, i), c) for r, i, c in Resource.objects.values_list("resource_type", "logical_id", "content"))
    second = services.import_paths([folder], SYSTEM)
    assert not second.failed
    assert counts() == before
    assert before == (10, 10)
    after = dict(((r, i), c) for r, i, c in Resource.objects.values_list("resource_type", "logical_id", "content"))
    assert after == contents  # not even lastUpdated moved


def test_a_changed_file_reimported_makes_one_new_version_of_the_changed_resource_only(tmp_path):
    path = write_json(tmp_path / "coll.json", collection_bundle())
    services.import_file(path, SYSTEM)
    changed = collection_bundle()
    changed["entry"][1]["resource"]["valueQuantity"]["value"] = 99
    write_json(path, changed)
    report = services.import_file(path, SYSTEM)
    assert report.error is None
    assert counts() == (3, 4)
    assert stored("Observation", "coll-o1")["meta"]["versionId"] == "2"
    assert stored("Observation", "coll-o1")["valueQuantity"]["value"] == 99
    assert stored("Observation", "coll-o2")["meta"]["versionId"] == "1"


def test_a_create_in_a_later_file_of_a_resource_already_stored_leaves_the_stored_one(tmp_path):
    """Synthea repeats the hospital's Organization, shorter, in every patient file."""
    org_id = "0b7d1f58-7c43-4d8a-9f0e-2f6c3b1a9e77"
    full = {"resourceType": "Organization", "name": "St. Elsewhere", "telecom": [{"system": "phone", "value": "555"}]}
    short = {"resourceType": "Organization", "name": "St. Elsewhere"}
    shared = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": f"urn:uuid:{org_id}", "resource": full, "request": {"method": "POST", "url": "Organization"}}]}
    pat = {**patient("unused"), "managingOrganization": {"reference": f"urn:uuid:{org_id}"}}
    del pat["id"]
    patient_file = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": f"urn:uuid:{org_id}", "resource": short, "request": {"method": "POST", "url": "Organization"}},
        {"fullUrl": "urn:uuid:5d0c7e3a-1f2b-4c6d-8e9f-0a1b2c3d4e5f", "resource": pat,
         "request": {"method": "POST", "url": "Patient"}}]}
    write_json(tmp_path / "hospitalInformation1.json", shared)
    write_json(tmp_path / "Ada_Okafor.json", patient_file)
    report = services.import_paths([tmp_path], SYSTEM)
    assert report.failed == []
    assert without_versioning(stored("Organization", org_id)) == {**full, "id": org_id}
    assert stored("Patient", "5d0c7e3a-1f2b-4c6d-8e9f-0a1b2c3d4e5f")["managingOrganization"] == {
        "reference": f"Organization/{org_id}"}
    assert counts() == (2, 2)
    services.import_paths([tmp_path], SYSTEM)
    assert counts() == (2, 2)


# -- failures --------------------------------------------------------------------------------------


def test_malformed_json_is_reported_and_the_other_files_still_load(tmp_path):
    write_json(tmp_path / "good.json", collection_bundle())
    (tmp_path / "broken.json").write_bytes(b'{"resourceType": "Bundle", "type": "collection", "entry": [')
    report = services.import_paths([tmp_path], SYSTEM)
    errors = {f.path.name: f.error for f in report.files}
    assert errors["good.json"] is None
    assert "not valid JSON" in errors["broken.json"]
    assert [f.path.name for f in report.failed] == ["broken.json"]
    assert report.resources == 3
    assert Resource.objects.count() == 3


def test_malformed_ndjson_line_is_reported_by_number_and_nothing_of_that_file_is_stored(tmp_path):
    path = tmp_path / "bad.ndjson"
    path.write_bytes(orjson.dumps(patient("nd-ok")) + b"\n{not json}\n")
    report = services.import_file(path, SYSTEM)
    assert "line 2" in report.error
    assert report.resources == 0
    assert counts() == (0, 0)


def test_invalid_resource_inside_a_transaction_fails_the_whole_file(tmp_path):
    bundle = transaction_bundle()
    bundle["entry"][1]["resource"]["status"] = "not-a-status"
    write_json(tmp_path / "bad_tx.json", bundle)
    write_json(tmp_path / "good.json", batch_bundle())
    report = services.import_paths([tmp_path], SYSTEM)
    errors = {f.path.name: f.error for f in report.files}
    assert errors["good.json"] is None
    assert "Bundle.entry[1]" in errors["bad_tx.json"]
    assert "not-a-status" in errors["bad_tx.json"] or "status" in errors["bad_tx.json"]
    # the valid Patient of the failed transaction was not stored either
    assert types_and_ids() == {("Patient", "batch-p1"), ("Observation", "batch-o1")}
    assert counts() == (2, 2)
    assert next(f for f in report.files if f.path.name == "bad_tx.json").resources == 0


def test_invalid_resource_in_a_collection_fails_the_whole_file(tmp_path):
    bundle = collection_bundle()
    bundle["entry"][2]["resource"]["valueQuantity"]["value"] = "sixty-six"
    report = services.import_file(write_json(tmp_path / "coll.json", bundle), SYSTEM)
    assert "Bundle.entry[2]" in report.error
    assert counts() == (0, 0)


def test_invalid_entry_of_a_batch_is_reported_and_the_valid_entries_are_kept(tmp_path):
    bundle = batch_bundle()
    bundle["entry"][1]["resource"]["status"] = "bogus"
    report = services.import_file(write_json(tmp_path / "batch.json", bundle), SYSTEM)
    assert report.error and report.error.startswith("1 entries failed")
    assert types_and_ids() == {("Patient", "batch-p1")}


def test_a_file_that_is_not_a_resource_is_reported(tmp_path):
    report = services.import_file(write_json(tmp_path / "list.json", [1, 2, 3]), SYSTEM)
    assert report.error
    assert counts() == (0, 0)
    report = services.import_file(write_json(tmp_path / "alien.json", {"resourceType": "Spaceship", "id": "x"}),
                                  SYSTEM)
    assert "Spaceship" in report.error
    assert counts() == (0, 0)


def test_a_file_with_a_byte_order_mark_loads(tmp_path):
    json_path = tmp_path / "bom.json"
    json_path.write_bytes(b"\xef\xbb\xbf" + orjson.dumps(collection_bundle()))
    nd_path = tmp_path / "bom.ndjson"
    nd_path.write_bytes(b"\xef\xbb\xbf" + orjson.dumps(patient("bom-nd")) + b"\r\n")
    report = services.import_paths([json_path, nd_path], SYSTEM)
    assert report.failed == []
    assert ("Patient", "bom-nd") in types_and_ids()
    assert Resource.objects.count() == 4


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.binary(max_size=200))
def test_arbitrary_bytes_never_crash_the_importer_and_a_failed_file_leaves_nothing(junk):
    before = counts()
    with tempfile.TemporaryDirectory() as folder:
        for suffix in (".json", ".ndjson"):
            path = Path(folder) / f"junk{suffix}"
            path.write_bytes(junk)
            report = services.import_file(path, SYSTEM)
            if report.error:
                assert report.resources == 0
                assert counts() == before


@hsettings(max_examples=25, deadline=None)
@given(
    blank=st.lists(st.sampled_from([b"", b"   ", b"\t"]), min_size=0, max_size=3),
    eol=st.sampled_from([b"\n", b"\r\n"]),
    families=st.lists(st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1,
                              max_size=20).filter(lambda s: s.strip() == s and s), min_size=1, max_size=4),
)
def test_ndjson_lines_in_any_layout_store_exactly_the_resources_written(blank, eol, families):
    resources = [patient(f"hyp-{n}", family) for n, family in enumerate(families)]
    lines = []
    for resource in resources:
        lines += blank + [orjson.dumps(resource)]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.ndjson"
        path.write_bytes(eol.join(lines) + eol)
        report = services.import_file(path, SYSTEM)
    assert report.error is None
    assert report.resources == len(resources)
    for resource in resources:
        assert without_versioning(stored("Patient", resource["id"])) == resource


# -- export ----------------------------------------------------------------------------------------


def test_export_writes_one_ndjson_file_per_type_equal_to_the_stored_resources(tmp_path, capsys):
    services.import_paths([build_folder(tmp_path / "in")], SYSTEM)
    out = tmp_path / "out"
    assert run_cli("export", "--out", str(out), "--quiet") == 0
    assert "exported 10 resources" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["Observation.ndjson", "Patient.ndjson"]
    for path in out.iterdir():
        resource_type = path.stem
        lines = path.read_text(encoding="utf-8").splitlines()
        exported = [orjson.loads(line) for line in lines]
        assert all(r["resourceType"] == resource_type for r in exported)
        expected = {orjson.loads(c)["id"]: orjson.loads(c)
                    for c in Resource.objects.filter(resource_type=resource_type).values_list("content", flat=True)}
        assert {r["id"]: r for r in exported} == expected
        assert len(exported) == len(expected)


def test_export_leaves_out_deleted_resources(tmp_path, fhir):
    fhir.put("/fhir/R4/Patient/keep", patient("keep"))
    fhir.put("/fhir/R4/Patient/gone", patient("gone"))
    assert fhir.delete("/fhir/R4/Patient/gone").status_code in (200, 204)
    out = tmp_path / "out"
    assert run_cli("export", "--out", str(out), "--quiet") == 0
    lines = (out / "Patient.ndjson").read_text().splitlines()
    assert [orjson.loads(line)["id"] for line in lines] == ["keep"]


def test_export_of_chosen_types_only(tmp_path):
    services.import_paths([build_folder(tmp_path / "in")], SYSTEM)
    out = tmp_path / "out"
    assert run_cli("export", "--out", str(out), "--type", "Patient", "-q") == 0
    assert [p.name for p in out.iterdir()] == ["Patient.ndjson"]
    assert len((out / "Patient.ndjson").read_text().splitlines()) == Resource.objects.filter(
        resource_type="Patient").count()


def wipe() -> None:
    for model in (models.SearchToken, models.SearchString, models.SearchDate, models.SearchReference,
                  models.SearchNumber, models.SearchQuantity, models.SearchUri, ResourceHistory, Resource):
        model.objects.all().delete()


def test_export_wipe_import_round_trip_gives_the_same_resources(tmp_path, fhir, capsys):
    services.import_paths([build_folder(tmp_path / "in")], SYSTEM)
    tagged = {**patient("tagged", "Rossi"), "meta": {"tag": [{"system": "http://example.org/t", "code": "vip"}],
                                                     "profile": ["http://example.org/p"]}}
    assert fhir.put("/fhir/R4/Patient/tagged", tagged).status_code == 201
    before = {(r, i): without_versioning(orjson.loads(c))
              for r, i, c in Resource.objects.values_list("resource_type", "logical_id", "content")}
    out = tmp_path / "out"
    assert run_cli("export", "--out", str(out), "-q") == 0
    wipe()
    assert counts() == (0, 0)
    assert fhir.get("/fhir/R4/Patient?family=Rossi").json().get("total", 0) == 0
    assert run_cli("import", str(out), "-q") == 0
    assert f"imported {len(before)} resources from 2 of 2 files" in capsys.readouterr().out
    after = {(r, i): without_versioning(orjson.loads(c))
             for r, i, c in Resource.objects.values_list("resource_type", "logical_id", "content")}
    assert after == before
    # the search indexes were rebuilt too
    found = fhir.get("/fhir/R4/Patient?family=Rossi").json()
    assert [e["resource"]["id"] for e in found["entry"]] == ["tagged"]
    found = fhir.get("/fhir/R4/Observation?subject=Patient/coll-p1").json()
    assert sorted(e["resource"]["id"] for e in found["entry"]) == ["coll-o1", "coll-o2"]


# -- the CLI import --------------------------------------------------------------------------------


def test_cli_import_reports_failed_files_and_exits_1(tmp_path, capsys):
    write_json(tmp_path / "good.json", collection_bundle())
    (tmp_path / "broken.json").write_text("{oops")
    assert run_cli("import", str(tmp_path), "--quiet") == 1
    captured = capsys.readouterr()
    assert "FAILED" in captured.err and "broken.json" in captured.err and "not valid JSON" in captured.err
    assert "imported 3 resources from 1 of 2 files" in captured.out
    assert Resource.objects.count() == 3


def test_cli_import_of_good_files_exits_0(tmp_path, capsys):
    path = write_json(tmp_path / "tx.json", transaction_bundle())
    assert run_cli("import", str(path), "-q") == 0
    assert "imported 2 resources from 1 of 1 files" in capsys.readouterr().out


# -- the Synthea sample ----------------------------------------------------------------------------


def _expected_synthea_ids(files: list[Path]) -> dict[str, set[str]]:
    expected: dict[str, set[str]] = collections.defaultdict(set)
    for path in files:
        bundle = orjson.loads(path.read_bytes())
        for entry in bundle["entry"]:
            full_url = entry["fullUrl"]
            logical_id = full_url.removeprefix("urn:uuid:") if full_url.startswith("urn:uuid:") else \
                entry["resource"]["id"]
            expected[entry["resource"]["resourceType"]].add(logical_id)
    return expected


@pytest.mark.dataset
def test_every_synthea_bundle_imports_and_a_second_import_adds_nothing():
    folder = shared_data("synthea")
    files = services.collect_files([folder])
    assert files, "the Synthea folder holds no bundles"
    assert files[0].name.startswith(("hospitalInformation", "practitionerInformation"))
    report = services.import_paths([folder], SYSTEM)
    assert [(f.path.name, f.error) for f in report.failed] == []
    expected = _expected_synthea_ids(files)
    stored_ids: dict[str, set[str]] = collections.defaultdict(set)
    for resource_type, logical_id in Resource.objects.values_list("resource_type", "logical_id"):
        stored_ids[resource_type].add(logical_id)
    assert {t: len(ids) for t, ids in stored_ids.items()} == {t: len(ids) for t, ids in expected.items()}
    assert stored_ids == expected
    assert report.resources == sum(len(orjson.loads(p.read_bytes())["entry"]) for p in files)
    before = counts()
    assert before[0] == before[1]  # one version each: the patient files' copies of shared resources did not replace them
    for entry in orjson.loads(files[0].read_bytes())["entry"][:3]:  # the hospital file's own content won
        resource = entry["resource"]
        assert without_versioning(stored(resource["resourceType"], entry["fullUrl"].removeprefix("urn:uuid:"))) == {
            **resource, "id": entry["fullUrl"].removeprefix("urn:uuid:")}
    again = services.import_paths([folder], SYSTEM)
    assert again.failed == []
    assert counts() == before
