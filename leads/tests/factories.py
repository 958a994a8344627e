"""Test data. Leads are made through the service, so they carry history like real ones."""

from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth import get_user_model

from leads.models import Company, Lead, Role, Source, Team, TeamMembership
from leads.services import lead_create


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-for-tests-only")


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company

    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Company {n}")
    domain = factory.Sequence(lambda n: f"company{n}.example.com")


def make_lead(*, user, company: Company | None = None, **data) -> Lead:
    company = company or CompanyFactory(user=user)
    return lead_create(user=user, company=company, data=data, source=Source.API)


def make_team() -> dict[str, Any]:
    """Team North: Mia its manager, Rob and Ria its reps; Sam a rep of team South."""
    north = Team.objects.create(name="North")
    people = {}
    for name, role in [("mia", Role.MANAGER), ("rob", Role.REP), ("ria", Role.REP)]:
        user = UserFactory(username=name)
        TeamMembership.objects.create(user=user, team=north, role=role)
        people[name] = user
    people["sam"] = UserFactory(username="sam")
    TeamMembership.objects.create(user=people["sam"], team=Team.objects.create(name="South"))
    return people
