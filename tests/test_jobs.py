"""The warm worker: jobs forked from it behave like jobs run in-process, and die with their client."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mtbridge import jobs

JOB_MODULE = "mtbridge_test_job_functions"
JOB_SOURCE = '''
import json
import re
import logging
import os
import time
from pathlib import Path

import numpy  # loaded before the job starts, as in the warm worker


def write(path, text):
    logging.getLogger("mtbridge").info("writing %s", path)
    print("printed by the job", flush=True)
    Path(path).write_text(text.upper())


def whoami(path):
    Path(path).write_text(json.dumps({"pid": os.getpid(), "ppid": os.getppid(), "cwd": os.getcwd()}))


def fail(message):
    raise RuntimeError(message)


def blas_threads(path):
    import scipy.linalg  # may be loaded by the job itself (a library imported inside a function)
    from threadpoolctl import threadpool_info

    scipy.linalg.solve(numpy.eye(2), numpy.ones(2))
    Path(path).write_text(json.dumps(sorted({pool["num_threads"] for pool in threadpool_info()})))


def slow(pid_path, path, seconds):
    Path(pid_path + ".tmp").write_text(str(os.getpid()))
    os.replace(pid_path + ".tmp", pid_path)
    time.sleep(seconds)
    Path(path).write_text("finished")
'''


@dataclass(frozen=True)
class Worker:
    process: subprocess.Popen
    socket: str


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.02)


@pytest.fixture(scope="module")
def job_dir() -> Iterator[Path]:
    """A short directory under /tmp (AF_UNIX paths are short) holding an importable job module."""
    directory = Path(tempfile.mkdtemp(prefix="mtbj", dir="/tmp"))
    (directory / f"{JOB_MODULE}.py").write_text(JOB_SOURCE)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.syspath_prepend(str(directory))
            patch.setenv("PYTHONPATH", os.pathsep.join(
                part for part in (str(directory), os.environ.get("PYTHONPATH")) if part))
            yield directory
    finally:
        sys.modules.pop(JOB_MODULE, None)
        shutil.rmtree(directory, ignore_errors=True)


ALLOWED = [f"{JOB_MODULE}:{name}" for name in ("write", "whoami", "fail", "slow", "blas_threads")]


@pytest.fixture(scope="module")
def worker(job_dir: Path) -> Iterator[Worker]:
    log = job_dir / "worker.log"
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(jobs.SOCKET_VARIABLE, raising=False)  # restored after stop_worker pops it
        process = jobs.start_worker(str(log), ALLOWED)
        path = os.environ[jobs.SOCKET_VARIABLE]
        try:
            wait_for(lambda: os.path.exists(path) or process.poll() is not None, 120, "the worker")
            assert process.poll() is None, log.read_text()
            yield Worker(process, path)
        finally:
            jobs.stop_worker(process)
            assert jobs.SOCKET_VARIABLE not in os.environ and process.poll() is not None
            assert not os.path.exists(os.path.dirname(path))  # socket and directory removed


@pytest.fixture(params=["worker", "in-process"])
def reachable(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
              restore_mtbridge_logger: None) -> Worker | None:
    """The warm worker the test's jobs go to, or None where no worker is reachable."""
    if request.param == "in-process":
        monkeypatch.delenv(jobs.SOCKET_VARIABLE, raising=False)
        return None
    warm = request.getfixturevalue("worker")
    monkeypatch.setenv(jobs.SOCKET_VARIABLE, warm.socket)
    return warm


def test_job_runs_in_the_worker_or_in_process(reachable: Worker | None, tmp_path: Path) -> None:
    out, log = tmp_path / "who.json", tmp_path / "logs" / "who.log"
    jobs.run(f"{JOB_MODULE}:whoami", str(log), path=str(out))
    info = json.loads(out.read_text())
    if reachable is None:
        assert info["pid"] == os.getpid()
    else:  # a child forked from the worker, in the client's directory
        assert info["ppid"] == reachable.process.pid and info["pid"] != os.getpid()
    assert info["cwd"] == os.getcwd()
    text = log.read_text()
    assert f"start {JOB_MODULE}:whoami pid {info['pid']}" in text and "done in" in text


def test_a_job_runs_on_the_threads_of_its_rule(reachable: Worker | None, tmp_path: Path) -> None:
    """Every BLAS/OpenMP pool of the job (numpy's, loaded before, and scipy's, perhaps loaded by the job)
    holds the rule's threads, in the worker's children as in a job's own process; uncapped, each pool
    takes every core."""
    out, log = tmp_path / "threads.json", tmp_path / "threads.log"
    jobs.run(f"{JOB_MODULE}:blas_threads", str(log), job_threads=1, path=str(out))
    assert json.loads(out.read_text()) == [1]


def test_same_result_with_or_without_worker(reachable: Worker | None, tmp_path: Path,
                                            capfd: pytest.CaptureFixture) -> None:
    out, log = tmp_path / "out.txt", tmp_path / "job.log"
    jobs.run(f"{JOB_MODULE}:write", str(log), path=str(out), text="same either way")
    assert out.read_text() == "SAME EITHER WAY"
    text = log.read_text()
    assert f"writing {out}" in text and "done in" in text
    printed = capfd.readouterr().out
    # In the worker the job's own output goes to its log; in-process it stays on stdout.
    assert ("printed by the job" in text) == (reachable is not None)
    assert ("printed by the job" in printed) == (reachable is None)


def test_failing_job(reachable: Worker | None, tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    log = tmp_path / "fail.log"
    with pytest.raises(SystemExit, match=rf"job {JOB_MODULE}:fail failed \(exit 1\); log: .*fail.log"):
        jobs.run(f"{JOB_MODULE}:fail", str(log), message="boom 42")
    text = log.read_text()
    assert "failed:" in text and "Traceback (most recent call last)" in text
    assert "RuntimeError: boom 42" in text and "done in" not in text
    assert "RuntimeError: boom 42" in capfd.readouterr().err  # run shows the log's tail


def test_submit_and_execute_report_exit_codes(reachable: Worker | None, tmp_path: Path) -> None:
    log = str(tmp_path / "code.log")
    ok = (f"{JOB_MODULE}:write", {"path": str(tmp_path / "x"), "text": "x"}, log)
    failing = (f"{JOB_MODULE}:fail", {"message": "no"}, log)
    if reachable is None:
        assert jobs.submit_to_worker(*ok) is None
        assert (jobs.execute(*ok), jobs.execute(*failing)) == (0, 1)
    else:
        assert (jobs.submit_to_worker(*ok), jobs.submit_to_worker(*failing)) == (0, 1)


def test_missing_socket_means_no_worker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                        restore_mtbridge_logger: None) -> None:
    monkeypatch.setenv(jobs.SOCKET_VARIABLE, str(tmp_path / "gone.sock"))
    assert jobs.submit_to_worker(f"{JOB_MODULE}:fail", {"message": "never"}, str(tmp_path / "l")) is None
    assert not (tmp_path / "l").exists()
    jobs.run(f"{JOB_MODULE}:whoami", str(tmp_path / "who.log"), path=str(tmp_path / "who.json"))
    assert json.loads((tmp_path / "who.json").read_text())["pid"] == os.getpid()


def test_client_leaving_terminates_the_job(worker: Worker, tmp_path: Path) -> None:
    pid_path, out, log = tmp_path / "pid", tmp_path / "out.txt", tmp_path / "slow.log"
    request = {"function": f"{JOB_MODULE}:slow", "log": str(log), "cwd": os.getcwd(),
               "kwargs": {"pid_path": str(pid_path), "path": str(out), "seconds": 6}}
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        client.connect(worker.socket)
        client.sendall(json.dumps(request).encode() + b"\n")
        wait_for(pid_path.exists, 20, "the job to start")
        pid = int(pid_path.read_text())
        assert jobs.process_alive(pid)
    finally:
        client.close()
    # well before the job would finish
    wait_for(lambda: not jobs.process_alive(pid), 4, f"job {pid} to be terminated")
    assert not out.exists() and "done in" not in log.read_text()
    # The worker itself carries on serving.
    assert jobs.submit_to_worker(f"{JOB_MODULE}:write", {"path": str(out), "text": "next"},
                                 str(tmp_path / "next.log")) == 0
    assert out.read_text() == "NEXT"


# --- only this user, only the rules' jobs -----------------------------------------------------


def ask(worker: Worker, function: str, tmp_path: Path, **kwargs) -> dict:
    """Send one raw request, as any process able to reach the socket could, and read the reply."""
    request = {"function": function, "kwargs": kwargs, "log": str(tmp_path / "asked.log"), "cwd": os.getcwd()}
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.connect(worker.socket)
        client.sendall(json.dumps(request).encode() + b"\n")
        return json.loads(client.makefile("rb").readline())


@pytest.mark.parametrize("function", ["os:system", "mtbridge.io:write_text", "subprocess:run", "nonsense"])
def test_worker_refuses_functions_that_are_not_jobs(worker: Worker, tmp_path: Path, function: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "owned"
    reply = ask(worker, function, tmp_path, command=f"touch {marker}", path=str(marker), text="x")
    assert reply["exit"] == 1
    assert reply["error"].startswith(f"warm worker refuses {function!r}: not a job function of the rules")
    assert not marker.exists() and not (tmp_path / "asked.log").exists()
    monkeypatch.setenv(jobs.SOCKET_VARIABLE, worker.socket)
    with pytest.raises(jobs.RefusedJob, match=f"refuses {function!r}"):
        jobs.submit_to_worker(function, {"command": f"touch {marker}"}, str(tmp_path / "l"))
    assert not marker.exists()
    assert jobs.submit_to_worker(f"{JOB_MODULE}:write", {"path": str(marker), "text": "ok"},
                                 str(tmp_path / "ok.log")) == 0  # still serving the allowed ones


def test_worker_socket_directory_is_private(worker: Worker) -> None:
    directory = os.lstat(os.path.dirname(worker.socket))
    assert stat.S_ISDIR(directory.st_mode) and stat.S_IMODE(directory.st_mode) == 0o700
    assert directory.st_uid == os.getuid()


@pytest.mark.parametrize("mode", [0o750, 0o701, 0o777])
def test_an_open_socket_directory_is_refused(tmp_path: Path, mode: int, monkeypatch: pytest.MonkeyPatch,
                                             restore_mtbridge_logger: None) -> None:
    directory = tmp_path / "sockets"
    directory.mkdir()
    directory.chmod(mode)
    with pytest.raises(PermissionError, match=f"{directory}: a warm worker's socket directory must be"):
        jobs.check_private(directory)
    with pytest.raises(PermissionError, match="mode 0700"):
        jobs.serve(str(directory / jobs.SOCKET_NAME), os.getpid(), ALLOWED)
    assert not (directory / jobs.SOCKET_NAME).exists()
    # a client never hands its job to such a socket: it runs the job itself
    monkeypatch.setenv(jobs.SOCKET_VARIABLE, str(directory / jobs.SOCKET_NAME))
    assert jobs.submit_to_worker(f"{JOB_MODULE}:fail", {"message": "never"}, str(tmp_path / "l")) is None


def test_private_directory_prefers_a_private_runtime_dir(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    made = Path(jobs.private_directory())
    assert made.parent == runtime and stat.S_IMODE(made.stat().st_mode) == 0o700
    runtime.chmod(0o755)  # shared: not used
    other = Path(jobs.private_directory())
    assert other.parent == Path(tempfile.gettempdir()) and stat.S_IMODE(other.stat().st_mode) == 0o700
    other.rmdir()


def test_the_allow_list_is_every_job_function_the_rules_name() -> None:
    rules = Path(__file__).resolve().parent.parent / "rules"
    allowed = jobs.job_functions(rules)
    named = {match for path in rules.glob("*.smk") for match in
             re.findall(r'"(mtbridge\.\w+:\w+)"', path.read_text())}
    assert set(allowed) == named and len(allowed) > 20
    assert {"mtbridge.finetuning:finetune", "mtbridge.pretraining:random_init",
            "mtbridge.corpora:write_evaluation_set"} <= set(allowed)
    for name in allowed:  # each one a function defined in its module (read, not imported)
        module, function = name.split(":")
        source = (rules.parent / Path(*module.split("."))).with_suffix(".py").read_text()
        assert f"def {function}(" in source, name
