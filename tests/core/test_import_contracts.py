"""The layer contracts of pyproject.toml ([tool.importlinter]), as scripts/test
checks them with `lint-imports`: they hold on the code, and an import that
crosses a layer, a service that reaches for the API, or a selector that
imports a service, breaks them."""

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CONFIG = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
CONTRACTS = {contract["id"]: contract["name"] for contract in CONFIG["contracts"]}
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the pyproject.toml of `cwd`, whose packages it analyses."""
    # Wide enough that no contract's name is wrapped; PYTHONPATH dropped so that
    # a copy is analysed, not the packages of the repository.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env |= {"COLUMNS": "500", "NO_COLOR": "1"}
    return subprocess.run(  # noqa: S603 (our own console script, fixed arguments)
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def services_module(root: Path, app: str) -> Path:
    """The file of `app.services`, a module or a package."""
    module = root / app / "services.py"
    return module if module.exists() else root / app / "services" / "__init__.py"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The root packages and pyproject.toml, copied: a tree to break."""
    for package in CONFIG["root_packages"]:
        shutil.copytree(
            REPO / package,
            tmp_path / package,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "migrations"),
        )
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_code_keeps_every_contract() -> None:
    result = lint_imports(REPO)

    assert result.returncode == 0, result.stdout + result.stderr
    for name in CONTRACTS.values():
        assert f"{name} KEPT" in result.stdout
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in result.stdout


def test_the_untouched_copy_keeps_them_too(copy: Path) -> None:
    """What the tests below break is theirs, not the copy's."""
    result = lint_imports(copy)

    assert result.returncode == 0, result.stdout + result.stderr


def test_tickets_importing_recovery_breaks_the_layers(copy: Path) -> None:
    (copy / "tickets" / "reaching_up.py").write_text("import recovery.models\n")

    result = lint_imports(copy)

    assert result.returncode != 0
    assert f"{CONTRACTS['layers']} BROKEN" in result.stdout
    assert "tickets.reaching_up -> recovery.models" in result.stdout
    assert f"{CONTRACTS['domain-below-interfaces']} KEPT" in result.stdout


def test_core_importing_an_app_breaks_the_layers(copy: Path) -> None:
    (copy / "core" / "reaching_up.py").write_text("from accounts import roles\n")

    result = lint_imports(copy)

    assert result.returncode != 0
    assert f"{CONTRACTS['layers']} BROKEN" in result.stdout
    assert "core.reaching_up -> accounts.roles" in result.stdout


@pytest.mark.parametrize(
    ("app", "forbidden"),
    [("tickets", "tickets.api"), ("accounts", "accounts.admin"), ("recovery", "recovery.views")],
)
def test_a_service_importing_its_own_interface_breaks_the_services_contract(
    copy: Path, app: str, forbidden: str
) -> None:
    """Within one app, so the layers hold and only the services contract can
    catch it."""
    module = services_module(copy, app)
    module.write_text(module.read_text() + f"\nimport {forbidden}\n")

    result = lint_imports(copy)

    assert result.returncode != 0
    assert f"{CONTRACTS['domain-below-interfaces']} BROKEN" in result.stdout
    assert f"{CONTRACTS['layers']} KEPT" in result.stdout
    assert f"{app}.services -> {forbidden}" in result.stdout


def test_a_service_reaching_the_console_indirectly_breaks_the_services_contract(
    copy: Path,
) -> None:
    """A chain counts as much as a direct import: services -> helper -> console."""
    (copy / "console" / "helper.py").write_text("")
    (copy / "tickets" / "via_console.py").write_text("import console.helper\n")
    module = services_module(copy, "tickets")
    module.write_text(module.read_text() + "\nimport tickets.via_console\n")

    result = lint_imports(copy)

    assert result.returncode != 0
    assert f"{CONTRACTS['domain-below-interfaces']} BROKEN" in result.stdout
    assert "tickets.via_console -> console.helper" in result.stdout


def test_a_selector_importing_a_service_breaks_the_reads_contract(copy: Path) -> None:
    """Within one app and below the interfaces, so only this contract can catch it."""
    module = copy / "tickets" / "selectors.py"
    module.write_text(module.read_text() + "\nimport tickets.services\n")

    result = lint_imports(copy)

    assert result.returncode != 0
    assert f"{CONTRACTS['reads-below-writes']} BROKEN" in result.stdout
    assert f"{CONTRACTS['layers']} KEPT" in result.stdout
    assert f"{CONTRACTS['domain-below-interfaces']} KEPT" in result.stdout
    assert "tickets.selectors -> tickets.services" in result.stdout
