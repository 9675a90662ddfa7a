"""A job whose daemon died right after its upload keeps its ``remote_folder`` output when it resumes.

aiida-core 2.9's upload task emits ``remote_folder`` and marks the job ``UNSTASHING``; the output is
linked only when the process enters its next state, which is also when its checkpoint is saved. A
daemon killed between the two (SIGKILL, OOM, a node reboot) leaves a job whose state says the upload
is done and whose checkpoint says it is not: on resume the upload task logs "already marked as
UNSTASHING, skipping" and returns, the job is submitted, runs and finishes [0], but has no
``remote_folder``. ``PwBaseWorkChain`` then fails the job as ``ERROR_CALCULATION_FAILED`` [11]
(measured: a site lost to exit 410 after a daemon kill in ``test_daemon_kill``).

The upload task here does what the skipped upload would have left behind: when it finds the job
already uploaded and without ``remote_folder``, it emits one for the job's remote working directory
(set by the upload, on the node) before going on. Nothing is uploaded twice.
"""

from __future__ import annotations

import logging

from aiida.common.datastructures import CalcJobState

LOGGER = logging.getLogger(__name__)


def emit_lost_remote_folder(process) -> bool:
    """Emit ``remote_folder`` for a job already uploaded by a daemon that died before linking it; whether it did."""
    from aiida import orm

    node = process.node
    if node.get_state() != CalcJobState.UNSTASHING:
        return False
    workdir = node.get_remote_workdir()
    if workdir is None or 'remote_folder' in process.outputs:
        return False
    if node.base.links.get_outgoing(orm.RemoteData, link_label_filter='remote_folder').first() is not None:
        return False
    process.out('remote_folder', orm.RemoteData(computer=node.computer, remote_path=workdir))
    LOGGER.warning(f'CalcJob<{node.pk}> was uploaded by a daemon that stopped before linking remote_folder: linked {workdir}')
    return True


def install() -> None:
    """Wrap aiida's upload task (the ``Waiting`` state looks it up in its module on each upload); once."""
    from aiida.engine.processes.calcjobs import tasks

    upload = tasks.task_upload_job
    if getattr(upload, 'emits_lost_remote_folder', False):
        return

    async def task_upload_job(process, transport_queue, cancellable):
        emit_lost_remote_folder(process)
        return await upload(process, transport_queue, cancellable)

    task_upload_job.emits_lost_remote_folder = True
    task_upload_job.__doc__ = upload.__doc__
    tasks.task_upload_job = task_upload_job
