"""CDS Hooks order-sign time: a patient on 10 drugs (with an allergy) is prescribed one more.

    .venv/bin/python benchmarks/bench_cds.py                      # SQLite: var/bench/cds/
    .venv/bin/python benchmarks/bench_cds.py --postgres postgres://postgres@127.0.0.1:5432/cds_bench
    .venv/bin/python benchmarks/bench_cds.py --runs 50

Each run is `POST /cds-services/drug-order-sign` through Django's test client (middleware, bearer
token, JSON) as a physician, timed twice: without prefetch (the service reads the medications,
statements and allergies through the repository, authorized and audited) and with the client's
prefetch. The new draft interacts with one drug on the list, so one card comes back; each run is
a new visit, so no card is held back. Results go to var/bench/cds-<engine>.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_DIR, fresh_database, machine, staff_user, summary_ms, timed  # noqa: E402

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ON_THE_LIST = [("855332", "warfarin sodium 5 MG Oral Tablet"), ("314076", "lisinopril 10 MG Oral Tablet"),
               ("197361", "amlodipine 5 MG Oral Tablet"), ("860975", "24 HR metformin 500 MG ER Oral Tablet"),
               ("312961", "simvastatin 20 MG Oral Tablet"), ("866924", "metoprolol tartrate 25 MG Oral Tablet"),
               ("310798", "hydrochlorothiazide 25 MG Oral Tablet"), ("40790", "pantoprazole"),
               ("36437", "sertraline"), ("10582", "levothyroxine")]
NEW_DRUG = ("310965", "ibuprofen 200 MG Oral Tablet")  # interacts with warfarin (and sertraline)


def medication(code: str, display: str, status: str = "active", **extra) -> dict:
    return {"resourceType": "MedicationRequest", "status": status, "intent": "order",
            "subject": {"reference": "Patient/bench-cds"},
            "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": code, "display": display}]}, **extra}


def setup_chart():
    from mederi.core.context import Context
    from mederi.fhir.repository import Repository

    repo = Repository(Context.system("benchmark"))
    repo.update("Patient", "bench-cds", {"resourceType": "Patient", "id": "bench-cds", "name": [{"family": "Bench"}]})
    for index, (code, display) in enumerate(ON_THE_LIST):
        repo.update("MedicationRequest", f"bench-cds-{index}", {**medication(code, display), "id": f"bench-cds-{index}"})
    repo.update("AllergyIntolerance", "bench-cds-allergy", {
        "resourceType": "AllergyIntolerance", "id": "bench-cds-allergy", "patient": {"reference": "Patient/bench-cds"},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "764146007", "display": "Penicillin"}]}})
    bundle = lambda resources: {"resourceType": "Bundle", "type": "searchset",  # noqa: E731
                                "entry": [{"resource": r} for r in resources]}
    prefetch = {"patient": repo.read("Patient", "bench-cds").as_dict(),
                "medications": bundle([repo.read("MedicationRequest", f"bench-cds-{i}").as_dict()
                                       for i in range(len(ON_THE_LIST))]),
                "statements": bundle([]),
                "allergies": bundle([repo.read("AllergyIntolerance", "bench-cds-allergy").as_dict()])}
    return prefetch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="PostgreSQL URL (recreated); SQLite under var/bench/cds/ otherwise")
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    engine = fresh_database("cds", args.postgres)
    from django.test import Client

    from mederi.accounts import services as accounts

    user = staff_user("bench-physician", "Bench Physician", role="physician")
    from oauth2_provider.models import Application

    app, _ = Application.objects.get_or_create(name="CDS bench", defaults={
        "client_type": Application.CLIENT_PUBLIC, "authorization_grant_type": Application.GRANT_AUTHORIZATION_CODE,
        "redirect_uris": "http://127.0.0.1:9/callback", "client_secret": ""})
    token = accounts.issue_access_token(user, app, "user/*.cruds")
    prefetch = setup_chart()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    def order_sign(with_prefetch: bool):
        def call(index: int) -> None:
            body = {"hookInstance": str(uuid.uuid4()), "hook": "order-sign",
                    "context": {"userId": "Practitioner/bench", "patientId": "bench-cds",
                                "encounterId": f"visit-{uuid.uuid4()}",
                                "draftOrders": {"resourceType": "Bundle", "type": "collection",
                                                "entry": [{"resource": medication(*NEW_DRUG, status="draft",
                                                                                  id="draft-1")}]}}}
            if with_prefetch:
                body["prefetch"] = prefetch
            response = client.post("/cds-services/drug-order-sign", body, content_type="application/json")
            assert response.status_code == 200 and response.json()["cards"], response.content
        return call

    results = {"machine": machine(), "engine": engine, "drugs_on_the_list": len(ON_THE_LIST)}
    for label, with_prefetch in (("without_prefetch", False), ("with_prefetch", True)):
        wall, cpu = timed(order_sign(with_prefetch), args.runs, warmup=5)
        results[label] = {"wall": summary_ms(wall), "cpu": summary_ms(cpu)}
        print(f"{engine} order-sign {label}: median {results[label]['wall']['median_ms']} ms, "
              f"p95 {results[label]['wall']['p95_ms']} ms over {args.runs} runs")
    out = BENCH_DIR / f"cds-{engine}.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
