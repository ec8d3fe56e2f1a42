"""The ``outbound`` command run in the test's own process: the same commands, without the two
seconds of imports a new Python process spends before it reads its arguments."""

import os
import subprocess
import traceback
from collections.abc import Mapping

from typer.testing import CliRunner

from outbound.cli import app


def invoke(*args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``outbound ARGS`` with ``env`` added to the environment (and every other ``OUTBOUND_``
    variable removed, as for a process of ``tests.servers``), as a finished process."""
    inherited = {name: None for name in os.environ if name.startswith("OUTBOUND_")}
    result = CliRunner().invoke(app, list(args), env={**inherited, **(env or {})})
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return subprocess.CompletedProcess(["outbound", *args], result.exit_code, result.stdout, stderr)


def run_cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """An admin command (``account``, ``token``, ``db``...) on ``database_url``."""
    return invoke(*args, env={"OUTBOUND_DATABASE_URL": database_url})
