"""The shipped specialty templates are in the record after migrate, and each can be filled in."""

from __future__ import annotations

import pytest

from mederi.clinical.notes import catalogue
from mederi.core.context import Context

pytestmark = pytest.mark.django_db


def test_six_specialty_templates_are_there_after_migrate():
    titles = [t.title for t in catalogue.active_templates(Context.system("test"))]
    assert titles == ["Adult / family medicine visit", "Cardiology follow-up", "Dermatology visit",
                      "Mental health intake", "Pediatric well-child visit", "Prenatal visit"]


def test_every_template_has_the_four_soap_sections_and_parses():
    for template in catalogue.active_templates(Context.system("test")):
        sections = [item.link_id for item in template.items()]
        assert sections == ["subjective", "objective", "assessment", "plan"], template.title


def test_loading_again_adds_nothing():
    assert catalogue.load_shipped_templates() == 0
