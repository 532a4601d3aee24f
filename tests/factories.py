"""Factories build rows through the services, so test data obeys the same
rules as real data."""

from typing import Any

import factory

from accounts.models import Customer, User
from accounts.roles import Role
from accounts.services import customer_upsert, staff_upsert

TEST_PASSWORD = "correct-horse-battery-staple"


class StaffFactory(factory.Factory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@staff.example")
    role = Role.AGENT
    password = TEST_PASSWORD

    @classmethod
    def _create(cls, model_class: type[User], *args: Any, **kwargs: Any) -> User:
        return staff_upsert(**kwargs).user


class CustomerFactory(factory.Factory):
    class Meta:
        model = Customer

    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    time_zone = "Europe/Berlin"
    locale = "en"

    @classmethod
    def _create(cls, model_class: type[Customer], *args: Any, **kwargs: Any) -> Customer:
        return customer_upsert(**kwargs)[0]
