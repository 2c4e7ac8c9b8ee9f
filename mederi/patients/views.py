from django.shortcuts import render

from mederi.accounts.decorators import staff_page


@staff_page("demographics.read")
def search_page(request):
    return render(request, "patients/search.html")
