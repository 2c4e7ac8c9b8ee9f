"""Read entries appended in batches by the background writer."""

import threading

from mederi.audit import services
from mederi.audit.models import AuditEntry
from mederi.audit.selectors import verify_chain
from mederi.core.context import Context


def test_read_entries_outside_a_transaction_reach_the_log_and_keep_the_chain(transactional_db, settings):
    settings.MEDERI_AUDIT_BUFFER_SECONDS = 0.02
    context = Context(user_id=7, user_name="nurse1", role="nurse", remote_addr="10.0.0.5")
    before = services.appended()
    for n in range(30):
        services.record_many(context, [services.Event("read", patient_id=f"p{n}", resource_type="Patient",
                                                      resource_ids=[f"Patient/p{n}"])])
    assert services.appended() - before == 30  # counted when taken, stored within the window
    services.flush_buffered()
    stored = list(AuditEntry.objects.order_by("id").values_list("patient_id", "actor_name", "action"))
    assert stored == [(f"p{n}", "nurse1", "read") for n in range(30)]
    assert verify_chain().ok


def test_the_background_writer_appends_without_being_asked(transactional_db, settings):
    settings.MEDERI_AUDIT_BUFFER_SECONDS = 0.01
    services.record(Context(user_name="desk"), "search", query="Patient?name=ann")
    done = threading.Event()
    for _ in range(200):  # up to 2 s
        if AuditEntry.objects.filter(action="search").exists():
            done.set()
            break
        done.wait(0.01)
    assert done.is_set()
    assert verify_chain().ok


def test_entries_inside_a_transaction_are_never_buffered(db, settings):
    settings.MEDERI_AUDIT_BUFFER_SECONDS = 10  # a buffered entry would not appear for 10 s
    services.record(Context(user_name="dr"), "create", resource_ids=["Observation/1"])
    assert AuditEntry.objects.filter(action="create", actor_name="dr").count() == 1


def test_the_patient_of_stored_content_is_found_without_parsing_and_agrees_with_parsing():
    import json

    resources = [
        {"resourceType": "Observation", "subject": {"reference": "Patient/abc-1"}},
        {"resourceType": "Observation", "subject": {"display": "x", "reference": "http://h/fhir/Patient/abc-2/_history/3"}},
        {"resourceType": "Coverage", "beneficiary": {"identifier": {"value": "1"}, "reference": "Patient/abc-3"}},
        {"resourceType": "AllergyIntolerance", "patient": {"reference": "Patient/abc-4"}},
        {"resourceType": "Encounter", "participant": [{"individual": {"reference": "Patient/zz"}}]},
        {"resourceType": "Observation", "subject": {"reference": "Group/g1"}},
        {"resourceType": "Practitioner", "name": [{"family": "Patient/notareference"}]},
    ]
    for resource in resources:
        content = json.dumps(resource, separators=(",", ":"))
        assert services.patient_in_content(content) == services.patient_of(resource), content
    assert services.patient_in_content(json.dumps(resources[0], separators=(",", ":"))) == "abc-1"
