"""Pages of the practice directory: locations with their rooms, and providers. Thin, as the other
scheduling pages: forms read input, `directory` services write through the repository and say
what is wrong with which field."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from mederi.accounts.context import context_for_request
from mederi.core.errors import Forbidden, MederiError, NotFound
from mederi.fhir.repository import Repository
from mederi.scheduling import directory, forms, selectors
from mederi.scheduling.directory_forms import LocationForm, ProviderForm, RoomForm
from mederi.scheduling.views import _refused, scheduling_page


@scheduling_page("directory.read")
def index(request):
    """Every location (with its rooms) and every provider, with links to change them."""
    context = context_for_request(request)
    return render(request, "scheduling/directory/index.html", {
        "locations": directory.location_list(context), "providers": directory.provider_list(context),
        "can_edit": "directory.write" in context.permissions, "practice_zone": directory.time_zone_label("")})


# -- locations and rooms ---------------------------------------------------------------------------------


def _location_page(request, form: LocationForm, location_id: str | None, *, room_form: RoomForm | None = None,
                   room_problems: dict | None = None, status: int = 200):
    rooms = directory.rooms_of(location_id, context=context_for_request(request)) if location_id else []
    problems = room_problems or {}
    rows = [{"room": room, "typed": problems.get(room.id, {}).get("typed", room.name),
             "problem": problems.get(room.id, {}).get("message", "")} for room in rooms]
    return render(request, "scheduling/directory/location.html", {
        "form": form, "location_id": location_id, "rooms": rows, "room_form": room_form or RoomForm()},
        status=status)


def _read_location(request, location_id: str):
    try:
        return directory.location(context_for_request(request), location_id)
    except NotFound as error:
        raise Http404(str(error)) from None


@scheduling_page("directory.write")
@require_http_methods(["GET", "POST"])
def location_new(request):
    return _location_form(request, None)


@scheduling_page("directory.write")
@require_http_methods(["GET", "POST"])
def location_edit(request, location_id: str):
    return _location_form(request, location_id)


def _location_form(request, location_id: str | None):
    details = _read_location(request, location_id)[0] if location_id else None
    if request.method != "POST":
        initial = LocationForm.initial_for(details) if details else None
        return _location_page(request, LocationForm(initial=initial), location_id)
    form = LocationForm(request.POST, repository=Repository(context_for_request(request)), location_id=location_id)
    if not form.is_valid():
        return _location_page(request, form, location_id, status=400)
    try:
        saved_id = directory.save_location(context_for_request(request), form.details(), location_id=location_id)
    except Forbidden as error:
        return _refused(request, error)
    except MederiError as error:
        forms.add_service_error(form, error)
        return _location_page(request, form, location_id, status=400)
    messages.success(request, f"Saved {form.cleaned_data['name']}." + (
        "" if location_id else " Add its rooms below, if it has any."))
    return redirect("scheduling:directory-location", location_id=saved_id)


@scheduling_page("directory.write")
@require_POST
def room_add(request, location_id: str):
    details, _ = _read_location(request, location_id)
    room_form = RoomForm(request.POST)
    if room_form.is_valid():
        try:
            directory.add_room(context_for_request(request), location_id, room_form.cleaned_data["room_name"])
        except Forbidden as error:
            return _refused(request, error)
        except MederiError as error:
            forms.add_service_error(room_form, error)
        else:
            messages.success(request, f"Added the room {room_form.cleaned_data['room_name'].strip()}.")
            return redirect("scheduling:directory-location", location_id=location_id)
    return _location_page(request, LocationForm(initial=LocationForm.initial_for(details)), location_id,
                          room_form=room_form, status=400)


@scheduling_page("directory.write")
@require_POST
def room_edit(request, room_id: str):
    """Rename a room (action=rename), or take it out of use and back (deactivate, activate)."""
    context = context_for_request(request)
    action = request.POST.get("action", "rename")
    if action not in ("rename", "deactivate", "activate"):
        raise Http404(f"'{action}' is not something to do with a room")
    location_id = request.POST.get("location_id", "")
    rooms = {room.id: room for room in directory.rooms_of(location_id, context=context)} if location_id else {}
    room = rooms.get(room_id)
    if room is None:
        raise Http404(f"There is no room '{room_id}' at this location.")
    name = request.POST.get("name", "") if action == "rename" else room.name
    active = {"rename": room.active, "deactivate": False, "activate": True}[action]
    try:
        directory.save_room(context, room_id, name=name, active=active)
    except Forbidden as error:
        return _refused(request, error)
    except NotFound as error:
        raise Http404(str(error)) from None
    except MederiError as error:
        details, _ = _read_location(request, location_id)
        problem = {room_id: {"message": error.issues[0].diagnostics, "typed": name}}
        return _location_page(request, LocationForm(initial=LocationForm.initial_for(details)), location_id,
                              room_problems=problem, status=400)
    done = {"rename": f"Renamed the room to {name.strip()}.", "deactivate": f"{room.name} is out of use: it is no "
            "longer offered for booking.", "activate": f"{room.name} is in use again."}[action]
    messages.success(request, done)
    return redirect("scheduling:directory-location", location_id=location_id)


# -- providers ----------------------------------------------------------------------------------------------


def _provider_page(request, form: ProviderForm, practitioner_id: str | None, status: int = 200):
    return render(request, "scheduling/directory/provider.html", {
        "form": form, "practitioner_id": practitioner_id,
        "hours_link": f"{reverse('scheduling:templates')}?practitioner={practitioner_id}" if practitioner_id else ""},
        status=status)


def _location_choices(current_ids=()) -> list[tuple[str, str]]:
    """Active locations, and any inactive one the provider still works at (so it can be unticked)."""
    choices = selectors.bookable_locations()
    offered = {key for key, _ in choices}
    names = dict(selectors.locations())
    return choices + [(key, f"{names[key]} (inactive)") for key in current_ids if key in names and key not in offered]


@scheduling_page("directory.write")
@require_http_methods(["GET", "POST"])
def provider_new(request):
    return _provider_form(request, None)


@scheduling_page("directory.write")
@require_http_methods(["GET", "POST"])
def provider_edit(request, practitioner_id: str):
    return _provider_form(request, practitioner_id)


def _provider_form(request, practitioner_id: str | None):
    context = context_for_request(request)
    current = None
    if practitioner_id:
        try:
            current = directory.provider(context, practitioner_id)
        except NotFound as error:
            raise Http404(str(error)) from None
    choices = _location_choices(current.location_ids if current else ())
    if request.method != "POST":
        return _provider_page(request, ProviderForm(initial=vars(current) if current else None, locations=choices),
                              practitioner_id)
    form = ProviderForm(request.POST, locations=choices, repository=Repository(context), practitioner_id=practitioner_id,
                        current_locations=current.location_ids if current else ())
    if not form.is_valid():
        return _provider_page(request, form, practitioner_id, status=400)
    try:
        saved_id = directory.save_provider(context, form.details(), practitioner_id=practitioner_id)
    except Forbidden as error:
        return _refused(request, error)
    except MederiError as error:
        forms.add_service_error(form, error)
        return _provider_page(request, form, practitioner_id, status=400)
    name = " ".join(form.cleaned_data[part].strip() for part in ("prefix", "given", "family") if form.cleaned_data[part])
    messages.success(request, f"Saved {name}.")
    return redirect(f"{reverse('scheduling:directory')}#provider-{saved_id}")
