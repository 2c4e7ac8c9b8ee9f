from django.shortcuts import render

from mederi.accounts.decorators import staff_page


@staff_page("scheduling.read")
def day_calendar(request):
    return render(request, "scheduling/day.html")
