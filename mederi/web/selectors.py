from django.db.models import Count

from mederi.fhir.models import Resource


def record_counts() -> list[tuple[str, int]]:
    """How many current resources of each type the record holds, most first."""
    rows = (
        Resource.objects.filter(deleted=False)
        .values("resource_type")
        .annotate(n=Count("pk"))
        .order_by("-n", "resource_type")
    )
    return [(row["resource_type"], row["n"]) for row in rows]
