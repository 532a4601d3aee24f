import io

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from accounts.models import StaffChange, User
from accounts.roles import Role


def create_staff(*args: str, stdin: str | None = None) -> str:
    out = io.StringIO()
    kwargs = {"stdout": out}
    if stdin is not None:
        kwargs["stdin"] = io.StringIO(stdin)
    call_command("create_staff", *args, **kwargs)
    return out.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(Role))
def test_creates_a_staff_user_with_each_role(role: Role) -> None:
    output = create_staff("casey", "--role", role.value, "--email", "casey@staff.example")

    user = User.objects.get(username="casey")
    assert output == f"Created {role.value} 'casey'.\n"
    assert user.role == role
    assert user.is_staff
    assert user.email == "casey@staff.example"
    assert not user.has_usable_password()
    assert user.staff_changes.get().action == StaffChange.Action.CREATED


@pytest.mark.django_db
def test_updates_role_email_and_password_of_an_existing_user() -> None:
    create_staff("casey", "--role", "agent", "--email", "old@staff.example")

    output = create_staff(
        "casey",
        "--role",
        "supervisor",
        "--email",
        "new@staff.example",
        "--password-stdin",
        stdin="a-long-unusual-passphrase\n",
    )

    user = User.objects.get(username="casey")
    assert output == "Updated supervisor 'casey'.\n"
    assert user.role == Role.SUPERVISOR
    assert [g.name for g in user.groups.all()] == ["supervisor"]
    assert user.email == "new@staff.example"
    assert user.check_password("a-long-unusual-passphrase")
    change = user.staff_changes.filter(action=StaffChange.Action.UPDATED).get()
    assert change.changes["role"] == ["agent", "supervisor"]
    assert change.changes["email"] == ["old@staff.example", "new@staff.example"]


@pytest.mark.django_db
def test_token_is_printed_on_the_last_line_and_stable() -> None:
    first = create_staff("bot", "--role", "agent", "--token").splitlines()[-1]
    again = create_staff("bot", "--role", "agent", "--token").splitlines()[-1]

    assert first == again == Token.objects.get(user__username="bot").key
    assert len(first) == 40


@pytest.mark.django_db
def test_bad_role_is_refused_and_nothing_is_created() -> None:
    with pytest.raises(CommandError, match="invalid choice: 'wizard'"):
        create_staff("casey", "--role", "wizard")

    assert not User.objects.filter(username="casey").exists()


@pytest.mark.django_db
def test_bad_email_is_refused_and_nothing_is_created() -> None:
    with pytest.raises(CommandError, match="email: 'not-an-address' is not a valid email address"):
        create_staff("casey", "--role", "agent", "--email", "not-an-address")

    assert not User.objects.filter(username="casey").exists()


@pytest.mark.django_db
def test_weak_password_is_refused_and_the_existing_user_is_unchanged() -> None:
    create_staff("casey", "--role", "agent", "--email", "casey@staff.example")

    with pytest.raises(CommandError, match="password: This password is too short"):
        create_staff("casey", "--role", "admin", "--password-stdin", stdin="123\n")

    user = User.objects.get(username="casey")
    assert user.role == Role.AGENT
    assert not user.has_usable_password()
    assert user.staff_changes.count() == 1


@pytest.mark.django_db
def test_empty_password_on_stdin_is_refused() -> None:
    with pytest.raises(CommandError, match="standard input had no password"):
        create_staff("casey", "--role", "agent", "--password-stdin", stdin="")

    assert not User.objects.exists()


@pytest.mark.django_db
def test_bad_username_is_refused() -> None:
    with pytest.raises(CommandError, match="username"):
        create_staff("no spaces allowed", "--role", "agent")

    assert not User.objects.exists()
