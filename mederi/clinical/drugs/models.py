"""The drug catalogue: RxNorm concepts a prescriber can pick (an operational code table, not
patient data). A starter list ships with the code; `mederi rxnorm-import` loads the full set."""

from django.db import models


class DrugConcept(models.Model):
    STARTER = "starter"  # the list shipped in mederi/clinical/knowledge/
    RXNORM = "rxnorm"  # loaded from a practice's RxNorm release files

    rxcui = models.CharField(max_length=12, unique=True)
    name = models.TextField()
    # `name` normalised (lower case, no accents), cut to what an index holds: prefix search runs on it.
    search_name = models.CharField(max_length=255)
    term_type = models.CharField(max_length=8)  # RxNorm TTY: IN, PIN, MIN, BN, SCD, SBD, GPCK, BPCK
    ingredients = models.TextField(blank=True, default="")  # ingredient RxCUIs, space-separated
    dose_form = models.CharField(max_length=200, blank=True, default="")
    strength = models.CharField(max_length=400, blank=True, default="")
    source = models.CharField(max_length=16, default=STARTER)

    class Meta:
        db_table = "drugs_concept"
        indexes = [
            # varchar_pattern_ops lets PostgreSQL answer LIKE 'abc%' from the index in any collation;
            # other databases ignore the operator class (SQLite is asked with a range instead).
            models.Index(fields=["search_name"], name="drugs_concept_search",
                         opclasses=["varchar_pattern_ops"]),
        ]

    def __str__(self) -> str:
        return f"{self.name} (RxCUI {self.rxcui}, {self.term_type})"

    @property
    def ingredient_rxcuis(self) -> list[str]:
        return self.ingredients.split()
