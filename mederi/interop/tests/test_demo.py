"""The demo practice has a lab connection to the stand-in lab and a resulted order in Dr Ruiz's inbox."""

import pytest

from mederi.accounts.context import context_for_user
from mederi.clinical import inbox
from mederi.demo import load_demo
from mederi.interop.models import LabConnection, OutboundOrder


@pytest.mark.django_db
def test_the_demo_has_a_stand_in_lab_and_a_resulted_order_in_the_doctors_inbox(django_user_model):
    load_demo()
    load_demo()  # safe to run again

    assert LabConnection.objects.get().transport == LabConnection.STANDIN
    (order,) = OutboundOrder.objects.all()
    assert order.state == OutboundOrder.ACCEPTED
    doctor = django_user_model.objects.get(username="drruiz")
    (report,) = inbox.results_inbox(context_for_user(doctor), "demo-dr-ruiz")
    assert report.title == "Lipid panel" and report.patient_name == "Peter Chalmers" and report.abnormal_count == 2
