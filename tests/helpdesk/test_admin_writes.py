"""Django's admin writes domain rows only through the services: each admin of
the domain apps shows its rows read-only, or saves them through a service
(its own ``save_model``) and deletes nothing, not even by the bulk action."""

import pytest
from django.contrib import admin
from django.test import RequestFactory

from accounts.models import User
from core.admin import ReadOnlyAdmin

DOMAIN_APPS = {"accounts", "tickets", "recovery"}


def _domain_admins() -> list[admin.ModelAdmin]:
    return [
        model_admin
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in DOMAIN_APPS
    ]


def test_the_domain_apps_have_admins_that_write() -> None:
    writable = [a for a in _domain_admins() if not isinstance(a, ReadOnlyAdmin)]

    assert {type(a).__name__ for a in writable} >= {"StaffAdmin", "QueueAdmin"}


@pytest.mark.parametrize("model_admin", _domain_admins(), ids=lambda a: type(a).__name__)
def test_an_admin_saves_through_a_service_and_deletes_nothing(
    model_admin: admin.ModelAdmin,
) -> None:
    request = RequestFactory().post("/admin/")
    request.user = User(username="root", is_staff=True, is_superuser=True)

    assert not model_admin.has_delete_permission(request)
    assert "delete_selected" not in model_admin.get_actions(request)
    if not isinstance(model_admin, ReadOnlyAdmin):
        # The default save_model calls obj.save(): the service must be called instead.
        assert type(model_admin).save_model is not admin.ModelAdmin.save_model
