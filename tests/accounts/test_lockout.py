"""Password guessing: ten failures lock an account out of both login pages
for the cool-off; admins see the attempts and can unlock early."""

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
import time_machine
from axes.models import AccessAttempt, AccessFailureLog
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from tests.factories import TEST_PASSWORD

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse

pytestmark = pytest.mark.django_db

CONSOLE_LOGIN = "/console/login/"
ADMIN_LOGIN = "/admin/login/"


def sign_in(
    url: str, username: str, password: str, **extra: Any
) -> tuple[Client, "_MonkeyPatchedWSGIResponse"]:
    client = Client()
    response = client.post(url, {"username": username, "password": password}, **extra)
    return client, response


def fail(url: str, username: str, times: int) -> None:
    for n in range(1, times + 1):
        _, response = sign_in(url, username, "not-the-password")
        # The form again with its error; the failure that reaches the limit
        # is answered with the lockout at once.
        expected = 429 if n >= settings.AXES_FAILURE_LIMIT else 200
        assert response.status_code == expected, n


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_ten_wrong_passwords_lock_the_account_out_of_both_login_pages(admin_staff: User) -> None:
    fail(CONSOLE_LOGIN, admin_staff.username, settings.AXES_FAILURE_LIMIT)

    for url in (CONSOLE_LOGIN, ADMIN_LOGIN):
        client, response = sign_in(url, admin_staff.username, TEST_PASSWORD)

        assert response.status_code == 429, url
        assert not signed_in(client)
        page = response.content.decode()
        assert "10 failed sign-ins" in page
        assert "locked for 15 minutes" in page
        assert "The right password is refused until then too." in page
        assert response["Retry-After"] == "900"


def test_failures_on_the_admin_login_page_count_too(admin_staff: User) -> None:
    fail(ADMIN_LOGIN, admin_staff.username, settings.AXES_FAILURE_LIMIT)

    client, response = sign_in(CONSOLE_LOGIN, admin_staff.username, TEST_PASSWORD)

    assert response.status_code == 429
    assert not signed_in(client)


def test_nine_failures_still_let_the_right_password_in(agent: User) -> None:
    fail(CONSOLE_LOGIN, agent.username, settings.AXES_FAILURE_LIMIT - 1)

    client, response = sign_in(CONSOLE_LOGIN, agent.username, TEST_PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == reverse("console:index")
    assert signed_in(client)


def test_the_lock_lifts_after_the_cool_off(agent: User) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        fail(CONSOLE_LOGIN, agent.username, settings.AXES_FAILURE_LIMIT)
    with time_machine.travel(start + settings.AXES_COOLOFF_TIME - timedelta(seconds=30)):
        assert sign_in(CONSOLE_LOGIN, agent.username, TEST_PASSWORD)[1].status_code == 429
    with time_machine.travel(start + settings.AXES_COOLOFF_TIME + timedelta(seconds=30)):
        client, response = sign_in(CONSOLE_LOGIN, agent.username, TEST_PASSWORD)

    assert response.status_code == 302
    assert signed_in(client)


def test_another_account_is_not_locked_by_someone_elses_failures(
    agent: User, supervisor: User
) -> None:
    fail(CONSOLE_LOGIN, agent.username, settings.AXES_FAILURE_LIMIT)

    client, response = sign_in(
        CONSOLE_LOGIN, supervisor.username, TEST_PASSWORD, REMOTE_ADDR="10.0.0.2"
    )

    assert response.status_code == 302
    assert signed_in(client)


def test_every_failure_is_logged_and_an_admin_unlocks_early(agent: User, admin_staff: User) -> None:
    fail(CONSOLE_LOGIN, agent.username, settings.AXES_FAILURE_LIMIT)
    assert AccessFailureLog.objects.filter(username=agent.username).count() == 10
    attempt = AccessAttempt.objects.get(username=agent.username)
    admin = Client()
    admin.force_login(admin_staff)

    listing = admin.get("/admin/axes/accessattempt/")
    unlocked = admin.post(
        f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"}, follow=True
    )
    client, response = sign_in(CONSOLE_LOGIN, agent.username, TEST_PASSWORD)

    assert agent.username in listing.content.decode()
    assert unlocked.status_code == 200
    assert response.status_code == 302
    assert signed_in(client)


def test_signing_in_without_next_lands_on_the_console(agent: User) -> None:
    _, response = sign_in(CONSOLE_LOGIN, agent.username, TEST_PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == reverse("console:index")
