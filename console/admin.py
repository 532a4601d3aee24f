"""Registers the console's pages with its admin site (found by Django's
admin autodiscovery, like every app's admin.py)."""

from console import tickets  # noqa: F401
