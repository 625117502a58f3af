"""One re-evaluation timer at a time in Snakemake's job scheduler.

Snakemake 9 (up to at least 9.27) starts a one-second timer after every pass of its scheduling loop
while its job-rate limiter is on (the default, ``--max-jobs-per-timespan 100/1s``), and each timer's
pass starts another. Every finished job adds a pass, so while ready jobs wait for a free core the
passes grow to one per finished job per second, each re-reading the size of every ready job's
inputs. In the default study (1,000 jobs, 600 ready predictions on 2 cores) the scheduler then took
most of a core from the jobs: rerunning the 600 predictions, its process used 171 s of CPU (29 s with
one timer; docs/performance.md; upstream: snakemake/snakemake PR 3744). One pending timer is all the
rate limiter needs: it fires, the loop looks again, and a new one starts if jobs are still waiting.

Standard library only: rules/common.smk applies it while the Snakefile is read.
"""

from __future__ import annotations

import threading
from typing import Any

PATCHED = "_mtbridge_one_timer"
_TIMER_LOCK = threading.Lock()


def coalesce_reevaluations(scheduler_class: Any) -> bool:
    """Make ``scheduler_class._schedule_reevalutation`` (Snakemake's spelling) keep at most one
    pending timer, as a daemon thread (a timer left at exit never delays it). False, and nothing
    changed, when the class has no such method (another Snakemake version: its own behaviour stays)."""
    original = getattr(scheduler_class, "_schedule_reevalutation", None)
    if original is None:
        return False
    if getattr(original, PATCHED, False):
        return True

    def schedule_reevaluation(self: Any, delay: float) -> None:
        with _TIMER_LOCK:
            if getattr(self, "_mtbridge_timer", None) is not None:
                return
            self._mtbridge_timer = threading.Timer(delay, _fire, args=(self,))
            self._mtbridge_timer.daemon = True
            self._mtbridge_timer.start()

    setattr(schedule_reevaluation, PATCHED, True)
    scheduler_class._schedule_reevalutation = schedule_reevaluation
    return True


def _fire(scheduler: Any) -> None:
    with _TIMER_LOCK:
        scheduler._mtbridge_timer = None
    scheduler._open_jobs.release()
