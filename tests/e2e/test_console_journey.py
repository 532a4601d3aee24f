"""The acceptance journey of the console, in headless Chromium: an agent
recovers a mishap step by step, a supervisor approves and changes a limit,
the customer rates us, and the dashboard shows it."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import User
from accounts.roles import Role
from recovery.models import FollowUp, Restitution
from recovery.services.followup_delivery import SOURCE as FOLLOWUPS
from recovery.services.followups import followups_claim_due
from tests.delivery import deliver_item
from tests.factories import TEST_PASSWORD, StaffFactory
from tests.helpers import screenshot
from tickets.models import Ticket

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def sign_in(page: Page, base: str, user: User) -> None:
    page.goto(f"{base}/console/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Queue")).to_be_visible()


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()


def take_step(page: Page, name: str, fields: dict[str, str]) -> None:
    page.get_by_role("link", name=name, exact=True).first.click()
    for label, value in fields.items():
        page.get_by_label(label).fill(value)
    page.get_by_role("button", name=name, exact=True).click()
    expect(page.get_by_text(f"{name}: done.")).to_be_visible()


def test_recovering_a_mishap_from_the_console(
    page: Page, live_server: object, settings: object
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    settings.HELPDESK_PUBLIC_URL = base  # type: ignore[attr-defined]
    agent = StaffFactory(role=Role.AGENT, username="alex", first_name="Alex")
    supervisor = StaffFactory(role=Role.SUPERVISOR, username="sam", first_name="Sam")

    # An agent logs a phone call about a mishap.
    sign_in(page, base, agent)
    screenshot(page, "01-queue")
    page.get_by_role("link", name="New ticket").click()
    page.get_by_label("Subject").fill("Birthday cake arrived a day late")
    page.get_by_label("What the customer said").fill("The party was yesterday.")
    page.get_by_label("Kind").select_option("mishap")
    page.get_by_label("Severity").select_option("critical")
    page.get_by_label("Customer's email").fill("lena@example.com")
    page.get_by_label("Customer's name").fill("Lena Fischer")
    page.get_by_role("button", name="Open the ticket").click()
    expect(page.get_by_text("opened.")).to_be_visible()
    ticket = Ticket.objects.get(subject="Birthday cake arrived a day late")

    # Resolving now is refused, and the page says what comes first.
    page.get_by_role("link", name="Resolve", exact=True).click()
    refusal = page.get_by_role("alert")
    expect(refusal).to_contain_text("Resolve is not possible yet.")
    expect(refusal.locator("ol li")).to_have_text(["Acknowledge", "Apologize", "Commit"])
    screenshot(page, "02-resolve-refused")
    page.get_by_role("link", name="Back to the ticket").click()

    take_step(
        page,
        "Acknowledge",
        {"Message": "Lena, I have your message.", "Our part in it": "Our courier left a day late."},
    )
    take_step(page, "Apologize", {"Message": "I am truly sorry: we spoiled the party."})
    due = timezone.localtime(timezone=timezone.get_fixed_timezone(60)) + timedelta(days=1)
    page.get_by_role("link", name="Commit", exact=True).click()
    page.get_by_label("Promise").fill("A new cake and a refund of the delivery, by tomorrow.")
    page.get_by_label("Due by").fill(due.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Commit", exact=True).click()
    expect(page.get_by_text("Commit: done.")).to_be_visible()

    # A restitution within authority, with the guidance shown as the loss is typed.
    expect(page.locator("#authority-left")).to_contain_text("up to 50.00 USD here")
    expect(page.locator("#authority-left")).to_contain_text(
        "Left for you this week: 200.00 of 200.00 USD"
    )
    form = page.locator("#restitution-form")
    form.get_by_label("Kind").select_option("gift")
    form.get_by_label("Amount").fill("25.00")
    form.get_by_label("The customer's loss").fill("40")
    expect(page.locator("#guidance")).to_have_text(
        "Suggested: 24.00 to 48.00 USD (60 to 120% of the loss)."
    )
    form.get_by_label("Reason").fill("A new cake, on us.")
    form.get_by_role("button", name="Grant").click()
    expect(page.get_by_text("Granted: 25.00 USD.")).to_be_visible()
    expect(page.locator("#authority-left")).to_contain_text(
        "Left for this ticket: 25.00 of 50.00 USD (25.00 granted)"
    )
    expect(page.locator("#authority-left")).to_contain_text(
        "Left for you this week: 175.00 of 200.00 USD"
    )

    # One above authority waits for a supervisor, and holds the ticket open.
    form = page.locator("#restitution-form")
    form.get_by_label("Kind").select_option("refund")
    form.get_by_label("Amount").fill("120.00")
    form.get_by_label("Reason").fill("The whole order back.")
    form.get_by_role("button", name="Grant").click()
    expect(page.get_by_text("It waits for a supervisor's approval.")).to_contain_text(
        "120.00 USD is more than what is left of the limit for this ticket "
        "(25.00 of 50.00 USD: 25.00 USD already granted on it)"
    )
    expect(page.locator("#restitution-list")).to_contain_text("Awaiting approval")
    screenshot(page, "03-ticket-awaiting-approval")
    assert list(ticket.restitutions.values_list("status", flat=True).order_by("id")) == [
        Restitution.Status.GRANTED,
        Restitution.Status.PENDING_APPROVAL,
    ]
    sign_out(page)

    # A supervisor approves it, then raises the agent's limit per incident.
    sign_in(page, base, supervisor)
    page.get_by_role("link", name=re.compile(r"^Approvals")).click()
    pending = ticket.restitutions.get(status=Restitution.Status.PENDING_APPROVAL)
    request = page.locator(f"#approval-{pending.approval.pk}")
    expect(request).to_contain_text("The whole order back.")
    screenshot(page, "04-approvals")
    request.get_by_role("button", name="Approve 120.00 USD").click()
    expect(page.get_by_text("Approved:")).to_be_visible()
    page.get_by_role("link", name="Authority", exact=True).click()
    page.get_by_role("link", name="Alex", exact=True).click()
    page.get_by_label("Per incident").fill("100.00")
    page.get_by_role("button", name="Save the limits").click()
    expect(page.get_by_text("The authority of Alex is saved.")).to_be_visible()
    expect(page.locator("#content")).to_contain_text("100.00")
    screenshot(page, "05-authority")
    sign_out(page)

    # The agent resolves; the follow-up schedule appears.
    sign_in(page, base, agent)
    page.goto(f"{base}/console/tickets/ticket/{ticket.pk}/")
    take_step(page, "Resolve", {"Message": "The new cake was delivered, and the refund sent."})
    expect(page.locator("#ticket-status")).to_have_text("Rebuilding")
    schedule = page.locator("#followup-schedule li")
    expect(schedule).to_have_count(3)
    expect(schedule.first).to_contain_text("Day 1")
    screenshot(page, "06-ticket-rebuilding")
    sign_out(page)

    # The day-1 follow-up reaches the customer, who rates us from its link.
    first = ticket.followups.order_by("due_at").first()
    assert first is not None
    FollowUp.objects.filter(pk=first.pk).update(due_at=timezone.now())  # its day has come
    assert followups_claim_due() == [first.pk]
    assert deliver_item(FOLLOWUPS, first.pk).sent
    [email] = [m for m in mail.outbox if m.extra_headers.get("Message-ID") == first.message_id]
    # One click on "Very well" records it; the page then asks for a word more.
    link = re.search(r"Very well: (https?://\S+/feedback/\S+/)", str(email.body))
    assert link is not None
    page.goto(link.group(1))
    expect(page.get_by_role("heading", name="Thank you, Lena Fischer")).to_be_visible()
    expect(page.locator("input[name=rating][value='5']")).to_be_checked()
    page.get_by_label("Would you like to tell us more?").fill("You saved the day after all.")
    screenshot(page, "07-feedback")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Your changes are saved.")).to_be_visible()

    # The supervisor's dashboard shows the rating.
    sign_in(page, base, supervisor)
    page.get_by_role("link", name="Trust dashboard").click()
    paradox = page.locator('[data-metric="recovery_paradox_index"] .card-detail')
    expect(paradox).to_contain_text("average rating 5.00 recovered")

    expect(page.locator("#chart-ratings")).to_be_visible()
    screenshot(page, "08-dashboard")
