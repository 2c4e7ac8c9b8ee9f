from django.shortcuts import render

from mederi.web import selectors


def home(request):
    return render(request, "web/home.html", {"counts": selectors.record_counts()})
