"""One pending re-evaluation timer in Snakemake's scheduler (mtbridge.scheduling)."""

from __future__ import annotations

import threading

from snakemake.scheduling.job_scheduler import JobScheduler

from mtbridge.scheduling import coalesce_reevaluations


class Scheduler:
    """The two members of Snakemake's JobScheduler the patch touches."""

    def __init__(self) -> None:
        self._open_jobs = threading.Semaphore(0)

    def _schedule_reevalutation(self, delay: float) -> None:
        threading.Timer(delay, self._open_jobs.release).start()


def passes(scheduler: Scheduler, wait: float) -> int:
    """How many scheduling passes the released semaphore allows within WAIT seconds."""
    count = 0
    while scheduler._open_jobs.acquire(timeout=wait):
        count += 1
    return count


def test_unpatched_scheduler_starts_one_timer_per_pass() -> None:
    scheduler = Scheduler()
    for _ in range(20):
        scheduler._schedule_reevalutation(0.01)
    assert passes(scheduler, 0.2) == 20  # the growth the patch removes


def test_many_requests_while_a_timer_is_pending_give_one_pass() -> None:
    class Patched(Scheduler):
        pass

    assert coalesce_reevaluations(Patched)
    scheduler = Patched()
    for _ in range(20):
        scheduler._schedule_reevalutation(0.01)
    assert passes(scheduler, 0.2) == 1
    scheduler._schedule_reevalutation(0.01)  # after it fired, the next request starts a new timer
    assert passes(scheduler, 0.2) == 1


def test_pending_timer_is_a_daemon_so_exit_never_waits_for_it() -> None:
    class Patched(Scheduler):
        pass

    coalesce_reevaluations(Patched)
    scheduler = Patched()
    scheduler._schedule_reevalutation(60)
    assert scheduler._mtbridge_timer.daemon
    scheduler._mtbridge_timer.cancel()


def test_patching_twice_keeps_one_wrapper() -> None:
    class Patched(Scheduler):
        pass

    coalesce_reevaluations(Patched)
    wrapper = Patched._schedule_reevalutation
    assert coalesce_reevaluations(Patched)
    assert Patched._schedule_reevalutation is wrapper


def test_a_class_without_the_method_is_left_alone() -> None:
    class Other:
        pass

    assert not coalesce_reevaluations(Other)
    assert not hasattr(Other, "_schedule_reevalutation")


def test_the_installed_snakemake_has_the_method_the_patch_replaces() -> None:
    """A Snakemake upgrade that renames it would silently bring the timer growth back: fail here."""
    assert callable(getattr(JobScheduler, "_schedule_reevalutation", None))
    assert coalesce_reevaluations(JobScheduler)
