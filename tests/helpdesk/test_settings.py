"""Each settings mode, loaded in a fresh process with a controlled environment,
since settings are read once at import."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import BASE_DIR, clean_env, production_env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and scripts
        [sys.executable, *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def probe(env: dict[str, str]) -> dict[str, object]:
    result = run(["-m", "tests.helpdesk.settings_probe"], env)
    assert result.returncode == 0, result.stderr
    loaded: dict[str, object] = json.loads(result.stdout)
    return loaded


@pytest.mark.parametrize("slashes", ["///", "////"])
def test_a_filemail_url_with_an_absolute_path_keeps_it_absolute(
    tmp_path: Path, slashes: str
) -> None:
    # filemail:///srv/mail is the usual form; four slashes were our old default.
    folder = tmp_path / "sent mail"
    url = f"filemail:{slashes}{str(folder).lstrip('/')}".replace(" ", "%20")
    env = clean_env(tmp_path, "helpdesk.settings.local", EMAIL_URL=url)

    loaded = probe(env)

    assert loaded["EMAIL_BACKEND"] == "django.core.mail.backends.filebased.EmailBackend"
    assert loaded["EMAIL_FILE_PATH"] == str(folder)


def test_local_mode_needs_no_services(tmp_path: Path) -> None:
    loaded = probe(clean_env(tmp_path, "helpdesk.settings.local"))

    assert loaded["DEBUG"] is True
    assert loaded["ENGINE"] == "django.db.backends.sqlite3"
    assert loaded["DB_NAME"] == str(tmp_path / "var" / "db.sqlite3")
    assert loaded["BROKER"] == "filesystem://"
    assert loaded["CACHE"] == "django.core.cache.backends.filebased.FileBasedCache"
    assert loaded["EMAIL_BACKEND"] == "django.core.mail.backends.filebased.EmailBackend"
    assert loaded["EMAIL_FILE_PATH"] == str(tmp_path / "var" / "mail")
    assert loaded["TIME_ZONE"] == "UTC"
    assert loaded["DEFAULT_CURRENCY"] == "USD"
    assert loaded["ALLOW_DEMO"] is True
    # The filesystem broker's folders exist before a worker starts.
    assert (tmp_path / "var" / "broker" / "queue").is_dir()
    transport = loaded["TRANSPORT_OPTIONS"]
    assert isinstance(transport, dict)
    assert transport["control_folder"] == str(tmp_path / "var" / "broker" / "control")


def test_local_mode_reads_overrides_from_the_environment(tmp_path: Path) -> None:
    env = clean_env(
        tmp_path,
        "helpdesk.settings.local",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/elsewhere",
        TIME_ZONE="Europe/Lisbon",
        DEFAULT_CURRENCY="EUR",
    )
    loaded = probe(env)

    assert loaded["ENGINE"] == "django.db.backends.postgresql"
    assert loaded["DB_NAME"] == "elsewhere"
    assert loaded["TIME_ZONE"] == "Europe/Lisbon"
    assert loaded["DEFAULT_CURRENCY"] == "EUR"


def test_production_mode_uses_the_real_services(tmp_path: Path) -> None:
    loaded = probe(production_env(tmp_path))

    assert loaded["DEBUG"] is False
    assert loaded["ENGINE"] == "django.db.backends.postgresql"
    assert loaded["BROKER"] == "redis://cache.internal:6379/0"
    assert loaded["CACHE"] == "core.redis_cache.RedisCache"
    assert loaded["EMAIL_BACKEND"] == "core.mail.SMTPBackend"
    assert (loaded["EMAIL_HOST"], loaded["EMAIL_PORT"], loaded["EMAIL_USE_TLS"]) == (
        "smtp.example.com",
        587,
        True,
    )
    assert loaded["ALLOWED_HOSTS"] == ["desk.example.com"]
    assert loaded["ACKS_LATE"] is True
    assert loaded["REJECT_ON_WORKER_LOST"] is True
    assert loaded["PREFETCH"] == 1
    # No socket to PostgreSQL or Redis waits forever on a server that hangs.
    assert loaded["TRANSPORT_OPTIONS"] == {
        "visibility_timeout": 3600,
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
    }
    assert loaded["CACHE_OPTIONS"] == {"socket_connect_timeout": 2, "socket_timeout": 3}
    # A direct connection keeps the compiled queries' prepared statements.
    assert loaded["DB_OPTIONS"] == {"connect_timeout": 5, "prepare_threshold": 5}
    assert loaded["ALLOW_DEMO"] is False


HEADER_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
]


@pytest.mark.parametrize("module", ["helpdesk.settings.local", "helpdesk.settings.production"])
def test_both_modes_send_the_security_headers(tmp_path: Path, module: str) -> None:
    env = production_env(tmp_path) if module.endswith("production") else clean_env(tmp_path, module)
    loaded = probe(env)

    # In this order: production's WhiteNoise answers static files before them.
    middleware: list[str] = loaded["MIDDLEWARE"]  # type: ignore[assignment]
    assert [name for name in middleware if name in HEADER_MIDDLEWARE] == HEADER_MIDDLEWARE
    directives = loaded["CSP"]["DIRECTIVES"]  # type: ignore[index]
    assert (
        directives["default-src"]
        == directives["script-src"]
        == directives["style-src"]
        == ["'self'"]
    )
    assert directives["frame-ancestors"] == directives["object-src"] == ["'none'"]
    assert loaded["PERMISSIONS_POLICY"]["camera"] == []  # type: ignore[index]
    assert loaded["REFERRER_POLICY"] == "same-origin"


def test_production_pages_carry_the_headers(tmp_path: Path) -> None:
    # WhiteNoise's manifest storage as deployed: every page's stylesheet and
    # script must be a collected static file.
    env = production_env(tmp_path, STATIC_ROOT=str(tmp_path / "static"))
    collected = run(["manage.py", "collectstatic", "--noinput"], env)
    assert collected.returncode == 0, collected.stderr
    urls = [
        "/api/docs/",
        "/api/docs/?script",
        "/api/redoc/",
        "/problems/not-found/",
        "/no-such-page/",
        "/feedback/not-a-signed-token/",
    ]

    result = run(["-m", "tests.helpdesk.production_probe", *urls], env)

    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout)
    assert [answers[url]["status"] for url in urls] == [200, 200, 200, 200, 404, 400]
    for url in urls:
        assert "default-src 'self'" in answers[url]["csp"], url
        assert "'unsafe-inline'" not in answers[url]["csp"], url
        assert "camera=()" in answers[url]["permissions"], url
        assert answers[url]["referrer"] == "same-origin", url


def test_the_local_broker_names_a_var_dir_it_cannot_create(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "a file"
    not_a_folder.write_text("")
    env = clean_env(tmp_path, "helpdesk.settings.local")
    env["HELPDESK_VAR_DIR"] = str(not_a_folder / "var")

    result = run(["-m", "tests.helpdesk.settings_probe"], env)

    assert result.returncode != 0
    assert "Cannot create the local broker's folder" in result.stderr
    assert "HELPDESK_VAR_DIR (Not a directory)" in result.stderr


def test_production_refuses_to_start_without_its_variables(tmp_path: Path) -> None:
    env = production_env(tmp_path)
    del env["SECRET_KEY"], env["REDIS_URL"]

    result = run(["-m", "tests.helpdesk.settings_probe"], env)

    assert result.returncode != 0
    assert "need these environment variables: SECRET_KEY, REDIS_URL" in result.stderr


def test_production_refuses_to_start_without_a_from_address(tmp_path: Path) -> None:
    env = production_env(tmp_path)
    del env["DEFAULT_FROM_EMAIL"]

    result = run(["-m", "tests.helpdesk.settings_probe"], env)

    assert result.returncode != 0
    assert "need these environment variables: DEFAULT_FROM_EMAIL" in result.stderr


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"DEFAULT_FROM_EMAIL": "Helpdesk <help@localhost>"}, "domain of DEFAULT_FROM_EMAIL"),
        ({"DEFAULT_FROM_EMAIL": "help"}, "domain of DEFAULT_FROM_EMAIL"),
        ({"HELPDESK_EMAIL_DOMAIN": "LocalHost"}, "HELPDESK_EMAIL_DOMAIN"),
    ],
)
def test_production_refuses_localhost_as_the_mail_domain(
    tmp_path: Path, overrides: dict[str, str], named: str
) -> None:
    # Customers' clients write Message-IDs @localhost too (issue 14).
    result = run(["-m", "tests.helpdesk.settings_probe"], production_env(tmp_path, **overrides))

    assert result.returncode != 0
    assert f"{named} is localhost" in result.stderr


def test_production_refuses_a_public_address_without_https(tmp_path: Path) -> None:
    env = production_env(tmp_path, HELPDESK_PUBLIC_URL="http://desk.example.com")

    result = run(["-m", "tests.helpdesk.settings_probe"], env)

    assert result.returncode != 0
    assert "HELPDESK_PUBLIC_URL must be the desk's https:// address" in result.stderr


def test_production_refuses_sqlite(tmp_path: Path) -> None:
    env = production_env(tmp_path, DATABASE_URL="sqlite:////tmp/db.sqlite3")

    result = run(["-m", "tests.helpdesk.settings_probe"], env)

    assert result.returncode != 0
    assert "Production runs on PostgreSQL" in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TIME_ZONE", "Mars/Olympus", "TIME_ZONE='Mars/Olympus' is not an IANA time zone"),
        ("DEFAULT_CURRENCY", "euro", "DEFAULT_CURRENCY='euro' is not an ISO 4217 code"),
        ("DEFAULT_CURRENCY", "ZZZ", "DEFAULT_CURRENCY='ZZZ' is not an ISO 4217 code"),
        ("DEFAULT_CURRENCY", "eur", "DEFAULT_CURRENCY='eur' is not an ISO 4217 code"),
        ("HELPDESK_TRUST_LOW_RATING", "5", "HELPDESK_TRUST_LOW_RATING=5 must be from 1 to 4"),
        ("HELPDESK_TRUST_FRAGILE_MISHAPS", "1", "HELPDESK_TRUST_FRAGILE_MISHAPS=1 must be 2 or"),
        ("HELPDESK_TRUST_PROMISE_GRACE_HOURS", "-1", "HELPDESK_TRUST_PROMISE_GRACE_HOURS=-1.0"),
    ],
)
def test_bad_values_fail_at_start_with_a_clear_message(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    env = clean_env(tmp_path, "helpdesk.settings.local", **{name: value})

    result = run(["-m", "tests.helpdesk.settings_probe"], env)

    assert result.returncode != 0
    assert message in result.stderr


def test_production_passes_check_deploy_with_no_warnings(tmp_path: Path) -> None:
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env(tmp_path)
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_flags_a_weak_secret_key(tmp_path: Path) -> None:
    env = production_env(tmp_path, SECRET_KEY="short")

    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)

    assert result.returncode != 0
    assert "security.W009" in result.stderr + result.stdout


DEMO_AND_BENCH = {"demo", "bench"}


def installed_apps(env: dict[str, str]) -> list[str]:
    apps = probe(env)["INSTALLED_APPS"]
    assert isinstance(apps, list)
    return apps


def test_production_installs_neither_the_demo_nor_the_benchmarks(tmp_path: Path) -> None:
    production = installed_apps(production_env(tmp_path))
    local = installed_apps(clean_env(tmp_path, "helpdesk.settings.local"))

    assert not DEMO_AND_BENCH & set(production)
    # Their commands (seed_demo, generate_load_data, benchmark) stay where they serve.
    assert set(local) >= DEMO_AND_BENCH
    assert production == [app for app in local if app not in DEMO_AND_BENCH]


def imported_modules(env: dict[str, str]) -> tuple[list[str], int, list[str]]:
    """The project's packages the probe walked, how many modules it
    imported, and which modules of demo and bench were loaded by then."""
    result = run(["-m", "tests.helpdesk.imports_probe"], env)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    return answer["packages"], answer["imported"], answer["loaded"]


def test_no_production_module_imports_the_demo_or_the_benchmarks(tmp_path: Path) -> None:
    packages, imported, loaded = imported_modules(production_env(tmp_path))
    _, imported_locally, loaded_locally = imported_modules(
        clean_env(tmp_path, "helpdesk.settings.local")
    )

    assert loaded == []
    assert {"accounts", "tickets", "recovery", "console", "helpdesk"} <= set(packages)
    assert imported == imported_locally > 100
    # Where they are installed, the probe sees them loaded.
    assert {"demo.apps", "bench.apps"} <= set(loaded_locally)
