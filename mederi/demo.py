"""The demo practice loaded by `mederi demo` (and `make run`): a small family practice with
staff, payers and patients whose charts have visits, problems, vitals, allergies and
medications. Every resource has a fixed id, so loading it again changes nothing.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from mederi.core import systems
from mederi.core.context import Context
from mederi.fhir.bundles import BundleProcessor
from mederi.fhir.repository import Repository

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
MRN = systems.mrn_system()  # the practice's medical record numbers
NPI = systems.NPI

PRACTICE = {
    "resourceType": "Organization", "id": "demo-practice", "active": True, "name": "Riverside Family Medicine",
    "identifier": [{"system": systems.NPI, "value": "1612345672"}],  # the billing provider on 270s and claims
    "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": "prov"}]}],
    "telecom": [{"system": "phone", "value": "555-0100", "use": "work"}],
    "address": [{"line": ["12 River Road"], "city": "Springfield", "state": "IL", "postalCode": "62701"}],
}
PAYERS = [
    {"resourceType": "Organization", "id": "demo-payer-acme", "active": True, "name": "Acme Health Plan",
     "identifier": [{"system": systems.PAYER_ID, "value": "ACME01"}],
     "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": "pay"}]}]},
    {"resourceType": "Organization", "id": "demo-payer-medicare", "active": True, "name": "Medicare Part B",
     "identifier": [{"system": systems.PAYER_ID, "value": "MCRB01"}],
     "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": "pay"}]}]},
]
LOCATIONS = [
    {"resourceType": "Location", "id": "demo-clinic-main", "status": "active", "name": "Riverside main clinic",
     "managingOrganization": {"reference": "Organization/demo-practice"},
     "description": "Free parking behind the building; the entrance faces River Road.",
     "address": {"line": ["12 River Road"], "city": "Springfield", "state": "IL", "postalCode": "62701"},
     "hoursOfOperation": [{"daysOfWeek": ["mon", "tue", "wed", "thu", "fri"], "openingTime": "08:00:00",
                           "closingTime": "17:00:00"}]},
    {"resourceType": "Location", "id": "demo-clinic-north", "status": "active", "name": "Riverside north clinic",
     "managingOrganization": {"reference": "Organization/demo-practice"},
     "description": "Street parking on Lake Avenue; second floor, lift by the pharmacy.",
     "address": {"line": ["480 Lake Avenue"], "city": "Springfield", "state": "IL", "postalCode": "62702"},
     "hoursOfOperation": [{"daysOfWeek": ["tue", "thu"], "openingTime": "13:00:00", "closingTime": "17:00:00"}]},
]
STAFF = [  # id, family, given, prefix, npi, role code, role display, qualification
    ("demo-dr-ruiz", "Ruiz", "Ana", "Dr.", "1234567893", "doctor", "Doctor", "MD"),
    ("demo-dr-okafor", "Okafor", "James", "Dr.", "1245319599", "doctor", "Doctor", "DO"),
    ("demo-rn-shah", "Shah", "Priya", None, None, "nurse", "Nurse", "RN"),
]
# Where each works besides the main clinic: one PractitionerRole per location.
OTHER_SITES = {"demo-dr-okafor": ["demo-clinic-north"]}
FAMILY_PRACTICE = {"coding": [{"system": "http://snomed.info/sct", "code": "419772000", "display": "Family practice"}],
                   "text": "Family practice"}
PATIENTS = [  # id, family, given, gender, birth date, payer, allergy, problem, medication
    ("demo-pat-1", "Chalmers", "Peter", "male", "1974-12-25", "demo-payer-acme",
     ("91936005", "Allergy to penicillin"), ("38341003", "Hypertensive disorder"), ("314076", "lisinopril 10 MG Oral Tablet")),
    ("demo-pat-2", "Núñez", "María", "female", "1988-03-14", "demo-payer-acme",
     None, ("195967001", "Asthma"), ("745679", "albuterol 0.09 MG/ACTUAT Metered Dose Inhaler")),
    ("demo-pat-3", "Okonkwo", "Grace", "female", "1951-07-02", "demo-payer-medicare",
     ("300913006", "Shellfish allergy"), ("44054006", "Diabetes mellitus type 2"), ("860975", "metformin 500 MG Oral Tablet")),
    ("demo-pat-4", "Lindqvist", "Erik", "male", "2016-10-30", "demo-payer-acme", None, None, None),
    ("demo-pat-5", "Haddad", "Samir", "male", "1963-05-19", "demo-payer-medicare",
     None, ("55822004", "Hyperlipidemia"), ("617312", "atorvastatin 20 MG Oral Tablet")),
    ("demo-pat-6", "Vega", "Rosa", "female", "1979-08-11", "demo-payer-acme",
     None, ("35489007", "Depressive disorder"), ("312938", "sertraline 50 MG Oral Tablet")),
]
# A staff member's own chart: labelled restricted, reachable only by breaking the glass.
RESTRICTED_PATIENTS = {"demo-pat-6"}
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"


def _coding(system: str, code: str, display: str) -> dict:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def _ref(reference: str) -> dict:
    return {"reference": reference}


def _staff() -> list[dict]:
    resources = []
    for staff_id, family, given, prefix, npi, role, role_display, qualification in STAFF:
        name = {"family": family, "given": [given]}
        if prefix:
            name["prefix"] = [prefix]
        practitioner = {"resourceType": "Practitioner", "id": staff_id, "active": True, "name": [name],
                        "qualification": [{"code": _coding(systems.QUALIFICATION, qualification, qualification)}]}
        if npi:
            practitioner["identifier"] = [{"system": NPI, "value": npi}]
        resources.append(practitioner)
        for site in ["demo-clinic-main", *OTHER_SITES.get(staff_id, [])]:
            resources.append({
                "resourceType": "PractitionerRole", "active": True,
                "id": f"{staff_id}-role" if site == "demo-clinic-main" else f"{staff_id}-role-{site[12:]}",
                "practitioner": _ref(f"Practitioner/{staff_id}"), "organization": _ref("Organization/demo-practice"),
                "location": [_ref(f"Location/{site}")],
                "code": [_coding("http://terminology.hl7.org/CodeSystem/practitioner-role", role, role_display)],
                **({"specialty": [FAMILY_PRACTICE]} if role == "doctor" else {}),
            })
    return resources


def _vitals(patient_ref: str, encounter_ref: str, when: str, index: int) -> list[dict]:
    readings = [
        ("8867-4", "Heart rate", 64 + index * 3, "/min", "/min"),
        ("29463-7", "Body weight", 58.5 + index * 7.25, "kg", "kg"),
        ("8310-5", "Body temperature", 36.6 + index * 0.1, "Cel", "Cel"),
    ]
    resources = []
    for code, display, value, unit, ucum in readings:
        resources.append({
            "resourceType": "Observation", "id": f"{encounter_ref.split('/')[1]}-{code}", "status": "final",
            "category": [_coding("http://terminology.hl7.org/CodeSystem/observation-category", "vital-signs",
                                 "Vital Signs")],
            "code": _coding(LOINC, code, display), "subject": _ref(patient_ref), "encounter": _ref(encounter_ref),
            "effectiveDateTime": when,
            "valueQuantity": {"value": round(value, 2), "unit": unit, "system": UCUM, "code": ucum},
        })
    return resources


def _chart(index: int, row: tuple, today: date) -> list[dict]:
    patient_id, family, given, gender, birth, payer, allergy, problem, medication = row
    patient_ref = f"Patient/{patient_id}"
    doctor = STAFF[index % 2][0]
    resources = [{
        "resourceType": "Patient", "id": patient_id, "active": True,
        "identifier": [{"system": MRN, "value": f"MRN{1000 + index}",
                        "type": _coding("http://terminology.hl7.org/CodeSystem/v2-0203", "MR", "Medical record number")}],
        "name": [{"use": "official", "family": family, "given": [given]}],
        "gender": gender, "birthDate": birth,
        "telecom": [{"system": "phone", "value": f"217-555-01{index + 10}", "use": "mobile"},
                    {"system": "email", "value": f"{given.lower()}.{family.lower()}@example.com"}],
        "address": [{"line": [f"{index * 7 + 3} Elm Street"], "city": "Springfield", "state": "IL", "postalCode": "62704"}],
        "generalPractitioner": [_ref(f"Practitioner/{doctor}")],
        "managingOrganization": _ref("Organization/demo-practice"),
        **({"meta": {"security": [{"system": CONFIDENTIALITY, "code": "R", "display": "restricted"}]}}
           if patient_id in RESTRICTED_PATIENTS else {}),
    }, {
        "resourceType": "Coverage", "id": f"{patient_id}-coverage", "status": "active",
        "subscriberId": f"SUB{77000 + index}", "beneficiary": _ref(patient_ref), "order": 1,
        "identifier": [{"system": systems.MEMBER_ID, "value": f"SUB{77000 + index}",
                        "type": _coding("http://terminology.hl7.org/CodeSystem/v2-0203", "MB", "Member number")}],
        "relationship": _coding(
            "http://terminology.hl7.org/CodeSystem/subscriber-relationship", "self", "Self"),
        "payor": [_ref(f"Organization/{payer}")],
        "period": {"start": f"{today.year}-01-01"},
    }]
    for visit in range(2):
        day = today - timedelta(days=30 + 120 * visit + index * 5)
        encounter_id = f"{patient_id}-visit-{visit + 1}"
        begins = datetime.combine(day, time(9, 0), timezone.utc) + timedelta(minutes=25 * index)
        start = begins.strftime("%Y-%m-%dT%H:%M:%SZ")
        end = (begins + timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
        resources.append({
            "resourceType": "Encounter", "id": encounter_id, "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB",
                      "display": "ambulatory"},
            "type": [_coding(SNOMED, "185349003", "Encounter for check up")],
            "subject": _ref(patient_ref),
            "participant": [{"individual": _ref(f"Practitioner/{doctor}")}],
            "period": {"start": start, "end": end},
            "location": [{"location": _ref("Location/demo-clinic-main")}],
            "serviceProvider": _ref("Organization/demo-practice"),
        })
        resources += _vitals(patient_ref, f"Encounter/{encounter_id}", start, index + visit)
    if problem:
        resources.append({
            "resourceType": "Condition", "id": f"{patient_id}-problem",
            "clinicalStatus": _coding("http://terminology.hl7.org/CodeSystem/condition-clinical", "active", "Active"),
            "verificationStatus": _coding("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed",
                                          "Confirmed"),
            "category": [_coding("http://terminology.hl7.org/CodeSystem/condition-category", "problem-list-item",
                                 "Problem List Item")],
            "code": _coding(SNOMED, *problem), "subject": _ref(patient_ref),
            "onsetDateTime": f"{today.year - 3 - index}-06-01",
        })
    if allergy:
        resources.append({
            "resourceType": "AllergyIntolerance", "id": f"{patient_id}-allergy",
            "clinicalStatus": _coding("http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "active",
                                      "Active"),
            "verificationStatus": _coding("http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
                                          "confirmed", "Confirmed"),
            "code": _coding(SNOMED, *allergy), "patient": _ref(patient_ref), "criticality": "high",
        })
    if medication:
        resources.append({
            "resourceType": "MedicationRequest", "id": f"{patient_id}-med", "status": "active", "intent": "order",
            "medicationCodeableConcept": _coding(RXNORM, *medication), "subject": _ref(patient_ref),
            "requester": _ref(f"Practitioner/{doctor}"), "authoredOn": (today - timedelta(days=30)).isoformat(),
            "dosageInstruction": [{"text": "Take one tablet by mouth daily"}],
        })
    return resources


def demo_resources(today: date | None = None) -> list[dict]:
    # Visit dates are fixed to the practice's first day so reloading the demo is a no-op.
    today = today or date(2026, 11, 2)
    resources = [PRACTICE, *PAYERS, *LOCATIONS, *_staff()]
    for index, row in enumerate(PATIENTS):
        resources += _chart(index, row, today)
    return resources


DEMO_PASSWORD = "mederi-demo-2026"
# The nurse's role is given per clinic: she chooses where she works at sign-in.
NURSE_LOCATIONS = ("demo-clinic-main", "demo-clinic-north")
DEMO_USERS = [  # username, full name, role, practitioner id
    ("frontdesk", "Fran Desk", "front_desk", ""),
    ("biller", "Bill Ling", "biller", ""),
    ("nurse", "Priya Shah", "nurse", "demo-rn-shah"),
    ("drruiz", "Ana Ruiz", "physician", "demo-dr-ruiz"),
    ("admin", "Adele Admin", "practice_admin", ""),
    ("auditor", "Audrey Tor", "auditor", ""),
]


PATIENT_LOGIN = ("peter", "Peter Chalmers", "demo-pat-1")  # a patient of the practice, for the portal and apps
SMART_APP = {"client_id": "demo-smart-app", "name": "Demo SMART app",
             "redirect_uris": "http://localhost:9000/callback http://127.0.0.1:9000/callback"}


def _load_demo_app() -> None:
    """A registered public SMART app (PKCE), so the launch can be tried with any SMART client."""
    from oauth2_provider.models import Application

    from mederi.accounts.models import ClientProfile

    app, created = Application.objects.get_or_create(client_id=SMART_APP["client_id"], defaults={
        "name": SMART_APP["name"], "client_type": Application.CLIENT_PUBLIC, "client_secret": "",
        "authorization_grant_type": Application.GRANT_AUTHORIZATION_CODE,
        "redirect_uris": SMART_APP["redirect_uris"]})
    if created:
        ClientProfile.objects.create(application=app, kind=ClientProfile.APP,
                                     launch_uri="http://localhost:9000/launch")


def _load_demo_users() -> None:
    from django.contrib.auth import get_user_model

    from mederi.accounts import services as accounts

    accounts.ensure_default_roles()
    users = get_user_model().objects
    for username, full_name, role, practitioner_id in DEMO_USERS:
        if not users.filter(username=username).exists():
            # Demo accounts skip multi-factor enrolment so the practice can be tried at once.
            roles = [(role, place) for place in NURSE_LOCATIONS] if username == "nurse" else [role]
            accounts.create_staff_user(username, DEMO_PASSWORD, full_name, roles=roles,
                                       practitioner_id=practitioner_id, mfa_required=False)
    username, full_name, patient_id = PATIENT_LOGIN
    if not users.filter(username=username).exists():
        accounts.create_patient_user(username, DEMO_PASSWORD, patient_id, full_name)


def demo_logins() -> str:
    lines = [f"  {username:<10} {role:<15} password: {DEMO_PASSWORD}" for username, _, role, _ in DEMO_USERS]
    lines.append(f"  {PATIENT_LOGIN[0]:<10} {'patient':<15} password: {DEMO_PASSWORD}  (only {PATIENT_LOGIN[2]})")
    lines.append("  (nurse holds her role at both clinics: she says where she works at sign-in)")
    return ("demo logins:\n" + "\n".join(lines) + "\n"
            f"restricted chart (break the glass as drruiz): {', '.join(sorted(RESTRICTED_PATIENTS))}\n"
            f"SMART app: client_id {SMART_APP['client_id']} (public, PKCE S256), redirect {SMART_APP['redirect_uris']}\n"
            "API token for curl: .venv/bin/mederi token drruiz   then   "
            "curl -H 'Authorization: Bearer <token>' http://127.0.0.1:8000/fhir/R4/Patient")


def load_demo() -> str:
    resources = demo_resources()
    bundle = {
        "resourceType": "Bundle", "type": "transaction",
        "entry": [{"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
                  for r in resources],
    }
    response = BundleProcessor(Repository(Context.system("demo"))).process(bundle)
    created = sum(1 for e in response["entry"] if e["response"]["status"].startswith("201"))
    _load_demo_users()
    _load_demo_app()
    notes = [load(date.today()) for load in _app_demos()]
    return (f"demo practice ready: {len(resources)} resources ({created} new), "
            f"{len(PATIENTS)} patients, {len(STAFF)} staff\n" + "".join(f"{n}\n" for n in notes if n)
            + demo_logins())


def _app_demos():
    """Each app's part of the demo practice (payers' connections, schedules, reminder rules, ...)."""
    from mederi.ai.agent import demo as agent
    from mederi.ai.denial import demo as denial_risk
    from mederi.ai.scribe import demo as scribe
    from mederi.billing import demo as billing
    from mederi.billing.claims import demo as claims
    from mederi.billing.patient_billing import demo as patient_billing
    from mederi.billing.remittance import acknowledgement_demo as acknowledgements
    from mederi.billing.remittance import demo as remittance
    from mederi.clinical.entries import demo as charts
    from mederi.clinical.notes import demo as notes
    from mederi.clinical.prescribing import demo as prescribing
    from mederi.clinical.preventive import demo as preventive
    from mederi.interop import demo as labs
    from mederi.patients import demo as patients
    from mederi.portal import demo as portal
    from mederi.scheduling import demo as schedule
    from mederi.scheduling.reminders import demo as reminders

    def registration(today):
        return f"registration demo: {patients.load_demo(today)} new records (guarantor, secondary coverage, consents)"

    def reminder_rules(today):
        return "reminder rules: " + ", ".join(rule.name for rule in reminders.load_demo(today))

    def questionnaire(today):
        return f"pre-visit questionnaire: Questionnaire/{portal.load_demo(today)}"

    return [registration, billing.load_demo, schedule.load_demo, reminder_rules, questionnaire, labs.load_demo,
            notes.load_demo, prescribing.load_demo, charts.load_demo, preventive.load_demo,
            denial_risk.load_history, claims.load_demo, acknowledgements.load_demo, remittance.load_demo, patient_billing.load_demo,
            denial_risk.load_demo, agent.load_demo, scribe.load_demo]
