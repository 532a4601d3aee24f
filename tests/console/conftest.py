import pytest
from django.test import Client

from accounts.models import User
from tests.helpers import console_client


@pytest.fixture
def agent_console(agent: User) -> Client:
    return console_client(agent)


@pytest.fixture
def supervisor_console(supervisor: User) -> Client:
    return console_client(supervisor)
