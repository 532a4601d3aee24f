import pytest
from django.test import Client

from accounts.models import User


def console_client(user: User) -> Client:
    """A browser-like client signed in to the console as ``user``."""
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def agent_console(agent: User) -> Client:
    return console_client(agent)


@pytest.fixture
def supervisor_console(supervisor: User) -> Client:
    return console_client(supervisor)
