"""Pages of scheduling: calendars, booking, finding a slot, an appointment and its actions, the
waitlist, and the availability templates. Thin: forms read input, services write, selectors read
and audit. Every form works without JavaScript; htmx only makes lookups happen as one types.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from mederi.accounts.context import context_for_request, permissions_for_request
from mederi.accounts.decorators import forbidden_page, staff_page
from mederi.audit import services as audit
from mederi.core import clock
from mederi.core.errors import Forbidden, Gone, MederiError, NotFound
from mederi.fhir.repository import Repository
from mederi.scheduling import availability, calendar, forms, practice_time, records, selectors, services
from mederi.scheduling.errors import BookingError, NotPermitted, SlotTaken
from mederi.scheduling.models import Break, Holiday, OverbookRule, ScheduleException, WaitlistEntry, WeeklyHours


def scheduling_page(*permissions: str):
    """`staff_page` with dates and times shown on the practice's clock (templates format them)."""

    def decorate(view):
        gated = staff_page(*permissions)(view)

        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            with timezone.override(practice_time.zone()):  # pages are rendered inside the view
                return gated(request, *args, **kwargs)

        return wrapped

    return decorate


def _refused(request, error: MederiError):
    """A refusal that is not about a form field: not allowed, gone, or not found."""
    status = error.status if error.status in (403, 404, 409, 410) else 400
    if status == 403:
        return forbidden_page(request, error)
    return render(request, "scheduling/problem.html", {"error": error}, status=status)


def _day_from(request, name: str = "date") -> tuple[date, str]:
    """The day asked for (?date=2026-03-02), today when absent; a message when it is no date."""
    raw = request.GET.get(name, "").strip()
    if not raw:
        return practice_time.today(), ""
    try:
        return date.fromisoformat(raw), ""
    except ValueError:
        return practice_time.today(), f"'{raw}' is not a date; showing today instead."


def _nav(request, day: date, step: int, extra: dict | None = None) -> dict:
    def link(target: date) -> str:
        return f"{request.path}?{urlencode({**(extra or {}), 'date': target.isoformat()})}"

    return {"prev": link(day - timedelta(days=step)), "next": link(day + timedelta(days=step)),
            "today": link(practice_time.today()), "day": day, "day_text": practice_time.day_text(day)}


def _can_book(request) -> bool:
    held = getattr(request, "_scheduling_permissions", None)
    if held is None:  # worked out once per request: it reads the person's roles
        held = request._scheduling_permissions = permissions_for_request(request)
    return "scheduling.write" in held


def _find_link(location_id: str | None = None, practitioner_id: str | None = None, patient_id: str | None = None) -> str:
    query = {k: v for k, v in (("location_id", location_id), ("practitioner_id", practitioner_id),
                               ("patient", patient_id)) if v}
    return f"{reverse('scheduling:find')}?{urlencode(query)}" if query else reverse("scheduling:find")


# -- calendars -------------------------------------------------------------------------------------------


@scheduling_page("scheduling.read")
def day_calendar(request):
    """A location's day: one column per provider."""
    context = context_for_request(request)
    places = selectors.locations()
    names = dict(places)
    location_id = request.GET.get("location") or context.location_id or (places[0][0] if places else "")
    problem = ""
    if location_id not in names:
        problem = f"There is no location '{location_id}'." if location_id else "The practice has no locations yet."
        location_id = places[0][0] if places else ""
    day, bad_date = _day_from(request)
    schedule = selectors.day_calendar(context, location_id, day) if location_id else None
    rows = calendar.layout(schedule.columns, bookable=_can_book(request)) if schedule and schedule.columns else []
    return render(request, "scheduling/day.html", {
        "calendar": schedule, "body": calendar.body_html(rows),
        "withdrawn_link": f"{reverse('scheduling:withdrawn')}?{urlencode({'location': location_id, 'date': day})}", "places": places, "location_id": location_id,
        "location_name": names.get(location_id, ""), "nav": _nav(request, day, 1, {"location": location_id}),
        "week_link": f"{reverse('scheduling:week')}?{urlencode({'location': location_id, 'date': day.isoformat()})}",
        "find_link": _find_link(location_id=location_id), "problem": problem or bad_date,
        "can_book": _can_book(request)})


@scheduling_page("scheduling.read")
def provider_day(request, practitioner_id: str):
    return _provider_page(request, practitioner_id, week=False)


@scheduling_page("scheduling.read")
def provider_week(request, practitioner_id: str):
    return _provider_page(request, practitioner_id, week=True)


def _provider_page(request, practitioner_id: str, *, week: bool):
    context = context_for_request(request)
    if practitioner_id not in selectors.practitioner_names([practitioner_id]):
        raise Http404(f"There is no provider '{practitioner_id}'.")
    day, bad_date = _day_from(request)
    days = selectors.week_of(day) if week else [day]
    schedule = selectors.provider_calendar(context, practitioner_id, days)
    rows = calendar.layout(schedule.columns, bookable=_can_book(request)) if schedule.columns else []
    other = "scheduling:provider-day" if week else "scheduling:provider-week"
    return render(request, "scheduling/provider.html", {
        "calendar": schedule, "body": calendar.body_html(rows), "week": week,
        "withdrawn_link": "" if week else
        f"{reverse('scheduling:withdrawn')}?{urlencode({'practitioner': practitioner_id, 'date': day})}", "nav": _nav(request, day, 7 if week else 1),
        "switch_link": f"{reverse(other, args=[practitioner_id])}?date={day.isoformat()}",
        "find_link": _find_link(practitioner_id=practitioner_id), "problem": bad_date,
        "providers": selectors.practitioners(), "practitioner_id": practitioner_id, "can_book": _can_book(request)})


@scheduling_page("scheduling.read")
def location_week(request):
    context = context_for_request(request)
    places = selectors.locations()
    names = dict(places)
    location_id = request.GET.get("location") or context.location_id or (places[0][0] if places else "")
    if location_id not in names:
        raise Http404(f"There is no location '{location_id}'.")
    day, bad_date = _day_from(request)
    days, week_rows = selectors.location_week(context, location_id, day)
    day_links = [(d, practice_time.day_text(d),
                  f"{reverse('scheduling:day')}?{urlencode({'location': location_id, 'date': d.isoformat()})}")
                 for d in days]
    return render(request, "scheduling/week_location.html", {
        "days": day_links, "rows": week_rows, "places": places, "location_id": location_id,
        "location_name": names[location_id], "nav": _nav(request, day, 7, {"location": location_id}),
        "find_link": _find_link(location_id=location_id), "problem": bad_date,
        "day_link": f"{reverse('scheduling:day')}?{urlencode({'location': location_id, 'date': day.isoformat()})}"})


@scheduling_page("scheduling.read")
def withdrawn(request):
    """The cancelled appointments of a day, at a location or of a provider (left out of the grid)."""
    context = context_for_request(request)
    day, bad_date = _day_from(request)
    location_id = request.GET.get("location") or None
    practitioner_id = request.GET.get("practitioner") or None
    if not (location_id or practitioner_id):
        raise Http404("Say which location or provider (?location= or ?practitioner=).")
    blocks = selectors.withdrawn(context, day, location_id=location_id, practitioner_id=practitioner_id)
    where = (dict(selectors.locations()).get(location_id, location_id) if location_id
             else selectors.practitioner_names([practitioner_id]).get(practitioner_id, practitioner_id))
    back = (f"{reverse('scheduling:day')}?{urlencode({'location': location_id, 'date': day})}" if location_id
            else f"{reverse('scheduling:provider-day', args=[practitioner_id])}?date={day}")
    return render(request, "scheduling/withdrawn.html", {
        "items": calendar.hidden_html(blocks), "count": len(blocks), "where": where,
        "day_text": practice_time.day_text(day), "back": back, "problem": bad_date})


# -- booking ------------------------------------------------------------------------------------------------


def _patient_hits(context, text: str) -> list[tuple[str, str]]:
    """(id, label) of patients matching typed text: registration's typeahead when installed."""
    text = text.strip()
    if len(text) < 2:
        return []
    try:
        from mederi.patients.selectors import typeahead
    except ImportError:
        typeahead = None
    if typeahead is not None:
        hits = typeahead(context, text)
        return [(h.id, " · ".join(x for x in (h.display or h.name, h.birth_date, h.mrn) if x)) for h in hits]
    repo = Repository(context)
    found = repo.search("Patient", [("_id" if " " not in text and "-" in text else "name", text), ("_count", "10")])
    audit.record(context, "search", resource_type="Patient", resource_ids=[m.reference for m in found.matches],
                 query=f"ui: booking patient lookup {text}")
    return [(m.logical_id, " · ".join(x for x in (records.person_name(m.as_dict(), m.logical_id),
                                                   m.as_dict().get("birthDate")) if x)) for m in found.matches]


def _patient_label(context, patient_id: str) -> str:
    if not patient_id:
        return ""
    try:
        stored = Repository(context).read("Patient", patient_id)
    except MederiError:
        return patient_id
    resource = stored.as_dict()
    audit.record(context, "read", patient_id=patient_id, resource_type="Patient", resource_ids=[stored.reference],
                 query="ui: booking form patient")
    return " · ".join(x for x in (records.person_name(resource, patient_id), resource.get("birthDate")) if x)


@scheduling_page("scheduling.read", "demographics.read")
def patient_lookup(request):
    """htmx: patients matching the typed text, as radio buttons named patient_id."""
    context = context_for_request(request)
    text = request.GET.get("q", "")
    return render(request, "scheduling/_patient_choices.html", {
        "hits": _patient_hits(context, text), "searched": len(text.strip()) >= 2,
        "chosen": request.GET.get("patient_id", "")})


def _booking_choices(request) -> dict:
    """What may be booked: active providers with hours, active locations, bookable types."""
    return {"practitioners": selectors.practitioners(), "locations": selectors.bookable_locations(),
            "types": selectors.appointment_types()}


def _booking_initial(request) -> dict:
    initial = {"practitioner_id": request.GET.get("practitioner", ""), "location_id": request.GET.get("location", ""),
               "type_code": request.GET.get("type", ""), "patient_id": request.GET.get("patient", ""),
               "room_id": request.GET.get("room", "")}
    start = request.GET.get("start", "")
    try:
        moment = datetime.fromisoformat(start) if start else None
    except ValueError:
        moment = None
    if moment is not None:
        initial.update(date=moment.date(), time=moment.time().replace(second=0, microsecond=0))
    else:
        try:
            initial["date"] = date.fromisoformat(request.GET.get("date", ""))
        except ValueError:
            initial["date"] = practice_time.today()
    return initial


@scheduling_page("scheduling.write", "demographics.read")
@require_http_methods(["GET", "POST"])
def book(request):
    context = context_for_request(request)
    choices = _booking_choices(request)
    rooms = selectors.rooms_by_location()
    status = 200
    if request.method == "POST":
        form = forms.BookingForm(request.POST, **choices, rooms=rooms)
        if form.is_valid():
            data = form.cleaned_data
            try:
                if data.get("repeat") == "weekly":
                    ids = services.book_recurring(
                        context, data["patient_id"], data["practitioner_id"], data["location_id"], form.start,
                        data["type_code"], every_weeks=data.get("every_weeks") or 1, count=data.get("count"),
                        until=data.get("until"), overbook=data["overbook"], comment=data["comment"],
                        room_id=data["room_id"])
                    messages.success(request, f"Booked a series of {len(ids)} appointments.")
                    return redirect("scheduling:appointment", appointment_id=ids[0])
                appointment_id = services.book_appointment(
                    context, data["patient_id"], data["practitioner_id"], data["location_id"], form.start,
                    data["type_code"], overbook=data["overbook"], comment=data["comment"], room_id=data["room_id"])
                messages.success(request, "The appointment is booked.")
                return redirect("scheduling:appointment", appointment_id=appointment_id)
            except (NotPermitted, Forbidden) as error:
                return _refused(request, error)
            except MederiError as error:
                forms.add_service_error(form, error)
                status = 409 if isinstance(error, SlotTaken) else 400
        else:
            status = 400
        patient_id = request.POST.get("patient_id", "")
        query = request.POST.get("q", "")
    else:
        initial = _booking_initial(request)
        # The "Find patient" button sends the form itself by GET: keep what was filled in.
        initial.update({k: v for k, v in request.GET.items() if k in forms.BookingForm.base_fields and v})
        form = forms.BookingForm(initial=initial, **choices, rooms=rooms)
        patient_id = form.initial.get("patient_id", "")
        query = request.GET.get("q", "")
    return render(request, "scheduling/book.html", {
        "form": form, "query": query, "hits": _patient_hits(context, query) if query else [],
        "chosen": patient_id, "chosen_label": _patient_label(context, patient_id),
        "free": _free_times(context, form), "find_link": _find_link(patient_id=patient_id)}, status=status)


def _free_times(context, form) -> list[tuple[str, str]]:
    """(label, booking link) of the free times for the form's provider, location, day and type."""
    values = form.data if form.is_bound else form.initial
    practitioner_id, location_id = values.get("practitioner_id"), values.get("location_id")
    type_code = values.get("type_code")
    day = values.get("date")
    if isinstance(day, str):
        try:
            day = date.fromisoformat(day)
        except ValueError:
            return []
    if not (practitioner_id and location_id and type_code and isinstance(day, date)):
        return []
    try:
        slots = availability.free_slots(context, practitioner_id, location_id, day, type_code)
    except MederiError:
        return []
    keep = {"practitioner": practitioner_id, "location": location_id, "type": type_code,
            "patient": values.get("patient_id", "")}
    return [(practice_time.clock_text(s.start),
             f"{reverse('scheduling:book')}?{urlencode({**keep, 'start': s.local_start.strftime('%Y-%m-%dT%H:%M')})}")
            for s in slots]


@scheduling_page("scheduling.read")
def free_times(request):
    """htmx: the free times of the booking form's current choices, as links."""
    form = forms.BookingForm(request.GET, **_booking_choices(request))
    return render(request, "scheduling/_free_times.html", {"free": _free_times(context_for_request(request), form)})


@scheduling_page("scheduling.read")
def find(request):
    """Find the next available times across providers and locations, with filters."""
    context = context_for_request(request)
    choices = _booking_choices(request)
    slots, status = [], 200
    searched = "type_code" in request.GET
    if searched:
        form = forms.FindForm(request.GET, **choices)
        if form.is_valid():
            data = form.cleaned_data
            try:
                slots = availability.next_available(
                    context, practitioner_ids=[data["practitioner_id"]] if data["practitioner_id"] else None,
                    location_id=data["location_id"] or None, type_code=data["type_code"],
                    start_date=data["start_date"] or practice_time.today(), days=data["days"] or 60,
                    time_of_day=data["time_of_day"] or None, weekdays=[int(d) for d in data["weekdays"]] or None,
                    limit=20)
            except MederiError as error:
                forms.add_service_error(form, error)
                status = 400
        else:
            status = 400
    else:  # a first visit, perhaps with a provider or location chosen (the calendar's "n" key)
        form = forms.FindForm(initial={**request.GET.dict(), "days": 60, "start_date": practice_time.today()},
                              **choices)
    names = dict(choices["practitioners"])
    places = dict(choices["locations"])
    type_code = request.GET.get("type_code", "")
    results = [{
        "slot": s, "day": practice_time.day_text(s.local_start.date()), "time": practice_time.clock_text(s.start),
        "provider": names.get(s.practitioner_id, s.practitioner_id), "location": places.get(s.location_id, s.location_id),
        "book": f"{reverse('scheduling:book')}?" + urlencode({
            "practitioner": s.practitioner_id, "location": s.location_id, "type": type_code,
            "start": s.local_start.strftime("%Y-%m-%dT%H:%M"), "patient": request.GET.get("patient", "")}),
    } for s in slots]
    return render(request, "scheduling/find.html", {"form": form, "results": results, "searched": searched,
                                                    "can_book": _can_book(request)}, status=status)


# -- one appointment ------------------------------------------------------------------------------------------


def _detail_page(request, appointment_id: str, *, cancel_form=None, reschedule_form=None, problem="", status=200):
    context = context_for_request(request)
    try:
        detail = selectors.appointment_detail(context, appointment_id)
    except (NotFound, Gone) as error:
        raise Http404(str(error)) from error
    except BookingError as error:
        if error.status == 404:
            raise Http404(str(error)) from error
        return _refused(request, error)
    except MederiError as error:
        return _refused(request, error)
    choices = _booking_choices(request)
    view = detail.view
    if reschedule_form is None and view.start:
        local = view.local_start
        reschedule_form = forms.RescheduleForm(initial={"date": local.date(), "time": local.time(),
                                                        "room_id": view.room_id or ""},
                                               practitioners=choices["practitioners"], locations=choices["locations"],
                                               rooms=selectors.rooms_by_location())
    return render(request, "scheduling/appointment.html", {
        "detail": detail, "view": view, "labels": services.ACTION_LABELS,
        "reminders_url": _url_if_routed("reminders:appointment", view.id),
        "eligibility_urls": [url for url in (_url_if_routed("billing:eligibility", c) for c in detail.coverage_ids)
                             if url],
        "cancel_form": cancel_form or forms.CancelForm(), "reschedule_form": reschedule_form, "problem": problem,
        "can_book": _can_book(request), "patient_url": _url_if_routed("patients:detail", view.patient_id) if view.patient_id else "",
        "day_link": f"{reverse('scheduling:day')}?" + urlencode(
            {"location": view.location_id or "", "date": view.local_start.date().isoformat() if view.start else ""}),
    }, status=status)


def _url_if_routed(name: str, *args) -> str:
    """The URL of another app's partial, or "" where that app is not installed or routed."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


@scheduling_page("scheduling.read")
def appointment(request, appointment_id: str):
    return _detail_page(request, appointment_id)


@scheduling_page("scheduling.write")
@require_POST
def appointment_stage(request, appointment_id: str):
    action = request.POST.get("action", "")
    try:
        view = services.change_stage(context_for_request(request), appointment_id, action)
    except (NotPermitted, Forbidden) as error:
        return _refused(request, error)
    except MederiError as error:
        if error.status == 404:
            raise Http404(str(error)) from error
        return _detail_page(request, appointment_id, problem=str(error.issues[0].diagnostics), status=409)
    messages.success(request, f"{view.state_label}.")
    back = request.POST.get("next", "")
    if back.startswith(("/schedule/", "/clinical/queue/")):
        return redirect(back)
    return redirect("scheduling:appointment", appointment_id=appointment_id)


@scheduling_page("scheduling.write")
@require_POST
def appointment_cancel(request, appointment_id: str):
    form = forms.CancelForm(request.POST)
    if form.is_valid():
        before = clock.now()
        try:
            cancelled = services.cancel_appointment(context_for_request(request), appointment_id,
                                                    form.cleaned_data["reason_code"], form.cleaned_data["reason_text"],
                                                    scope=form.cleaned_data["scope"] or "one")
        except (NotPermitted, Forbidden) as error:
            return _refused(request, error)
        except MederiError as error:
            if error.status == 404:
                raise Http404(str(error)) from error
            forms.add_service_error(form, error)
        else:
            offered = WaitlistEntry.objects.filter(status=WaitlistEntry.OFFERED, offered_at__gte=before).exists()
            messages.success(request, f"Cancelled {len(cancelled)} appointment{'s' if len(cancelled) > 1 else ''}."
                             + (" The freed time was offered to a patient on the waitlist." if offered else ""))
            return redirect("scheduling:appointment", appointment_id=appointment_id)
    return _detail_page(request, appointment_id, cancel_form=form, status=400)


@scheduling_page("scheduling.write")
@require_POST
def appointment_reschedule(request, appointment_id: str):
    choices = _booking_choices(request)
    form = forms.RescheduleForm(request.POST, practitioners=choices["practitioners"], locations=choices["locations"],
                                rooms=selectors.rooms_by_location())
    if form.is_valid():
        data = form.cleaned_data
        try:
            moved = services.reschedule_appointment(
                context_for_request(request), appointment_id, form.start,
                practitioner_id=data["practitioner_id"] or None, location_id=data["location_id"] or None,
                scope=data["scope"] or "one", overbook=data["overbook"],
                room_id=data["room_id"] if "room_id" in request.POST else None)  # no field sent: keep the room
        except (NotPermitted, Forbidden) as error:
            return _refused(request, error)
        except MederiError as error:
            if error.status == 404:
                raise Http404(str(error)) from error
            forms.add_service_error(form, error)
            status = 409 if isinstance(error, SlotTaken) else 400
        else:
            messages.success(request, f"Moved {len(moved)} appointment{'s' if len(moved) > 1 else ''}.")
            return redirect("scheduling:appointment", appointment_id=appointment_id)
    else:
        status = 400
    return _detail_page(request, appointment_id, reschedule_form=form, status=status)


@scheduling_page("scheduling.read")
def patient_appointments(request, patient_id: str):
    """htmx partial for the patient page: the patient's appointments."""
    try:
        found = selectors.appointments_for_patient(context_for_request(request), patient_id)
    except (Forbidden, NotPermitted) as error:
        return HttpResponse(f'<p class="error" role="alert">{_escape(str(error))}</p>', status=403)
    return render(request, "scheduling/_patient_appointments.html", {
        "appointments": found, "patient_id": patient_id, "can_book": _can_book(request),
        "book_link": f"{reverse('scheduling:book')}?{urlencode({'patient': patient_id})}",
        "waitlist_link": f"{reverse('scheduling:waitlist')}?{urlencode({'patient': patient_id})}"})


def _escape(text: str) -> str:
    from django.utils.html import escape

    return escape(text)


# -- the waitlist --------------------------------------------------------------------------------------------


@scheduling_page("scheduling.read", "demographics.read")
@require_http_methods(["GET", "POST"])
def waitlist(request):
    context = context_for_request(request)
    choices = _booking_choices(request)
    status = 200
    if request.method == "POST":
        if not _can_book(request):
            return _refused(request, NotPermitted("adding to the waitlist needs the permission scheduling.write"))
        form = forms.WaitlistForm(request.POST, **choices)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.add_to_waitlist(context, data["patient_id"], data["type_code"], earliest=data["earliest"],
                                         latest=data["latest"], practitioner_id=data["practitioner_id"],
                                         location_id=data["location_id"], time_of_day=data["time_of_day"],
                                         weekdays=[int(d) for d in data["weekdays"]], note=data["note"])
            except MederiError as error:
                forms.add_service_error(form, error)
                status = 400
            else:
                messages.success(request, "Added to the waitlist.")
                return redirect("scheduling:waitlist")
        else:
            status = 400
        chosen = request.POST.get("patient_id", "")
        query = request.POST.get("q", "")
    else:
        chosen = request.GET.get("patient", "") or request.GET.get("patient_id", "")
        initial = {k: v for k, v in request.GET.items() if k in forms.WaitlistForm.base_fields and v}
        form = forms.WaitlistForm(initial={**initial, "patient_id": chosen}, **choices)
        query = request.GET.get("q", "")
    return render(request, "scheduling/waitlist.html", {
        "rows": selectors.waitlist(context), "form": form, "query": query, "chosen": chosen,
        "chosen_label": _patient_label(context, chosen), "hits": _patient_hits(context, query) if query else [],
        "can_book": _can_book(request)}, status=status)


@scheduling_page("scheduling.write")
@require_POST
def waitlist_action(request, entry_id: int, action: str):
    context = context_for_request(request)
    try:
        if action == "accept":
            appointment_id = services.accept_offer(context, entry_id)
            messages.success(request, "Booked from the waitlist.")
            return redirect("scheduling:appointment", appointment_id=appointment_id)
        if action == "decline":
            next_entry = services.decline_offer(context, entry_id)
            messages.success(request, "Offer declined." + (" The time was offered to the next patient."
                                                          if next_entry else ""))
        elif action == "remove":
            services.remove_from_waitlist(context, entry_id)
            messages.success(request, "Removed from the waitlist.")
        else:
            raise Http404(f"'{action}' is not something to do with a waitlist entry")
    except (NotPermitted, Forbidden) as error:
        return _refused(request, error)
    except MederiError as error:
        if error.status == 404:
            raise Http404(str(error)) from error
        messages.error(request, str(error.issues[0].diagnostics))
    return redirect("scheduling:waitlist")


# -- availability templates ---------------------------------------------------------------------------------


TEMPLATE_FORMS = {
    "hours": forms.WeeklyHoursForm, "break": forms.BreakForm, "exception": forms.ExceptionForm,
    "holiday": forms.HolidayForm, "type": forms.AppointmentTypeForm, "overbook": forms.OverbookForm,
}


def _template_forms(request, bound: str | None = None) -> dict:
    everyone = selectors.directory_practitioners()
    places = selectors.locations()
    chosen = {"practitioner_id": request.GET.get("practitioner", ""), "location_id": request.GET.get("location", "")}
    made = {}
    for name, form_class in TEMPLATE_FORMS.items():
        options = {}
        if name in ("hours", "break", "exception", "overbook"):
            options["practitioners"] = everyone
        if name in ("hours", "break", "exception", "holiday"):
            options["locations"] = places
        data = request.POST if bound == name else None
        initial = {k: v for k, v in chosen.items() if v and k in form_class.base_fields}
        made[name] = form_class(data, prefix=name, initial=initial, **options)
    return made


def _apply_template(context, name: str, data: dict):
    if name == "hours":
        return services.add_weekly_hours(context, data["practitioner_id"], data["location_id"], data["weekday"],
                                         data["start"], data["end"], valid_from=data["valid_from"],
                                         valid_to=data["valid_to"])
    if name == "break":
        return services.add_break(context, data["practitioner_id"], data["location_id"], data["weekday"],
                                  data["start"], data["end"], label=data["label"], valid_from=data["valid_from"],
                                  valid_to=data["valid_to"])
    if name == "exception":
        return services.add_exception(context, data["practitioner_id"], data["start"], data["end"], data["kind"],
                                      location_id=data["location_id"], reason=data["reason"])
    if name == "holiday":
        return services.add_holiday(context, data["date"], data["name"], location_id=data["location_id"])
    if name == "type":
        return services.save_appointment_type(context, data["code"], data["name"], data["minutes"], data["colour"],
                                              active=data["active"])
    return services.set_overbook_limit(context, data["practitioner_id"], data["max_overlapping"])


SAVED = {"hours": "Weekly hours added.", "break": "Break added.", "exception": "Exception added.",
         "holiday": "Holiday added.", "type": "Appointment type saved.", "overbook": "Overbooking limit saved."}


@scheduling_page("scheduling.write", "directory.read")
@require_http_methods(["GET", "POST"])
def templates_admin(request):
    """Weekly hours, breaks, exceptions, holidays, appointment types and overbooking limits."""
    context = context_for_request(request)
    bound = request.POST.get("form") if request.method == "POST" else None
    if bound is not None and bound not in TEMPLATE_FORMS:
        raise Http404(f"'{bound}' is not a form of this page")
    made = _template_forms(request, bound)
    status = 200
    if bound:
        form = made[bound]
        if form.is_valid():
            try:
                _apply_template(context, bound, form.cleaned_data)
            except (NotPermitted, Forbidden) as error:
                return _refused(request, error)
            except MederiError as error:
                forms.add_service_error(form, error)
                status = 400
            else:
                messages.success(request, SAVED[bound])
                return redirect(request.get_full_path())
        else:
            status = 400
    return render(request, "scheduling/templates_admin.html", {
        "forms": made, "bound": bound, **_template_tables(request)}, status=status)


def _template_tables(request) -> dict:
    names = dict(selectors.directory_practitioners())
    places = dict(selectors.locations())
    practitioner_id = request.GET.get("practitioner", "")
    location_id = request.GET.get("location", "")

    def rows(model):
        found = model.objects.all()
        if practitioner_id and hasattr(model, "practitioner_id"):
            found = found.filter(practitioner_id=practitioner_id)
        if location_id and hasattr(model, "location_id"):
            found = found.filter(location_id__in=[location_id, ""])
        listed = list(found[:500])
        for row in listed:  # names to show beside each row
            row.practitioner_name = names.get(getattr(row, "practitioner_id", ""), getattr(row, "practitioner_id", ""))
            row.location_name = places.get(row.location_id, row.location_id) if getattr(row, "location_id", "") \
                else "Every location"
        return listed

    today = practice_time.today()
    return {
        "hours": rows(WeeklyHours), "breaks": rows(Break),
        "exceptions": [e for e in rows(ScheduleException) if e.end >= practice_time.day_bounds(today)[0]],
        "holidays": [h for h in rows(Holiday) if h.date >= today], "types": selectors.appointment_types(True),
        "overbook": rows(OverbookRule), "names": names, "places": places,
        "filter_practitioner": practitioner_id, "filter_location": location_id,
        "filter_practitioners": list(names.items()), "filter_locations": list(places.items()),
    }


@scheduling_page("scheduling.write", "directory.read")
@require_POST
def template_remove(request, kind: str, row_id: int):
    try:
        services.remove_template(context_for_request(request), kind, row_id)
    except (NotPermitted, Forbidden) as error:
        return _refused(request, error)
    except MederiError as error:
        messages.error(request, str(error.issues[0].diagnostics))
    else:
        messages.success(request, "Removed.")
    back = request.POST.get("next", "")
    return redirect(back if back.startswith("/schedule/") else "scheduling:templates")
