"""The template editor and groups of questions inside a section: an administrator edits a question
of the PHQ-9, adds one to a group, makes a new group; bad placements are refused at their field."""

from __future__ import annotations

import pytest
from django.test import Client

from mederi.clinical.notes import catalogue, editor_views
from mederi.conftest import record_row_counts, staff_user
from mederi.core.context import Context
from mederi.fhir import questionnaires

pytestmark = pytest.mark.django_db
INTAKE = "note-mental-health-intake-1"


@pytest.fixture
def admin_client(db):
    client = Client()
    client.force_login(staff_user("admin", "practice_admin"))
    return client


def posted(rows: list[dict], title: str) -> dict:
    """The editor's form as the browser posts it: every row, with its number."""
    data = {"title": title, "description": "", "row-TOTAL_FORMS": str(len(rows)), "row-INITIAL_FORMS": "0"}
    for n, row in enumerate(rows):
        for key, value in row.items():
            if key == "required":
                if value:
                    data[f"row-{n}-required"] = "on"
            elif value is not None:
                data[f"row-{n}-{key}"] = str(value)
    return data


def rows_of(template_id: str) -> list[dict]:
    """The rows the edit page shows for a template (its questions, without the blank ones)."""
    rows = editor_views._initial_rows(catalogue.by_id(Context.system("test"), template_id))
    return [row for row in rows if row.get("link_id")]


def items_by_id(resource: dict) -> dict[str, dict]:
    found = {}

    def walk(items, parent):
        for item in items or ():
            found[item["linkId"]] = {**item, "parent": parent}
            walk(item.get("item"), item["linkId"])

    walk(resource["item"], "")
    return found


def newest(url: str) -> dict:
    return catalogue.all_versions(Context.system("test"), url)[0].resource


def test_the_edit_page_shows_the_questions_inside_the_phq9_with_their_group(admin_client):
    page = admin_client.get(f"/clinical/templates/{INTAKE}/edit/").content.decode()
    assert "Little interest or pleasure in doing things" in page
    assert '<option value="phq9">PHQ-9' in page  # offered as a group questions can sit in
    assert '<option value="phq9" selected>' in page  # and chosen for the PHQ-9's own questions


def test_an_administrator_edits_a_question_inside_the_phq9_and_adds_one_to_the_gad7(admin_client):
    before = catalogue.by_id(Context.system("test"), INTAKE).resource
    rows = rows_of(INTAKE)
    for row in rows:
        if row["link_id"] == "phq9-1":
            row["text"] = "Little interest or pleasure in things you usually enjoy"
    rows.append({"section": "subjective", "group": "gad7", "text": "Panic attacks in the last month",
                 "type": "boolean", "position": 999})

    saved = admin_client.post(f"/clinical/templates/{INTAKE}/edit/", posted(rows, "Mental health intake"))

    assert saved.status_code == 302
    new = newest(before["url"])
    assert new["version"] == "2"
    items, old = items_by_id(new), items_by_id(before)
    assert items["phq9-1"]["text"] == "Little interest or pleasure in things you usually enjoy"
    assert items["phq9-1"]["parent"] == "phq9"
    # What the page does not show stays: the LOINC code, the scored answers, the read-only total.
    assert items["phq9-1"]["code"] == old["phq9-1"]["code"]
    assert items["phq9-1"]["answerOption"] == old["phq9-1"]["answerOption"]
    assert items["phq9-total"]["readOnly"] is True and items["phq9-total"]["parent"] == "phq9"
    assert items["phq9"]["code"] == old["phq9"]["code"]
    added = [i for i in items.values() if i["text"] == "Panic attacks in the last month"]
    assert [(a["parent"], a["type"]) for a in added] == [("gad7", "boolean")]
    assert [i["linkId"] for i in new["item"][0]["item"]] == ["presenting-problem", "psych-history", "substance-use",
                                                             "phq9", "gad7"]
    assert questionnaires.parse_questionnaire(new)  # notes can be written with it


def test_a_new_group_with_its_questions_is_made_in_one_edit(admin_client):
    rows = rows_of("note-adult-visit-1")
    base = len(rows)
    rows += [{"section": "objective", "text": "Foot examination", "type": "group", "position": 50},
             {"section": "plan", "group": f"new-{base}", "text": "Monofilament sensation", "type": "choice",
              "options": "Normal\nReduced", "position": 52},
             {"section": "plan", "group": f"new-{base}", "text": "Pedal pulses present", "type": "boolean",
              "position": 51}]

    saved = admin_client.post("/clinical/templates/note-adult-visit-1/edit/",
                              posted(rows, "Adult / family medicine visit"))

    assert saved.status_code == 302
    objective = newest(catalogue.ADULT_VISIT)["item"][1]
    group = objective["item"][-1]
    assert (group["text"], group["type"]) == ("Foot examination", "group")
    # Inside the group, in the order given, whatever section the rows were set to.
    assert [i["text"] for i in group["item"]] == ["Pedal pulses present", "Monofilament sensation"]
    page = admin_client.get(f"/clinical/templates/{newest(catalogue.ADULT_VISIT)['id']}/edit/").content.decode()
    assert f'<option value="{group["linkId"]}">Foot examination</option>' in page


@pytest.mark.parametrize(("change", "field", "message"), [
    (lambda rows, n: rows.append({"section": "plan", "group": "no-such-group", "text": "Pain score", "type": "integer",
                                  "position": 1}), "group", "choose a group from the list"),
    (lambda rows, n: rows.append({"section": "plan", "text": "Empty box", "type": "group", "position": 1}),
     "type", "a group needs at least one question inside it"),
    (lambda rows, n: rows.extend([
        {"section": "plan", "group": f"new-{n + 1}", "text": "Loop A", "type": "group", "position": 1},
        {"section": "plan", "group": f"new-{n}", "text": "Loop B", "type": "group", "position": 2}]),
     "group", "a group cannot sit inside itself"),
])
def test_a_question_placed_where_it_cannot_go_is_refused_at_its_field(admin_client, change, field, message):
    rows = rows_of("note-adult-visit-1")
    number = len(rows)
    change(rows, number)
    before = record_row_counts()

    refused = admin_client.post("/clinical/templates/note-adult-visit-1/edit/",
                                posted(rows, "Adult / family medicine visit"))

    assert refused.status_code == 400
    page = refused.content.decode()
    assert f'id="id_row-{number}-{field}-error"' in page
    assert message in page
    assert record_row_counts() == before
