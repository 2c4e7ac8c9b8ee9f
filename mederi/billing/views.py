from django.shortcuts import render

from mederi.accounts.decorators import staff_page


@staff_page("insurance.read")
def payer_list(request):
    return render(request, "billing/payers.html")
