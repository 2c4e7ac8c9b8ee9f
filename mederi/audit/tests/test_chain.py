"""The hash chain: appending, verifying, and catching every kind of tampering."""

from __future__ import annotations

from datetime import timezone

import pytest
from django.db import DatabaseError, connection, transaction
from hypothesis import given
from hypothesis import strategies as st

from mederi.audit import services, triggers
from mederi.audit.chain import GENESIS, entry_hash
from mederi.audit.models import AuditEntry
from mederi.audit.selectors import verify_chain
from mederi.audit.tests.helpers import entries, sql, without_triggers
from mederi.core.context import Context

pytestmark = pytest.mark.django_db

CLINICIAN = Context(user_id=7, user_name="dr.okafor", role="clinician", remote_addr="10.0.0.5")


def _log(count: int = 5) -> list[AuditEntry]:
    return [services.record(CLINICIAN, "read", patient_id=f"p{i}", resource_type="Patient",
                            resource_ids=[f"Patient/p{i}"], query=f"/fhir/R4/Patient/p{i}") for i in range(count)]


def test_entries_chain_from_zeros_and_from_each_other():
    first, second, third = _log(3)
    assert first.prev_hash == GENESIS
    assert second.prev_hash == first.hash
    assert third.prev_hash == second.hash
    assert len({first.hash, second.hash, third.hash}) == 3


def test_an_entry_records_who_what_and_whose_data():
    entry = services.record(CLINICIAN, "read", patient_id="p1", resource_type="Observation",
                            resource_ids=["Observation/o1", "Observation/o2"], query="/fhir/R4/Observation?patient=p1",
                            detail={"total": 2})
    stored = AuditEntry.objects.get(id=entry.id)
    assert (stored.actor_user_id, stored.actor_name, stored.actor_role) == (7, "dr.okafor", "clinician")
    assert (stored.action, stored.outcome, stored.patient_id) == ("read", "success", "p1")
    assert stored.references == ["Observation/o1", "Observation/o2"]
    assert stored.remote_addr == "10.0.0.5"
    assert stored.purpose == "treatment"
    assert stored.detail == '{"total":2}'
    assert stored.recorded.tzinfo is not None
    assert stored.hash == entry.hash


def test_system_and_anonymous_actors_are_named():
    system = services.record(Context.system("import"), "create")
    anonymous = services.record(Context(), "search")
    assert (system.actor_name, system.actor_role) == ("system:import", "system")
    assert anonymous.actor_name == "anonymous"


def test_unknown_actions_and_outcomes_are_refused():
    with pytest.raises(ValueError, match="not an audit action"):
        services.record(CLINICIAN, "peek")
    with pytest.raises(ValueError, match="not an audit outcome"):
        services.record(CLINICIAN, "read", "maybe")
    assert AuditEntry.objects.count() == 0


def test_record_many_appends_a_chained_batch_in_order():
    services.record(CLINICIAN, "login")
    batch = services.record_many(CLINICIAN, [services.Event("read", resource_ids=[f"Patient/{i}"]) for i in range(4)])
    assert [e.prev_hash for e in batch[1:]] == [e.hash for e in batch[:-1]]
    assert verify_chain().ok
    assert verify_chain().entries == 5


def test_stored_entry_hash_recomputes_from_the_database_row():
    entry = services.record(CLINICIAN, "read", query="/x?name=Zoë\x00&n=1", detail={"note": "ünïcode"})
    stored = AuditEntry.objects.get(id=entry.id)
    assert entry_hash(stored.prev_hash, stored.hashed_values()) == stored.hash
    assert "\x00" not in stored.query


def test_an_entry_rolled_back_with_its_transaction_leaves_the_chain_intact():
    _log(2)
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            services.record(CLINICIAN, "update", resource_ids=["Patient/p0"])
            raise RuntimeError("the write failed")
    _log(2)
    result = verify_chain()
    assert result.ok and result.entries == 4


def test_verify_reports_an_intact_log():
    _log(5)
    result = verify_chain()
    assert result.ok
    assert str(result) == "audit log intact: 5 entries"
    assert result.head == entries()[-1].hash


def test_verify_on_an_empty_log():
    assert str(verify_chain()) == "audit log intact: 0 entries"


# -- tampering -------------------------------------------------------------------------------------


def test_a_changed_row_is_found():
    log = _log(5)
    without_triggers()
    sql("UPDATE audit_entry SET actor_name = %s WHERE id = %s", ["someone.else", log[2].id])
    result = verify_chain()
    assert not result.ok
    assert str(result) == f"audit log BROKEN at entry {log[2].id}: hash does not match content"


def test_a_changed_row_with_a_recomputed_hash_is_found_at_the_next_entry():
    log = _log(5)
    without_triggers()
    forged = AuditEntry.objects.get(id=log[2].id)
    forged.patient_id = "someone-else"
    new_hash = entry_hash(forged.prev_hash, forged.hashed_values())
    sql("UPDATE audit_entry SET patient_id = %s, hash = %s WHERE id = %s", ["someone-else", new_hash, log[2].id])
    result = verify_chain()
    assert result.broken_at == log[3].id
    assert f"prev_hash does not match entry {log[2].id}" in result.reason


def test_a_deleted_row_is_found():
    log = _log(5)
    without_triggers()
    sql("DELETE FROM audit_entry WHERE id = %s", [log[2].id])
    result = verify_chain()
    assert result.broken_at == log[3].id
    assert result.reason == (f"prev_hash does not match entry {log[1].id}: the entry it chained from is missing "
                             f"(entries between {log[1].id} and {log[3].id} were removed or altered)")


def test_deleting_the_first_rows_is_found():
    log = _log(3)
    without_triggers()
    sql("DELETE FROM audit_entry WHERE id = %s", [log[0].id])
    result = verify_chain()
    assert result.broken_at == log[1].id
    assert "earlier entries are missing" in result.reason


def _insert(entry_id: int, prev_hash: str, template: AuditEntry, **changes) -> str:
    values = {**template.hashed_values(), **changes}
    digest = entry_hash(prev_hash, values)
    columns = ["id", *values, "prev_hash", "hash"]
    params = [entry_id, *[connection.ops.adapt_datetimefield_value(v) if k == "recorded" else v
                          for k, v in values.items()], prev_hash, digest]
    sql(f"INSERT INTO audit_entry ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})", params)
    return digest


def _spread_ids() -> list[AuditEntry]:
    _log(3)
    without_triggers()
    sql("UPDATE audit_entry SET id = id * 10")  # room between the entries; ids are not hashed
    triggers.install(connection)
    return entries()


def test_a_row_chained_into_the_middle_is_refused_by_the_database():
    first, second, third = _spread_ids()
    with pytest.raises(DatabaseError), transaction.atomic():
        _insert(second.id + 5, second.hash, second, actor_name="dr.alibi")  # third already chains from second
    assert verify_chain().ok


def test_a_forged_row_inserted_between_two_entries_is_found():
    first, second, third = _spread_ids()
    without_triggers()
    _insert(second.id + 5, "e" * 64, second, actor_name="dr.alibi", patient_id="p9")
    result = verify_chain()
    assert result.broken_at == second.id + 5
    assert result.reason.startswith(f"prev_hash does not match entry {second.id}:")


def test_a_correctly_chained_forgery_is_found_once_the_database_guards_are_gone():
    first, second, third = _spread_ids()
    without_triggers()
    _insert(second.id + 5, second.hash, second, actor_name="dr.alibi", patient_id="p9")
    result = verify_chain()
    assert result.broken_at == third.id
    assert result.reason == (f"prev_hash does not match entry {second.id + 5}; it matches entry {second.id}: "
                             "an entry was inserted or entries were moved")


def test_a_forged_row_appended_with_a_made_up_hash_is_found():
    log = _log(3)
    sql("INSERT INTO audit_entry (recorded, action, outcome, actor_name, actor_role, patient_id, resource_type, "
        "resource_ids, query, remote_addr, purpose, detail, prev_hash, hash) "
        "VALUES (%s, 'read', 'success', 'ghost', '', NULL, '', '', '', '', '', '', %s, %s)",
        [connection.ops.adapt_datetimefield_value(log[0].recorded), log[-1].hash, "f" * 64])
    result = verify_chain()
    assert result.broken_at == log[-1].id + 1
    assert result.reason == "hash does not match content"


def test_swapped_hashes_are_found():
    log = _log(4)
    without_triggers()
    sql("UPDATE audit_entry SET hash = %s WHERE id = %s", ["x" * 64, log[1].id])
    sql("UPDATE audit_entry SET hash = %s WHERE id = %s", [log[1].hash, log[2].id])
    sql("UPDATE audit_entry SET hash = %s WHERE id = %s", [log[2].hash, log[1].id])
    result = verify_chain()
    assert (result.broken_at, result.reason) == (log[1].id, "hash does not match content")


def test_reordered_rows_are_found():
    log = _log(4)
    without_triggers()
    sql("UPDATE audit_entry SET id = -1 WHERE id = %s", [log[1].id])
    sql("UPDATE audit_entry SET id = %s WHERE id = %s", [log[1].id, log[2].id])
    sql("UPDATE audit_entry SET id = %s WHERE id = -1", [log[2].id])
    result = verify_chain()
    assert result.broken_at == log[1].id
    assert f"it matches entry {log[2].id}" in result.reason


def test_entries_removed_from_the_end_are_found_with_an_anchor():
    log = _log(4)
    anchor = verify_chain().head
    assert verify_chain(anchor=anchor).ok
    without_triggers()
    sql("DELETE FROM audit_entry WHERE id = %s", [log[-1].id])
    assert verify_chain().ok  # a shorter chain is still a chain...
    result = verify_chain(anchor=anchor)  # ...but the head noted earlier is gone
    assert not result.ok
    assert f"the anchor {anchor} is not in the chain" in result.reason


def test_an_anchor_stays_valid_as_the_log_grows():
    _log(2)
    anchor = verify_chain().head
    _log(3)
    assert verify_chain(anchor=anchor).ok


# -- the database refuses changes -------------------------------------------------------------------


def _refused(statement: str, params=None) -> str:
    with pytest.raises(DatabaseError) as caught:
        with transaction.atomic():
            sql(statement, params)
    return str(caught.value)


def test_the_database_refuses_updates():
    entry = _log(1)[0]
    assert "append-only" in _refused("UPDATE audit_entry SET actor_name = 'x' WHERE id = %s", [entry.id])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(id=entry.id).update(outcome="denied")
    assert AuditEntry.objects.get(id=entry.id).actor_name == "dr.okafor"


def test_the_database_refuses_deletes():
    entry = _log(1)[0]
    assert "append-only" in _refused("DELETE FROM audit_entry WHERE id = %s", [entry.id])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="TRUNCATE is a PostgreSQL statement")
def test_postgresql_refuses_truncate():
    _log(1)
    assert "append-only" in _refused("TRUNCATE audit_entry")
    assert AuditEntry.objects.count() == 1


def test_a_forked_chain_is_refused_by_the_database():
    first = _log(1)[0]
    with pytest.raises(DatabaseError, match="must chain from the last entry"), transaction.atomic():
        _insert(first.id + 100, GENESIS, first, actor_name="second.first")
    assert verify_chain().ok


def test_an_entry_chained_from_an_older_entry_is_refused_even_at_the_end():
    first, second = _log(2)
    with pytest.raises(DatabaseError, match="must chain from the last entry"), transaction.atomic():
        _insert(second.id + 1, first.hash, second, actor_name="dr.alibi")
    assert [e.id for e in entries()] == [first.id, second.id]


def test_a_batch_with_one_badly_chained_row_is_refused_whole():
    """Background batches arrive as one statement (COPY or executemany): a wrong link anywhere in
    it refuses all of it, and what was logged before stays intact."""
    first = _log(1)[0]
    good = {**first.hashed_values(), "actor_name": "batch.one"}
    good_hash = entry_hash(first.hash, good)
    bad = {**first.hashed_values(), "actor_name": "batch.two"}
    columns = [*good, "prev_hash", "hash"]
    row = f"({', '.join(['%s'] * len(columns))})"

    def params(values, prev_hash, digest):
        return [connection.ops.adapt_datetimefield_value(v) if k == "recorded" else v
                for k, v in values.items()] + [prev_hash, digest]

    with pytest.raises(DatabaseError, match="must chain from the last entry"), transaction.atomic():
        sql(f"INSERT INTO audit_entry ({', '.join(columns)}) VALUES {row}, {row}",
            params(good, first.hash, good_hash) + params(bad, first.hash, entry_hash(first.hash, bad)))
    assert [e.id for e in entries()] == [first.id]
    assert verify_chain().ok


# -- the parts that parse --------------------------------------------------------------------------

_ids = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.", min_size=1, max_size=64)


@given(_ids, st.sampled_from(["", "https://ehr.example/fhir/R4/", "/fhir/"]), st.one_of(st.none(), st.integers(1, 99)))
def test_patient_ids_are_read_from_any_form_of_reference(logical_id, base, version):
    reference = f"{base}Patient/{logical_id}" + (f"/_history/{version}" if version else "")
    assert services.patient_from_reference(reference) == logical_id
    assert services.patient_of({"resourceType": "Observation", "subject": {"reference": reference}}) == logical_id


@given(st.text(max_size=80))
def test_references_to_other_types_name_no_patient(text):
    reference = f"Group/{text}"
    if "Patient/" not in text:
        assert services.patient_from_reference(reference) is None


def test_whose_resource():
    assert services.patient_of({"resourceType": "Patient", "id": "p1"}) == "p1"
    assert services.patient_of({"resourceType": "Coverage", "beneficiary": {"reference": "Patient/p2"}}) == "p2"
    assert services.patient_of({"resourceType": "AllergyIntolerance", "patient": {"reference": "Patient/p3"}}) == "p3"
    assert services.patient_of({"resourceType": "Observation", "subject": {"reference": "Group/g1"}}) is None
    assert services.patient_of({"resourceType": "Organization", "name": "Clinic"}) is None


@given(st.dictionaries(st.sampled_from(["query", "detail_note", "resource_ids", "actor"]),
                       st.text(max_size=40), min_size=4, max_size=4))
def test_any_text_survives_the_round_trip_through_the_database(texts):
    # hypothesis reuses the test's transaction, so appended entries accumulate: the chain must hold
    context = Context(user_name=texts["actor"] or None, remote_addr="::1")
    entry = services.record(context, "search", query=texts["query"], resource_ids=texts["resource_ids"],
                            detail={"note": texts["detail_note"]})
    stored = AuditEntry.objects.get(id=entry.id)
    assert stored.hash == entry_hash(stored.prev_hash, stored.hashed_values())
    assert stored.recorded.astimezone(timezone.utc) == entry.recorded.astimezone(timezone.utc)
