"""Run in a subprocess by the settings tests, in production mode after
collectstatic: requests pages that need neither the database nor Redis and
prints each one's status and security headers as JSON."""

import json
import sys

import django

django.setup()

from django.test import Client  # noqa: E402 - after setup, as in manage.py

client = Client(headers={"Host": "desk.example.com"})
answers = {}
for url in sys.argv[1:]:
    response = client.get(url, secure=True)
    answers[url] = {
        "status": response.status_code,
        "csp": response.get("Content-Security-Policy"),
        "permissions": response.get("Permissions-Policy"),
        "referrer": response.get("Referrer-Policy"),
    }
print(json.dumps(answers))
