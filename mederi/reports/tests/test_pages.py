"""The report pages as staff use them: tables, charts, CSV files, who may open them, and bad filters."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest

from mederi.audit.models import AuditEntry
from mederi.reports.tests.conftest import signed_in

pytestmark = pytest.mark.django_db


def period(practice, **more) -> dict:
    return {"date_from": practice.first.isoformat(), "date_to": practice.last.isoformat(), **more}


def bars(page: str, chart_id: str) -> int:
    """How many bars the chart's SVG draws."""
    figure = page.split(f'id="{chart_id}"', 1)[1].split("</figure>", 1)[0]
    return len(re.findall(r'<rect class="bar"', figure))


def rows_of(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"))))


def assert_safe_for_the_policy(page: str) -> None:
    """The content security policy allows no inline styles or scripts."""
    assert 'style="' not in page and "<script>" not in page and " on" + "click=" not in page


def test_the_front_desk_reads_the_no_show_report_with_its_charts(practice):
    desk = signed_in("fran", "front_desk")

    response = desk.get("/reports/no-shows/", period(practice))

    assert response.status_code == 200
    page = response.content.decode()
    assert re.search(r'<th scope="row">Dr Okafor</th><td class="num">4</td><td class="num">2</td>'
                     r'<td class="num">0</td><td class="num">50.0%</td>', page)
    assert re.search(r'<th scope="row">All providers</th><td class="num">9</td><td class="num">3</td>'
                     r'<td class="num">1</td><td class="num">33.3%</td>', page)
    assert bars(page, "chart-no-show-providers") == 2 and bars(page, "chart-no-show-weeks") == 2
    assert 'role="img"' in page and 'aria-label="Bar chart, no-show rate by provider. Dr Okafor: 50.0%; ' \
                                    'Dr Ruiz: 20.0%.' in page
    assert_safe_for_the_policy(page)
    assert "reports/reports.css" in page


def test_each_chart_has_a_bar_per_table_row(practice):
    desk = signed_in("fran", "front_desk")

    utilization = desk.get("/reports/utilization/", period(practice)).content.decode()
    assert bars(utilization, "chart-utilization") == 3
    assert re.search(r'<th scope="row">Dr Ruiz</th><td>Main clinic</td><td class="num">68 h</td>'
                     r'<td class="num">1 h 55 min</td><td class="num">4</td><td class="num">2.8%</td>', utilization)

    appointments = desk.get("/reports/appointments/", period(practice)).content.decode()
    assert bars(appointments, "chart-types") == 3 and bars(appointments, "chart-statuses") == 6
    assert re.search(r'<th scope="row">Follow-up</th>(<td class="num">\d+</td>){6}<td class="num">5</td>', appointments)

    failures = desk.get("/reports/eligibility-failures/", period(practice)).content.decode()
    assert bars(failures, "chart-payers") == 2
    assert "Maria Nunez (MRN00002)" in failures and "The member ID is missing or wrong" in failures
    for page in (utilization, appointments, failures):
        assert_safe_for_the_policy(page)


def test_a_period_with_nothing_in_it_says_so_instead_of_drawing(practice):
    desk = signed_in("fran", "front_desk")
    quiet = {"date_from": (practice.first - timedelta(days=60)).isoformat(),
             "date_to": (practice.first - timedelta(days=50)).isoformat()}

    page = desk.get("/reports/appointments/", quiet).content.decode()

    assert "No appointments start in this period." in page
    assert "<svg" not in page and "nothing to show" in page


def test_csv_exports_carry_the_same_figures(practice):
    desk = signed_in("fran", "front_desk")

    response = desk.get("/reports/no-shows/", period(practice, format="csv"))

    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == (
        f'attachment; filename="no-show-rate_{practice.first}_{practice.last}.csv"')
    assert rows_of(response) == [
        ["Breakdown", "Provider", "Week from", "Week to", "Appointments due", "No-shows", "Not marked",
         "No-show rate %"],
        ["Provider", "Dr Okafor", "", "", "4", "2", "0", "50.0"],
        ["Provider", "Dr Ruiz", "", "", "5", "1", "1", "20.0"],
        ["All providers", "", "", "", "9", "3", "1", "33.3"],
        ["Week", "", practice.first.isoformat(), (practice.first + timedelta(days=6)).isoformat(),
         "4", "2", "", "50.0"],
        ["Week", "", practice.second_monday.isoformat(), practice.last.isoformat(), "5", "1", "", "20.0"],
    ]

    utilization = rows_of(desk.get("/reports/utilization/", period(practice, format="csv")))
    assert utilization[0] == ["Provider", "Location", "Open minutes", "Booked minutes", "Appointments", "Utilization %"]
    assert utilization[1:] == [["Dr Okafor", "Main clinic", "1680", "35", "2", "2.1"],
                               ["Dr Okafor", "North clinic", "420", "0", "0", "0.0"],
                               ["Dr Ruiz", "Main clinic", "4080", "115", "4", "2.8"],
                               ["All providers", "", "6180", "150", "6", "2.4"]]

    appointments = rows_of(desk.get("/reports/appointments/", period(practice, format="csv", provider="dr-ruiz")))
    assert appointments == [["Appointment type", "Booked", "Arrived", "Checked in", "Done", "No-show", "Cancelled",
                             "Total"],
                            ["Follow-up", "1", "0", "0", "0", "1", "1", "3"],
                            ["New patient", "0", "0", "1", "1", "0", "0", "2"],
                            ["Sick visit", "0", "1", "0", "0", "0", "0", "1"],
                            ["All types", "1", "1", "1", "1", "1", "1", "6"]]

    failures = rows_of(desk.get("/reports/eligibility-failures/", period(practice, format="csv")))
    assert failures[0] == ["Checked at", "Date of service", "Patient", "MRN", "Patient id", "Payer", "Result", "Reason"]
    assert [(r[2], r[3], r[5], r[6]) for r in failures[1:]] == [
        ("Peter Chalmers", "MRN00001", "Acme Health", "Not active"),
        ("Maria Nunez", "MRN00002", "Medicare", "Rejected"),
        ("Samir Haddad", "MRN00003", "Acme Health", "Check failed")]
    exports = AuditEntry.objects.filter(action="export", actor_name="fran", query__startswith="report: ")
    assert exports.count() == 4


def test_the_index_offers_the_filters_and_the_reports_the_person_may_open(practice):
    desk = signed_in("fran", "front_desk")

    page = desk.get("/reports/").content.decode()

    assert 'name="date_from"' in page and 'name="location"' in page and 'name="provider"' in page
    for path in ("/reports/no-shows/", "/reports/utilization/", "/reports/appointments/",
                 "/reports/eligibility-failures/"):
        assert f'formaction="{path}"' in page
    assert "North clinic" in page and "Dr Okafor" in page
    assert_safe_for_the_policy(page)


def test_the_period_defaults_to_the_last_30_days(practice):
    from mederi.scheduling import practice_time

    today = practice_time.today()
    response = signed_in("fran", "front_desk").get("/reports/appointments/")

    assert response.status_code == 200
    page = response.content.decode()
    assert f'value="{(today - timedelta(days=29)).isoformat()}"' in page and f'value="{today.isoformat()}"' in page
    assert "Follow-up" in page  # the two weeks of history lie within the last 30 days


def test_an_auditor_sees_no_report(practice):
    auditor = signed_in("audrey", "auditor")

    for path in ("/reports/", "/reports/no-shows/", "/reports/utilization/", "/reports/appointments/",
                 "/reports/eligibility-failures/", "/reports/no-shows/?format=csv"):
        response = auditor.get(path)
        assert response.status_code == 403, path
        assert "Not allowed" in response.content.decode()
    assert not AuditEntry.objects.filter(actor_name="audrey", query__startswith="report: ").exists()


def test_someone_who_only_reads_the_schedule_gets_its_reports_and_not_the_eligibility_failures(practice):
    from django.test import Client

    from mederi.conftest import staff_user

    client = Client()
    client.force_login(staff_user("sam", permissions=["scheduling.read", "directory.read"]))

    index = client.get("/reports/").content.decode()
    assert 'formaction="/reports/no-shows/"' in index and "/reports/eligibility-failures/" not in index
    assert client.get("/reports/no-shows/", period(practice)).status_code == 200
    assert client.get("/reports/eligibility-failures/", period(practice)).status_code == 403


@pytest.mark.parametrize(("query", "field", "message"), [
    ({"date_from": "2026-03-10", "date_to": "2026-03-01"}, "date_to", "The period ends (Sun 1 Mar 2026) before it"),
    ({"date_from": "2026-02-30", "date_to": "2026-03-01"}, "date_from", "Enter a real date for the first day"),
    ({"date_from": "2025-01-01", "date_to": "2026-03-01"}, "date_from", "Choose at most a year"),
    ({"provider": "dr-nobody"}, "provider", "There is no provider &#x27;dr-nobody&#x27;"),
    ({"location": "clinic-south"}, "location", "There is no location &#x27;clinic-south&#x27;"),
])
def test_bad_filters_get_a_message_at_the_field(practice, query, field, message):
    desk = signed_in("fran", "front_desk")

    for path in ("/reports/no-shows/", "/reports/eligibility-failures/"):
        response = desk.get(path, query)
        assert response.status_code == 400
        page = response.content.decode()
        error = page.split(f'id="id_{field}-error"', 1)[1].split("</div>", 1)[0]
        assert message in error
        assert '<table class="report-table"' not in page and "<svg" not in page
    assert desk.get("/reports/no-shows/", {**query, "format": "csv"}).status_code == 400
    assert not AuditEntry.objects.filter(query__startswith="report: ").exists()


def test_an_unknown_format_is_explained(practice):
    response = signed_in("fran", "front_desk").get("/reports/utilization/", period(practice, format="xlsx"))

    assert response.status_code == 400
    assert "comes as a page or as a CSV file" in response.content.decode()
