"""The charge screen: a signed visit's lines (procedure, modifiers, units, place of service, diagnosis
pointers) reviewed with their fee-schedule prices, then made into a claim; and the code typeahead."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.html import format_html_join

from mederi.accounts.context import context_for_request
from mederi.accounts.decorators import staff_page
from mederi.ai import selectors as coding_suggestions
from mederi.billing.claims import codes, fees, icd10
from mederi.billing.claims import selectors as claim_selectors
from mederi.billing.claims.charges import primary_coverage, ref_id
from mederi.billing.claims.workflow import Row, bill_visit, charge_lines, check_diagnoses, visit_for
from mederi.core.errors import Forbidden, Gone, MederiError, NotFound
from mederi.fhir.repository import Repository

MAX_ROWS = 30
DIAGNOSIS_SLOTS = 12
MODIFIER_SLOTS = POINTER_SLOTS = 4


def _rows(post) -> list[Row]:
    try:
        count = max(1, min(int(post.get("rows") or 1), MAX_ROWS))
    except ValueError:
        count = 1
    return [Row(post.get(f"code_{i}", "").strip().upper(),
                [post.get(f"mod_{i}_{k}", "").strip().upper() for k in range(1, MODIFIER_SLOTS + 1)],
                post.get(f"units_{i}", "1").strip() or "1", post.get(f"pos_{i}", "11"),
                [post.get(f"ptr_{i}_{k}", "") for k in range(1, POINTER_SLOTS + 1)]) for i in range(count)]


def _errors(error: MederiError | None) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for issue in error.issues if error else ():
        found.setdefault(issue.expression or "", []).append(issue.diagnostics)
    return found


def _payer_of(repository: Repository, patient_id: str) -> str:
    coverage = primary_coverage(repository, patient_id)
    return ref_id(((coverage or {}).get("payor") or [{}])[0], "Organization")


def _page(request, encounter_id: str, diagnoses: list[str], rows: list[Row], error: MederiError | None = None,
          review: bool = False, status: int = 200):
    context = context_for_request(request)
    try:
        visit = claim_selectors.visit(context, encounter_id)
    except (NotFound, Gone):
        raise Http404("no such visit") from None
    errors = _errors(error)
    payer_id = _payer_of(Repository(context), visit.patient["id"])
    dx = []
    for number, code in enumerate(diagnoses, start=1):
        choices = []
        if code.strip():
            try:
                icd10.billable(code)
            except icd10.DiagnosisError as problem:
                choices = problem.choices
        dx.append({"number": number, "code": code, "description": claim_selectors.icd_description(icd10.dotted(code))
                   if code.strip() else "", "errors": errors.get(f"diagnosis[{number}]", []), "choices": choices})
    lines, total = [], Decimal("0")
    for index, row in enumerate(rows):
        line = {"index": index, "row": row, "errors": {k.split(".", 1)[1]: v for k, v in errors.items()
                                                       if k.startswith(f"row[{index}].")}}
        if review and row.code and codes.code_kind_or_none(row.code):
            try:
                modifiers = codes.normalize_modifiers(row.modifiers)
                units = Decimal(row.units)
            except (codes.CodeError, ArithmeticError):
                modifiers, units = None, None
            price = fees.price_for(payer_id, row.code, modifiers) if modifiers is not None else None
            line["description"] = fees.describe(row.code)
            if price is not None and units is not None and units.is_finite():
                line["price"], line["total"] = price, (price * units).quantize(Decimal("0.01"))
                total += line["total"]
        lines.append(line)
    other = {k: v for k, v in errors.items() if not k.startswith(("row[", "diagnosis["))}
    return render(request, "billing/charges.html", {
        "visit": visit, "patient_name": claim_selectors.person_name(visit.patient),
        "provider_name": claim_selectors.person_name(visit.provider) if visit.provider else "",
        "diagnoses": dx, "lines": lines, "rows": len(rows), "review": review, "total": total,
        "other_errors": [m for messages in other.values() for m in messages], "has_errors": bool(errors),
        "places": codes.PLACES_OF_SERVICE, "modifier_slots": range(MODIFIER_SLOTS),
        "pointer_slots": range(POINTER_SLOTS),
    }, status=status)


@staff_page("financial.write", "clinical.read")
def charges(request, encounter_id: str):
    """GET: the visit's diagnoses and an empty line. POST: add a line, pick a billable code, review, or
    create the claim (nothing is stored until then, and nothing at all when any field is wrong)."""
    if request.method != "POST":
        context = context_for_request(request)
        try:
            visit = claim_selectors.visit(context, encounter_id)
        except (NotFound, Gone):
            raise Http404("no such visit") from None
        diagnoses = (visit.diagnoses + [""] * DIAGNOSIS_SLOTS)[:DIAGNOSIS_SLOTS]
        first = [str(n) for n in range(1, min(len(visit.diagnoses), POINTER_SLOTS) + 1)]
        pointers = first + [""] * (POINTER_SLOTS - len(first))
        # The visit level and procedures a person accepted from the coding suggestions start the lines.
        accepted = coding_suggestions.accepted_codes(encounter_id, "visit-level")[:1] + \
            coding_suggestions.accepted_codes(encounter_id, "procedure")
        rows = [Row(code, pointers=list(pointers)) for code in accepted[:MAX_ROWS]] or [Row(pointers=pointers)]
        return _page(request, encounter_id, diagnoses, rows, review=bool(accepted))
    diagnoses = [request.POST.get(f"dx_{n}", "").strip().upper() for n in range(1, DIAGNOSIS_SLOTS + 1)]
    rows = _rows(request.POST)
    action = request.POST.get("action", "review")
    if request.POST.get("pick"):  # a billable code chosen for a header: "3:E11.9"
        number, _, code = request.POST["pick"].partition(":")
        if number.isdigit() and 1 <= int(number) <= DIAGNOSIS_SLOTS:
            diagnoses[int(number) - 1] = code
        action = "review"
    if action == "add":
        rows.append(Row(pointers=[rows[-1].pointers[0] if rows else "1", "", "", ""]))
        return _page(request, encounter_id, diagnoses, rows[:MAX_ROWS], review=True)
    if action == "create":
        try:
            claim_id = bill_visit(context_for_request(request), encounter_id, diagnoses, rows)
        except Forbidden:
            raise
        except MederiError as error:
            return _page(request, encounter_id, diagnoses, rows, error, review=True, status=400)
        return redirect("billing:claim", claim_id=claim_id)
    checked, issues = check_diagnoses(diagnoses)
    issues += charge_lines(rows, checked)[2]
    error = MederiError(issues=issues) if issues else None
    return _page(request, encounter_id, diagnoses, rows, error, review=True, status=400 if error else 200)


@staff_page("financial.write", "clinical.read")
def charges_start(request):
    """Charges without a signed note: choose the patient, the day and who performed the service."""
    context = context_for_request(request)
    repository = Repository(context)
    providers = sorted(((s.logical_id, claim_selectors.person_name(s.as_dict()))
                        for s in repository.search("Practitioner", [("_count", "200")]).matches), key=lambda p: p[1])
    values, errors, status = request.POST if request.method == "POST" else {}, {}, 200
    if request.method == "POST":
        try:
            day = dt.date.fromisoformat(values.get("day", ""))
        except ValueError:
            errors["day"] = ["Enter the date of service (YYYY-MM-DD)."]
        patient_id = values.get("patient", "").strip()
        if patient_id and not repository.search("Patient", [("_id", patient_id)]).matches:
            errors["patient"] = ["No patient has that id: choose from the names offered as you type."]
        if not errors:
            try:
                return redirect("billing:charges", encounter_id=visit_for(context, patient_id, day,
                                                                          values.get("provider", "")))
            except Forbidden:
                raise
            except MederiError as error:
                errors = _errors(error)
        status = 400
    return render(request, "billing/charges_start.html", {"providers": providers, "values": values, "errors": errors},
                  status=status)


def _options(pairs) -> HttpResponse:
    return HttpResponse(format_html_join("", '<option value="{}">{} {}</option>', ((c, c, d) for c, d in pairs)))


@staff_page("financial.read")
def procedure_options(request):
    """Datalist options for the procedure field being typed (htmx sends the field's own value)."""
    text = next((v for k, v in request.GET.items() if k.startswith("code") or k == "q"), "")
    return _options(claim_selectors.search_procedures(text))


@staff_page("financial.read")
def diagnosis_options(request):
    text = next((v for k, v in request.GET.items() if k.startswith(("dx", "code")) or k == "q"), "")
    return _options(claim_selectors.search_diagnoses(text))


@staff_page("financial.read", "demographics.read")
def patient_options(request):
    text = request.GET.get("patient_name", "").strip()
    if len(text) < 2:
        return HttpResponse("")
    found = Repository(context_for_request(request)).search("Patient", [("name", text), ("_count", "15")]).matches
    return _options((s.logical_id, f"{claim_selectors.person_name(s.as_dict())}, born {s.as_dict().get('birthDate', '?')}")
                    for s in found)
