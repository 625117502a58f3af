"""Every shell command the README and docs/ show runs as written: snakemake commands as dry runs (a full
study is too long for a test, and `-n` still parses every flag, the profile and the config), the cheap
ones for real, in a copy of this checkout. A command that is not run is listed in NOT_RUN with the
reason, so a new command in the docs must be either run here or explained."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from snakemake_runner import ROOT, copy_checkout, environment

DOCUMENTS = ["README.md", *sorted(str(path.relative_to(ROOT)) for path in (ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"```(?:bash|sh)\n(.*?)```", re.S)
PLACEHOLDERS = {"<partition>": "debug"}
NOT_RUN = {  # the start of a command -> why this test does not run it
    "scripts/study.sh": "runs the whole default study (17 min); tests/test_workflow.py runs the micro study",
    "scripts/test.sh": "is the test suite itself",
    "scripts/gpu_check.sh": "needs a CUDA GPU; tests/test_gpu.py runs its CPU smoke mode",
    "git clone": "needs the project's remote; tests/test_sharing.py clones a local copy and runs pull.sh",
    "source": "changes this shell only",
    "dvc remote": "changes the project's DVC config; tests/test_sharing.py sets up a remote",
    "sudo": "installs and starts a SLURM cluster (tests/test_slurm.py)",
    "python -m mtbridge.hub pin": "needs the Hugging Face hub (tests/test_hub.py pins against a stub)",
    "HF_HUB_OFFLINE=1": "is the fast test subset, run by CI as part of the whole suite",
    ".venv/bin/python -m pytest": "runs tests (the SLURM ones), run by CI as part of the whole suite",
    "snakemake --executor cluster-generic": "needs snakemake-executor-plugin-cluster-generic and sbatch",
    ".venv/bin/snakemake --report": "needs a finished study; tests/test_workflow.py reports the micro study",
}


def documented_commands() -> list[tuple[str, str]]:
    """(document, command) for each command of a bash fence, continuation lines joined, comments off."""
    commands = []
    for document in DOCUMENTS:
        for block in FENCE.findall((ROOT / document).read_text(encoding="utf-8")):
            for command in block.replace("\\\n", " ").splitlines():
                command = re.sub(r"\s+#.*$", "", command).strip()
                if command and not command.startswith("#"):
                    commands.append((document, " ".join(command.split())))
    return commands


def not_run_reason(command: str) -> str | None:
    return next((why for start, why in NOT_RUN.items() if command.startswith(start)), None)


def runnable(command: str) -> list[str]:
    """The argument list: placeholders filled, optional `[--flag]`s left out, snakemake as a dry run."""
    for placeholder, value in PLACEHOLDERS.items():
        command = command.replace(placeholder, value)
    words = [word for word in shlex.split(command) if not re.fullmatch(r"\[.*\]", word)]
    program = Path(words[0]).name
    if program == "snakemake":
        words = [sys.executable, "-m", "snakemake", *words[1:], "--dry-run", "--quiet", "rules"]
    elif program == "python":
        words = [sys.executable, *words[1:]]
    return words


COMMANDS = [pytest.param(command, id=f"{document}: {command[:60]}")
            for document, command in documented_commands() if not_run_reason(command) is None]


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("checkout")
    copy_checkout(root)
    return root


def test_every_documented_command_is_run_or_explained() -> None:
    commands = [command for _, command in documented_commands()]
    assert len(COMMANDS) >= 8  # the README's snakemake and status commands, the paper and cluster dry runs
    unused = [start for start in NOT_RUN if not any(command.startswith(start) for command in commands)]
    assert not unused, f"NOT_RUN entries no document uses any more: {unused}"


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS)
def test_documented_command_runs(command: str, checkout: Path) -> None:
    path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    result = subprocess.run(runnable(command), cwd=checkout, capture_output=True, text=True, timeout=300,
                            env=environment(HF_HUB_OFFLINE="1", PATH=path))
    assert result.returncode == 0, f"{command}\n{result.stdout[-1500:]}\n{result.stderr[-1500:]}"
