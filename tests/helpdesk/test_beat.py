"""Beat keeps its schedule file in HELPDESK_VAR_DIR and says so when it cannot."""

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpdesk.celery import ensure_schedule_directory


def test_creates_a_missing_folder_whose_parent_exists(tmp_path: Path) -> None:
    ensure_schedule_directory(tmp_path / "var" / "celerybeat-schedule")

    assert (tmp_path / "var").is_dir()


def test_stops_with_one_line_naming_the_setting_and_the_path(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "missing" / "var"

    with caplog.at_level(logging.CRITICAL), pytest.raises(SystemExit) as stopped:
        ensure_schedule_directory(folder / "celerybeat-schedule")

    assert stopped.value.code == 1
    [record] = caplog.records
    assert "HELPDESK_VAR_DIR" in record.getMessage()
    assert str(folder) in record.getMessage()
    assert not folder.exists()


@pytest.mark.slow
def test_beat_exits_at_start_saying_why(tmp_path: Path) -> None:
    folder = tmp_path / "missing" / "var"
    env = {**os.environ, "HELPDESK_VAR_DIR": str(folder)}

    finished = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "helpdesk", "beat", "--loglevel", "INFO"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    output = finished.stdout + finished.stderr
    assert finished.returncode == 1
    assert f"cannot create HELPDESK_VAR_DIR {folder}" in output
    assert "Traceback" not in output
