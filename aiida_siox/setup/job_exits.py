"""A local job's end seen when its process exits, not at the next scheduler poll.

aiida-core learns that a job ended only from its scheduler's job list, polled at most once per
``minimum_job_poll_interval`` of the computer. A job therefore ends, on average, half an interval
before the engine sees it, and the interval cannot shrink freely: each poll costs the engine CPU
that the job's MPI ranks need on a small machine (``localhost.yaml``). Measured on 2 cores
(session 25, one quartz site, polled every 1 s): 0.23 s between the job's last file write and the
poll that saw it end; 0.5 s on average, once for every job of a pipeline.

A job of the ``core.direct`` scheduler on a ``core.local`` transport is a process of this machine
whose PID is its job id. Linux hands out a file descriptor for a process (``pidfd_open``) that
becomes readable when the process exits, for any process, not only a child. The job list watches
each such job's descriptor in its event loop and polls the scheduler at once when one becomes
readable; the regular polls go on as before, so a job whose descriptor cannot be had (another
system, a job already gone) is still seen at the next one. Nothing else changes: the job's state
still comes from the scheduler's own answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Hashable, Iterator

#: Seconds before a job exit seen during a poll asks again: that poll may have listed the job before it ended.
RETRY_SECONDS = 0.05
#: Times it asks again before it leaves the job to the regular polls (a poll stuck waiting for its transport).
MAX_RETRIES = 40


def watchable(computer) -> bool:
    """Whether ``computer``'s jobs are processes of this machine whose job ids are their PIDs."""
    return hasattr(os, 'pidfd_open') and computer.transport_type == 'core.local' and computer.scheduler_type == 'core.direct'


def poll_now(jobs_list, retries: int = MAX_RETRIES) -> None:
    """Make ``jobs_list`` ask the scheduler at once, instead of at its next regular poll."""
    loop = jobs_list._loop
    handle = jobs_list._update_handle
    if handle is not None and not handle.cancelled() and handle.when() <= loop.time():
        # a poll is under way (its timer has fired): it may have listed the job just before it ended
        if retries > 0:
            loop.call_later(RETRY_SECONDS, poll_now, jobs_list, retries - 1)
        return
    if handle is not None:
        for argument in handle._args or ():  # the poll's coroutine, made when it was scheduled: never to run now
            if asyncio.iscoroutine(argument):
                argument.close()
        handle.cancel()
    jobs_list._update_handle = None
    jobs_list._last_updated = None  # no wait for the minimum interval: this poll answers an exit
    jobs_list._ensure_updating()


def watch_exit(jobs_list, job_id: str) -> None:
    """Poll ``jobs_list``'s scheduler as soon as the process ``job_id`` exits (once per job)."""
    watched = jobs_list.__dict__.setdefault('_siox_exit_watches', set())
    if job_id in watched or not job_id.isdecimal():
        return
    try:
        descriptor = os.pidfd_open(int(job_id))
    except ProcessLookupError:  # it has already ended
        poll_now(jobs_list)
        return
    except OSError:  # not allowed here (seccomp, an old kernel): the regular polls see it end
        return
    loop: asyncio.AbstractEventLoop = jobs_list._loop

    def exited() -> None:
        loop.remove_reader(descriptor)
        os.close(descriptor)
        watched.discard(job_id)
        poll_now(jobs_list)

    try:
        loop.add_reader(descriptor, exited)
    except (RuntimeError, NotImplementedError):  # a closed loop, or one without readers: the regular polls see it end
        os.close(descriptor)
        return
    watched.add(job_id)


def install() -> None:
    """Make ``JobsList`` watch the exit of every local direct-scheduler job it is asked about; once."""
    from aiida.engine.processes.calcjobs.manager import JobsList

    if getattr(JobsList.request_job_info_update, 'watches_exits', False):
        return
    original = JobsList.request_job_info_update

    @contextlib.contextmanager
    def request_job_info_update(self, authinfo, job_id: Hashable) -> Iterator[asyncio.Future]:
        with original(self, authinfo, job_id) as request:
            if '_siox_watchable' not in self.__dict__:  # a job list serves one computer
                self._siox_watchable = watchable(authinfo.computer)
            if self._siox_watchable:
                watch_exit(self, str(job_id))
            yield request

    request_job_info_update.watches_exits = True
    JobsList.request_job_info_update = request_job_info_update
