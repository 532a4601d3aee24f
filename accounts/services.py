"""Writes to staff accounts and customers. Each function is the only path for
its change: atomic, validated before anything is written, audited."""

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from rest_framework.authtoken.models import Token

from accounts.models import Customer, StaffChange, User
from accounts.roles import Role
from accounts.selectors import customers_with_email
from accounts.validators import validate_locale, validate_time_zone
from core.addresses import validate_mailbox
from core.transactions import joins_callers_transaction


@dataclass(frozen=True)
class StaffUpsertResult:
    user: User
    created: bool


MAX_NAME_CHARS = 200


def clean_name(name: str, *, field: str = "name") -> str:
    """A person's name as it will stand in an email header: one line, no
    control characters, spaces folded."""
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise ValidationError({field: "A name must be one line of text."})
    name = " ".join(name.split())
    if not name:
        raise ValidationError({field: "A name is required."})
    if len(name) > MAX_NAME_CHARS:
        raise ValidationError(
            {field: f"A name is longer than the limit of {MAX_NAME_CHARS} characters."}
        )
    return name


def _validate_email(
    value: str, *, field: str = "email", validate: Callable[[str], None] = validate_email
) -> str:
    value = value.strip()
    try:
        validate(value)
    except ValidationError:
        raise ValidationError({field: f"{value!r} is not a valid email address."}) from None
    return value


@transaction.atomic
def staff_upsert(
    *,
    username: str,
    role: Role,
    email: str | None = None,
    password: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    is_active: bool = True,
    actor: User | None = None,
) -> StaffUpsertResult:
    """Create a staff user with ``role``, or update the one with ``username``.

    A staff user holds exactly one role: changing it removes the others. The
    password, when given, must pass the configured validators. Nothing is
    written unless every input is valid. ``is_active=False`` signs a leaver
    out for good (nobody deactivates themselves: the desk would lose its
    last admin that way).
    """
    username = username.strip()
    if not username:
        raise ValidationError({"username": "A username is required."})
    role = Role(role)
    if email is not None:
        email = _validate_email(email)

    user = User.objects.select_for_update().filter(username=username).first()
    created = user is None
    if not is_active and created:
        raise ValidationError({"is_active": "A new account starts active."})
    if not is_active and actor is not None and user is not None and actor.pk == user.pk:
        raise ValidationError({"is_active": "Nobody deactivates their own account."})
    if user is None:
        user = User(username=username)
    before = {
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "role": None if created else user.role,
        "is_active": None if created else user.is_active,
    }

    user.is_staff = True
    user.is_active = is_active
    if email is not None:
        user.email = email
    if first_name is not None:
        user.first_name = first_name.strip()
    if last_name is not None:
        user.last_name = last_name.strip()
    if password is not None:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from None
        user.set_password(password)
    elif created:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()

    role_groups = Group.objects.filter(name__in=Role.values)
    user.groups.remove(*[g for g in role_groups if g.name != role.value])
    user.groups.add(Group.objects.get(name=role.value))

    after = {
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "role": role.value,
        "is_active": is_active,
    }
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if password is not None:
        changes["password"] = ["***", "***"]
    if created or changes:
        StaffChange.objects.create(
            user=user,
            actor=actor,
            action=StaffChange.Action.CREATED if created else StaffChange.Action.UPDATED,
            changes=changes,
        )
    return StaffUpsertResult(user=user, created=created)


@transaction.atomic
def staff_issue_token(*, user: User, actor: User | None = None) -> str:
    """Return the user's API token, creating it on first use."""
    token, created = Token.objects.get_or_create(user=user)
    if created:
        StaffChange.objects.create(user=user, actor=actor, action=StaffChange.Action.TOKEN_ISSUED)
    return token.key


_PROFILE_FIELDS = ("first_name", "last_name", "email", "time_zone")


@transaction.atomic
def staff_update_profile(*, user: User, **fields: Any) -> User:
    """Change a staff member's own name, email or time zone."""
    unknown = set(fields) - set(_PROFILE_FIELDS)
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "This field cannot be changed here."))
    locked = User.objects.select_for_update().get(pk=user.pk)
    changes = {}
    for name, value in fields.items():
        if name == "email":
            value = _validate_email(value)
        if getattr(locked, name) != value:
            changes[name] = [getattr(locked, name), value]
            setattr(locked, name, value)
    if changes:
        locked.full_clean(exclude=["password"])
        locked.save(update_fields=list(changes))
        StaffChange.objects.create(
            user=locked, actor=user, action=StaffChange.Action.UPDATED, changes=changes
        )
    return locked


@joins_callers_transaction
def customer_upsert(
    *,
    email: str,
    name: str,
    time_zone: str | None = None,
    locale: str | None = None,
    keep_existing: bool = False,
) -> tuple[Customer, bool]:
    """Find the customer by email, ignoring case, or create them.

    Given fields overwrite stored ones; an omitted field keeps its value. With
    ``keep_existing`` a customer found is returned as stored: a new ticket
    names its sender, it does not rename a known customer.

    Joins its caller's transaction where there is one (opening a ticket);
    otherwise runs in one of its own.
    """
    # A customer's address may be internationalised (RFC 6532); staff's stay ASCII.
    email = _validate_email(email, validate=validate_mailbox)
    # A known customer keeps their name: a new ticket for them needs none.
    name = clean_name(name) if name.strip() or not keep_existing else ""
    if time_zone is not None:
        validate_time_zone(time_zone)
    if locale is not None:
        validate_locale(locale)

    customer = customers_with_email(email).select_for_update().first()
    created = False
    if customer is None:
        if not name:
            raise ValidationError({"name": "A name is required for a new customer."})
        customer = Customer(
            email=email, name=name, time_zone=time_zone or "", locale=locale or "en"
        )
        customer.full_clean(validate_constraints=False)
        try:
            # A savepoint: a concurrent insert of the same address loses here
            # and updates the winner's row below instead of failing.
            with transaction.atomic():
                customer.save()
            return customer, True
        except IntegrityError:
            customer = customers_with_email(email).select_for_update().get()
    if keep_existing:
        return customer, created
    customer.name = name
    if time_zone is not None:
        customer.time_zone = time_zone
    if locale is not None:
        customer.locale = locale
    customer.full_clean(validate_constraints=False)
    customer.save()
    return customer, created
