"""The demo practice's visit notes: on the first working day of the demo schedule, Grace Okonkwo's
physical is documented and signed (her visit is over), and María Núñez's visit, in a room, has a
draft note in progress. Jordan Lee, a nurse practitioner (login nplee), is supervised by Dr Ruiz, so
the notes she signs await his co-signature. Loading again adds nothing."""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.utils.datastructures import MultiValueDict

from mederi.accounts.context import context_for_user
from mederi.clinical.notes import encounters, services, supervision
from mederi.core import systems
from mederi.core.context import Context
from mederi.core.errors import MederiError
from mederi.fhir.repository import Repository

SIGNED = {"chief-complaint": "Annual physical", "hpi": "Feels well. Walks 30 minutes most days.",
          "current-meds-reviewed": "true", "general": "Well, in no distress",
          "exam": "Heart and lungs normal. BP 128/78.", "assessment-text": "Healthy adult; hypertension controlled",
          "plan-text": "Continue lisinopril. Fasting lipids before the next visit.", "follow-up": "7"}
DRAFT = {"chief-complaint": "Sore throat for three days", "hpi": "No fever. Mild cough."}
NURSE_PRACTITIONER = ("demo-np-lee", "nplee", "Jordan Lee")
SUPERVISOR = "demo-dr-ruiz"


def _first_working_day(today: date) -> date:
    while today.weekday() >= 5:
        today += timedelta(days=1)
    return today


def _load_supervised_clinician() -> str:
    """A nurse practitioner whose notes Dr Ruiz co-signs, with her login."""
    from mederi.accounts import services as accounts
    from mederi.demo import DEMO_PASSWORD

    practitioner_id, username, full_name = NURSE_PRACTITIONER
    given, family = full_name.split(" ", 1)
    repo = Repository(Context.system("demo"))
    repo.update("Practitioner", practitioner_id, {
        "resourceType": "Practitioner", "id": practitioner_id, "active": True,
        "name": [{"use": "official", "family": family, "given": [given]}],
        "qualification": [{"code": {"coding": [{"system": systems.QUALIFICATION, "code": "NP",
                                                "display": "Nurse practitioner (NP)"}], "text": "NP"}}],
        "extension": [{"url": systems.SUPERVISING_PRACTITIONER,
                       "valueReference": {"reference": f"Practitioner/{SUPERVISOR}"}}]})
    supervision.set_supervisor(Context.system("demo"), practitioner_id, SUPERVISOR)  # checks Dr Ruiz may supervise
    if not get_user_model().objects.filter(username=username).exists():
        accounts.create_staff_user(username, DEMO_PASSWORD, full_name, roles=["physician"],
                                   practitioner_id=practitioner_id, mfa_required=False)
    return (f"supervision: {full_name}, NP (login {username}, password {DEMO_PASSWORD}) is supervised by Dr Ruiz; "
            "the notes she signs await his co-signature (/clinical/supervision/)")


def load_demo(today: date) -> str:
    user = get_user_model().objects.filter(username="drruiz").first()
    if user is None:
        return ""
    supervised = _load_supervised_clinician()
    doctor = context_for_user(user)
    day = _first_working_day(today)
    repo = Repository(Context.system("demo"))
    written = []
    for appointment_id, answers, sign in ((f"demo-appt-{day:%Y%m%d}-0-1000-ruiz", SIGNED, True),
                                          (f"demo-appt-{day:%Y%m%d}-0-0930-ruiz", DRAFT, False)):
        if encounters.encounter_of_appointment(repo, appointment_id) is not None:
            continue  # loaded before
        try:
            encounter_id = encounters.start_visit(doctor, appointment_id).encounter_id
            form = MultiValueDict({k: [v] for k, v in answers.items()})
            if sign:
                services.sign_note(doctor, encounter_id, form, template_id="note-adult-visit-1")
            else:
                services.save_draft(doctor, encounter_id, form, template_id="note-adult-visit-1")
        except MederiError:
            continue  # the schedule demo did not book this visit (another day's run): leave it
        written.append(f"Encounter/{encounter_id} ({'signed note' if sign else 'draft note'})")
    return ("visit notes: " + (", ".join(written) if written else "loaded before") + "; 6 note templates\n"
            + supervised)
