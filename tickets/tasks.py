"""Celery tasks of the ticket flow: each takes ids and calls one service.
Customer emails and staff alerts are sent by the outbox's tasks."""

from celery import shared_task

from tickets.services.reminders import reminders_send
from tickets.services.timeliness import tickets_close_quiet, timeliness_check


@shared_task(name="tickets.check_timeliness")
def check_timeliness() -> int:
    return timeliness_check()


@shared_task(name="tickets.close_quiet_tickets")
def close_quiet_tickets() -> int:
    return tickets_close_quiet()


@shared_task(name="tickets.send_reminders")
def send_reminders() -> int:
    return reminders_send()
