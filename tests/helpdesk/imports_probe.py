"""Run in a subprocess by the settings tests: sets Django up with the settings
of ``DJANGO_SETTINGS_MODULE``, imports every module of the project's
installed apps, ``core`` and ``helpdesk`` (its settings package aside), and
prints as JSON how many it imported and which modules of ``demo`` and
``bench`` were loaded by then."""

import importlib
import json
import pkgutil
import sys
from pathlib import Path

import django

django.setup()

from django.apps import apps  # noqa: E402 - after setup, as in manage.py
from django.conf import settings  # noqa: E402

BASE_DIR = Path(settings.BASE_DIR)
# The demo and the benchmarks themselves are not walked: where they are
# installed, setting Django up has loaded them already.
ours = {"core", "helpdesk"} | {
    config.name
    for config in apps.get_app_configs()
    if Path(config.path).parent == BASE_DIR and config.name not in {"demo", "bench"}
}
imported = 0
for name in sorted(ours):
    package = importlib.import_module(name)
    for module in pkgutil.walk_packages(package.__path__, prefix=f"{name}."):
        if module.name.startswith("helpdesk.settings"):
            continue  # the mode's own settings are loaded; the others set environment defaults
        importlib.import_module(module.name)
        imported += 1
print(
    json.dumps(
        {
            "packages": sorted(ours),
            "imported": imported,
            "loaded": sorted(
                name for name in sys.modules if name.split(".")[0] in {"demo", "bench"}
            ),
        }
    )
)
