"""The gate in front of every staff page: signed in, and holding the permission the page needs
where the person works now. Anyone else gets a page that says what is missing (403)."""

from __future__ import annotations

import functools

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from mederi.accounts.context import permissions_for_request
from mederi.accounts.permissions import all_permissions


def forbidden_page(request, *missing):
    """The 403 page naming what was missing: permissions' names, or the refusal a service raised."""
    return render(request, "web/forbidden.html", {"missing": [str(m) for m in missing]}, status=403)


def staff_page(*permissions: str):
    """`@staff_page("scheduling.write")`: every listed permission is needed."""

    def decorate(view):
        @login_required
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            held = permissions_for_request(request)
            missing = [code for code in permissions if code not in held]
            if missing:
                names = all_permissions()
                return forbidden_page(request, *(names.get(code, code) for code in missing))
            return view(request, *args, **kwargs)

        return wrapped

    return decorate
