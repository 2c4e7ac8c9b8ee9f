"""The demo practice lets a newcomer see prescribing alerts for Grace Okonkwo."""

import pytest

from mederi.accounts.context import context_for_user
from mederi.clinical.prescribing import pharmacies, services
from mederi.demo import load_demo


@pytest.mark.django_db
def test_the_demo_patient_on_warfarin_and_allergic_to_penicillin_sets_off_the_alerts(django_user_model):
    load_demo()
    load_demo()  # safe to run again
    context = context_for_user(django_user_model.objects.get(username="drruiz"))
    assert [p.name for p in pharmacies.pharmacies(context)] == ["Lakeside Drugs", "Main Street Pharmacy"]
    ibuprofen = services.selection_cards(context, "demo-pat-3", "197806")
    assert "Major interaction: ibuprofen with warfarin" in [c["summary"] for c in ibuprofen]
    amoxicillin = services.selection_cards(context, "demo-pat-3", "308182")
    assert any(c["indicator"] == "critical" and "penicillin" in c["summary"].lower() for c in amoxicillin)
    clarithromycin = services.selection_cards(context, "demo-pat-3", "21212")
    assert any("simvastatin" in c["summary"] for c in clarithromycin)
