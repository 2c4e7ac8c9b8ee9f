"""Fixtures of registration tests: payers in the directory, people acting, a valid registration."""

from __future__ import annotations

import pytest

from mederi.accounts.permissions import DEFAULT_ROLES
from mederi.core.context import Context
from mederi.fhir.repository import Repository

ORGANIZATION_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"
PAYERS = [("payer-acme", "Acme Health Plan", "60054"), ("payer-medicare", "Medicare Part B", "00435")]
TODAY_FORMAT = "%Y-%m-%d"


def role_context(slug: str, user_id: int = 7001, **fields) -> Context:
    permissions = next(r.permissions for r in DEFAULT_ROLES if r.slug == slug)
    return Context(user_id=user_id, user_name=f"{slug}-user", role=slug, permissions=permissions, **fields)


@pytest.fixture
def payers(db):
    repo = Repository(Context.system("test"))
    for logical_id, name, x12 in PAYERS:
        repo.update("Organization", logical_id, {
            "resourceType": "Organization", "id": logical_id, "active": True, "name": name,
            "type": [{"coding": [{"system": ORGANIZATION_TYPE, "code": "pay"}]}],
            "identifier": [{"system": "urn:mederi:payer-id", "value": x12}],
        })
    return [p[0] for p in PAYERS]


@pytest.fixture
def desk(payers) -> Context:
    """A front-desk member, allowed everywhere."""
    return role_context("front_desk")


@pytest.fixture
def admin(payers) -> Context:
    return role_context("practice_admin", user_id=7002)


def registration(**changes) -> dict:
    """A complete, valid registration as the form hands it over; `changes` replace fields."""
    data = {
        "family": "Chalmers", "given": "Peter", "middle": "James", "birth_date": "1974-12-25", "gender": "male",
        "phone": "(555) 201-7788", "phone_use": "mobile", "email": "peter@example.com",
        "address_line": "534 Erewhon St", "city": "Springfield", "state": "IL", "postal_code": "62704",
        "contact_name": "Rose Chalmers", "contact_relationship": "sister", "contact_phone": "555-201-9900",
        "guarantor": "self",
        "primary_payer": "payer-acme", "primary_member_id": "ACM123456", "primary_group_number": "G-100",
        "primary_subscriber_relationship": "self",
        "privacy_notice": True, "consent_to_treat": True, "sms_reminders": True, "email_reminders": False,
    }
    data.update(changes)
    return data
