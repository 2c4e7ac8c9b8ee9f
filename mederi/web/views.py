from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render

from mederi.accounts.selectors import role_names
from mederi.web import selectors


@login_required
def home(request):
    return render(request, "web/home.html", {"counts": selectors.record_counts(), "roles": role_names(request.user)})


def ping(request):
    """A trivial JSON answer with no database access: the ceiling the benchmarks compare against."""
    return JsonResponse({"ok": True})
