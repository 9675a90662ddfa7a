"""A job uploaded by a daemon that died before linking ``remote_folder`` gets it on resume (setup/upload_resume.py)."""

from aiida import orm
from aiida.common.datastructures import CalcJobState
from aiida.engine.processes.calcjobs import tasks
from aiida.engine.utils import instantiate_process
from aiida.manage import get_manager
from aiida.plugins import CalculationFactory

import aiida_siox.workflows  # noqa: F401  (installs the upload task, as in a daemon worker that runs our workchains)
from aiida_siox.setup.upload_resume import emit_lost_remote_folder


def arithmetic_job(computer: orm.Computer):
    code = orm.InstalledCode(computer=computer, filepath_executable='/bin/bash', default_calc_job_plugin='core.arithmetic.add')
    builder = CalculationFactory('core.arithmetic.add').get_builder()
    builder.code = code.store()
    builder.x, builder.y = orm.Int(1), orm.Int(2)
    runner = get_manager().get_runner()
    return runner, instantiate_process(runner, builder)


def test_resumed_upload_links_the_remote_folder_of_an_uploaded_job(aiida_profile, aiida_localhost, tmp_path):
    runner, process = arithmetic_job(aiida_localhost)
    node = process.node
    # what a daemon killed between the upload and the next checkpoint leaves: uploaded, no remote_folder
    node.set_remote_workdir(str(tmp_path))
    node.set_state(CalcJobState.UNSTASHING)
    assert tasks.task_upload_job.emits_lost_remote_folder
    skip_submit = runner.loop.run_until_complete(tasks.task_upload_job(process, runner.transport, None))
    assert skip_submit is None  # aiida's own task still skips the upload: nothing is uploaded twice
    process.update_outputs()  # what entering the next state does
    assert node.outputs.remote_folder.get_remote_path() == str(tmp_path)
    assert node.outputs.remote_folder.computer.uuid == aiida_localhost.uuid
    # resumed again (another kill): the link is there, nothing more is emitted
    assert not emit_lost_remote_folder(process)


def test_a_job_not_yet_uploaded_is_left_to_the_upload(aiida_profile, aiida_localhost, tmp_path):
    _, process = arithmetic_job(aiida_localhost)
    process.node.set_state(CalcJobState.UPLOADING)
    assert not emit_lost_remote_folder(process)
    assert 'remote_folder' not in process.outputs
