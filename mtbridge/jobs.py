"""Running a library function as one pipeline job, optionally forked from a warm worker.

Importing torch and transformers costs ~5-7 s per process on a small CPU, and the
default study has hundreds of short jobs. The warm worker imports them once; each
job then runs in a child forked from it (milliseconds), with its own log, threads
and exit status. A job whose client goes away (Snakemake killed, job cancelled) has
its child terminated, so no output appears after Snakemake gave up on it. Where no
worker is reachable (disabled, not started yet, another host) the job simply runs in
its own process: results are identical either way.

Whoever can reach the worker's socket runs code as this user, so the socket lives in a fresh
directory only this user can enter (mode 0700, checked by both ends), and the worker runs only
the library functions the rules name as jobs (``job_functions``), whatever a request asks.

This module imports only the standard library, so a thin job script starts fast.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import logging
import os
import re
import select
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from mtbridge.aliases import PathLike
from mtbridge.provenance import (
    SETTINGS_ROOT,
    provenance,
    provenance_path,
    read_settings,
    write_if_changed,
)

SOCKET_VARIABLE = "MTBRIDGE_WARM_SOCKET"
RESUME_ROOT = ".mtbridge/resume"
PRELOAD = ("torch", "transformers", "mtbridge.models", "mtbridge.pretraining",
           "mtbridge.finetuning", "mtbridge.tables", "mtbridge.data", "mtbridge.tokenizer")
LOG_FORMAT = "%(asctime)s %(levelname)s %(message)s"
SOCKET_NAME = "worker.sock"
# how a rule names its job's library function: job_settings("mtbridge.<module>:<function>", ...)
JOB_FUNCTION = re.compile(r'job_settings\(\s*"(mtbridge(?:\.\w+)+:\w+)"')


# read by OpenBLAS, OpenMP and MKL when a job loads them
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class RefusedJob(RuntimeError):
    """The warm worker refused a request: a function that is not one of the rules' jobs."""


def resolve(function: str):
    """``"package.module:function"`` → the function."""
    module, _, name = function.partition(":")
    return getattr(importlib.import_module(module), name)


def configure_logging(log_path: str) -> None:
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(log_path, mode="a", encoding="utf-8")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logger = logging.getLogger("mtbridge")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False


@contextlib.contextmanager
def thread_limit(threads: int | None) -> Iterator[None]:
    """BLAS and OpenMP pools capped at the job's threads: those already loaded (threadpoolctl) and those
    a job loads later (their environment variables). Uncapped, numpy's and scipy's OpenBLAS each start
    one busy-waiting thread per core in every job, so two scikit-learn jobs side by side on 2 cores ran
    many times slower than one alone (the alignment probes), and results depended on the node's cores."""
    if threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    os.environ.update(dict.fromkeys(THREAD_VARIABLES, str(threads)))
    try:
        with threadpool_limits(threads):
            yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def execute(function: str, kwargs: dict[str, Any], log_path: str, threads: int | None = None) -> int:
    """Run the job in this process, its BLAS/OpenMP pools capped at ``threads``; 0 on success, 1 with the
    traceback in the log on failure."""
    configure_logging(log_path)
    logger = logging.getLogger("mtbridge")
    started = time.perf_counter()
    logger.info("start %s pid %d", function, os.getpid())
    try:
        job = resolve(function)  # its modules loaded first: their pools exist when the limit is set
        with thread_limit(threads):
            job(**kwargs)
    except BaseException:  # noqa: BLE001 - every failure must reach the log and the exit status
        logger.error("failed:\n%s", traceback.format_exc())
        return 1
    logger.info("done in %.2f s", time.perf_counter() - started)
    return 0


def run(function: str, log: str, *, job_threads: int | None = None, **kwargs: Any) -> None:
    """Entry point of every job script: run ``function(**kwargs)`` on ``job_threads`` BLAS/OpenMP threads
    (the rule's `threads`), exit non-zero on failure."""
    code = submit_to_worker(function, kwargs, log, job_threads)
    if code is None:
        code = execute(function, kwargs, log, job_threads)
    if code != 0:
        sys.stderr.write(tail(log))
        raise SystemExit(f"mtbridge job {function} failed (exit {code}); log: {log}")


def job_params(snakemake: Any) -> SimpleNamespace:
    """The params of a Snakemake job, read from its settings file (see mtbridge.provenance)."""
    return SimpleNamespace(**read_settings(snakemake.input.settings)["params"])


def resume_settings(snakemake: Any) -> dict[str, Any]:
    """Where a training job saves its state to continue after a kill (``.mtbridge/resume/…``, beside
    its settings file, not a declared output), keyed by its settings so a changed job starts afresh."""
    settings = Path(snakemake.input.settings)
    directory = Path(RESUME_ROOT, *settings.with_suffix("").parts[len(Path(SETTINGS_ROOT).parts):])
    return {"directory": str(directory), "key": hashlib.sha256(settings.read_bytes()).hexdigest(),
            "every": int(snakemake.config.get("resume_every", 0))}


def run_job(snakemake: Any, **kwargs: Any) -> None:
    """Run the job's library function (named in its settings file) with ``kwargs``; then write a
    provenance record beside (or inside) each output."""
    settings = read_settings(snakemake.input.settings)
    run(settings["function"], snakemake.log[0], job_threads=snakemake.threads, **kwargs)
    inputs = {name: [str(path) for path in value] if isinstance(value, list) else str(value)
              for name, value in snakemake.input.items() if name != "settings"}
    record = provenance(settings, inputs, str(snakemake.input.settings))
    for output in snakemake.output:
        write_if_changed(record, provenance_path(output))


def tail(path: str, lines: int = 30) -> str:
    with contextlib.suppress(OSError), open(path, encoding="utf-8", errors="replace") as handle:
        return "".join(handle.readlines()[-lines:])
    return ""


def submit_to_worker(function: str, kwargs: dict[str, Any], log: str,
                     threads: int | None = None) -> int | None:
    """Run the job in the warm worker (``threads`` as in ``execute``); None if there is none to reach."""
    path = os.environ.get(SOCKET_VARIABLE)
    if not path:
        return None
    try:
        check_private(os.path.dirname(path))
    except FileNotFoundError:
        return None
    except PermissionError as error:  # never hand a job to a socket someone else could have put there
        sys.stderr.write(f"not using the warm worker: {error}\n")
        return None
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        client.connect(path)
    except OSError:
        client.close()
        return None
    with client:
        request = {"function": function, "kwargs": kwargs, "log": os.path.abspath(log),
                   "cwd": os.getcwd(), "threads": threads}
        client.sendall(json.dumps(request).encode() + b"\n")
        reply = json.loads(client.makefile("rb").readline() or b'{"exit": 1}')
    if "error" in reply:
        raise RefusedJob(reply["error"])
    return reply["exit"]


# --- the worker -----------------------------------------------------------------------------


def child(request: dict) -> None:
    """In the forked child: become the job, then leave without returning to the server loop."""
    code = 1
    try:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        os.chdir(request["cwd"])
        redirect_output(request["log"])
        code = execute(request["function"], request["kwargs"], request["log"], request.get("threads"))
    finally:
        logging.shutdown()
        os._exit(code)


def redirect_output(log_path: str) -> None:
    """Send the child's stdout and stderr (library warnings, prints) to the job's log."""
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(descriptor, 1)
    os.dup2(descriptor, 2)
    os.close(descriptor)


def supervise(connection: socket.socket, pid: int) -> None:
    """Report the child's exit status to its client; terminate the child if the client leaves."""
    with connection:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                connection.sendall(json.dumps({"exit": os.waitstatus_to_exitcode(status)}).encode()
                                   + b"\n")
                return
            readable, _, _ = select.select([connection], [], [], 0.1)
            if readable and not connection.recv(1):
                terminate(pid)
                return


def terminate(pid: int) -> None:
    os.kill(pid, signal.SIGTERM)
    for _ in range(50):
        if os.waitpid(pid, os.WNOHANG)[0]:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def serve(socket_path: str, owner_pid: int, allowed: Iterable[str]) -> None:
    """Import the heavy modules once, then fork one child per job until ``owner_pid`` exits; a
    request for a function outside ``allowed`` is refused, never imported."""
    allowed = frozenset(allowed)
    check_private(os.path.dirname(socket_path))
    for module in PRELOAD:
        importlib.import_module(module)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(socket_path)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(socket_path + ".tmp")
    os.replace(socket_path + ".tmp", socket_path)  # clients see the socket only once ready
    server.listen(64)
    server.settimeout(1.0)
    while process_alive(owner_pid):
        try:
            connection, _ = server.accept()
        except TimeoutError:
            continue
        connection.settimeout(None)
        request = read_request(connection)
        reason = refusal(request, allowed)
        if reason:
            with connection, contextlib.suppress(OSError):
                connection.sendall(json.dumps({"exit": 1, "error": reason}).encode() + b"\n")
            continue
        pid = os.fork()
        if pid == 0:
            server.close()
            connection.close()
            child(request)
        threading.Thread(target=supervise, args=(connection, pid), daemon=True).start()
    server.close()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(socket_path)
    with contextlib.suppress(OSError):
        os.rmdir(os.path.dirname(socket_path))


def read_request(connection: socket.socket) -> dict:
    """One JSON request line; anything else is an empty request (refused)."""
    try:
        request = json.loads(connection.makefile("rb").readline())
    except ValueError:
        return {}
    return request if isinstance(request, dict) else {}


def refusal(request: dict, allowed: frozenset[str]) -> str:
    """Why the worker will not run ``request`` ('' if it will)."""
    function = request.get("function")
    if not isinstance(function, str) or function not in allowed:
        return (f"warm worker refuses {function!r}: not a job function of the rules "
                f"(job_settings(\"mtbridge.<module>:<function>\", ...) in rules/*.smk)")
    if not isinstance(request.get("kwargs"), dict) or not all(
            isinstance(request.get(key), str) for key in ("log", "cwd")):
        return f"warm worker refuses a malformed request for {function!r}"
    return ""


def job_functions(rules_dir: PathLike) -> list[str]:
    """The library functions the rules run as jobs, read from the rules themselves so the worker's
    allow-list never drifts from them: each ``job_settings("mtbridge.<module>:<function>", ...)``."""
    return sorted({name for path in sorted(Path(rules_dir).glob("*.smk"))
                   for name in JOB_FUNCTION.findall(path.read_text(encoding="utf-8"))})


def check_private(directory: PathLike) -> None:
    """Refuse a socket directory that is not a real directory of this user's, closed to everyone
    else (mode 0700): whoever can reach the socket runs jobs as this user."""
    info = os.lstat(directory)
    mode = stat.S_IMODE(info.st_mode)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or mode & 0o077:
        raise PermissionError(f"{directory}: a warm worker's socket directory must be a directory of this "
                              f"user's with mode 0700 (owner uid {info.st_uid}, mode {oct(mode)})")


def private_directory() -> str:
    """A fresh directory for the socket, created 0700 under a random name (no other user can have
    made it first): under $XDG_RUNTIME_DIR where that is private, else the temporary directory."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    try:
        check_private(base or "")
    except (OSError, PermissionError):
        base = None
    return tempfile.mkdtemp(prefix="mtbridge-", dir=base)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def start_worker(log_path: str, allowed: Iterable[str]) -> subprocess.Popen:
    """Start a worker owned by this process that runs only the ``allowed`` functions (see
    ``job_functions``), its socket in a fresh private directory; point future jobs at it."""
    socket_path = os.path.join(private_directory(), SOCKET_NAME)
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a", encoding="utf-8") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "mtbridge.jobs", socket_path, str(os.getpid()), *allowed],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    os.environ[SOCKET_VARIABLE] = socket_path
    return process


def stop_worker(process: subprocess.Popen | None) -> None:
    """Stop the worker and remove its socket and (now empty) directory."""
    path = os.environ.pop(SOCKET_VARIABLE, None)
    if process is None:
        return
    if process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
    if path:
        with contextlib.suppress(OSError):
            os.unlink(path)
        with contextlib.suppress(OSError):
            os.rmdir(os.path.dirname(path))


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]), sys.argv[3:])
