from django.shortcuts import render

from mederi.web import selectors


def home(request):
    return render(request, "web/home.html", {"counts": selectors.record_counts()})


def ping(request):
    """A trivial JSON answer with no database access: the ceiling the benchmarks compare against."""
    from django.http import JsonResponse

    return JsonResponse({"ok": True})
