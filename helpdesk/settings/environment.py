"""Where settings come from: the environment, and ``.env`` at the checkout's
root for variables not already set; and where local state lives."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

# Local state (SQLite file, broker folders, sent mail, beat schedule).
VAR_DIR = Path(env("HELPDESK_VAR_DIR", default=str(BASE_DIR / "var")))
