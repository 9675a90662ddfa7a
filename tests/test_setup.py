"""`siox setup` pieces against the test profile: idempotent codes, clear errors for missing programs."""

import shutil

import pytest
from aiida import orm

from aiida_siox.setup.environment import DEFAULT_CONFIG_DIR, SetupError, ensure_codes, ensure_computer


def test_setup_twice_creates_nothing_twice(siox_setup):
    before = orm.QueryBuilder().append(orm.InstalledCode).count()
    messages = []
    computer = ensure_computer(DEFAULT_CONFIG_DIR, messages.append)
    codes = ensure_codes(DEFAULT_CONFIG_DIR, computer, messages.append)
    assert orm.QueryBuilder().append(orm.InstalledCode).count() == before
    assert all('exists' in m for m in messages), messages
    assert {c.pk for c in codes.values()} == {c.pk for c in siox_setup['codes'].values()}
    assert codes['pw'].default_calc_job_plugin == 'quantumespresso.pw'


def test_localhost_runs_transport_commands_without_a_login_shell(siox_setup):
    """A login shell per `ps` poll and per submission cost 0.13 s each here: localhost is set without one, also
    when it was configured with one before (as by `verdi presto`)."""
    computer = siox_setup['computer']
    authinfo = computer.get_authinfo(orm.User.collection.get_default())
    authinfo.set_auth_params({**authinfo.get_auth_params(), 'use_login_shell': True})
    messages = []
    ensure_computer(DEFAULT_CONFIG_DIR, messages.append)
    assert authinfo.get_auth_params()['use_login_shell'] is False
    assert '  computer localhost: use_login_shell set to False' in messages
    with computer.get_transport() as transport:
        assert transport._use_login_shell is False


def test_localhost_polls_its_jobs_every_second(siox_setup):
    """aiida's default interval (10 s) would keep each few-second job waiting for the next poll; a shorter one than
    1 s costs the engine more CPU than it saves (localhost.yaml has the measurements)."""
    computer = siox_setup['computer']
    previous = computer.get_minimum_job_poll_interval()
    computer.set_minimum_job_poll_interval(10.0)
    messages = []
    try:
        ensure_computer(DEFAULT_CONFIG_DIR, messages.append)
        assert computer.get_minimum_job_poll_interval() == 1.0
        assert '  computer localhost: asks the scheduler every 1 s whether a job has ended' in messages
    finally:
        computer.set_minimum_job_poll_interval(previous)


def test_missing_executable_names_its_debian_package(siox_setup, tmp_path):
    config_dir = tmp_path / 'setup_profiles'
    shutil.copytree(DEFAULT_CONFIG_DIR, config_dir)
    pw = config_dir / 'codes' / 'pw.yaml'
    pw.write_text(pw.read_text().replace('executable: pw.x', 'executable: pw-not-installed.x'))
    computer = siox_setup['computer']
    with pytest.raises(SetupError, match=r'pw-not-installed\.x \(install the Debian package `quantum-espresso`\)'):
        ensure_codes(config_dir, computer, print)


def test_missing_config_file_says_where_to_point(tmp_path):
    with pytest.raises(SetupError, match='--config-dir'):
        ensure_computer(tmp_path, print)


def test_presto_runner_poll_interval_is_replaced_and_a_users_is_kept(aiida_profile):
    from aiida.manage.configuration import get_config

    from aiida_siox.setup.environment import PRESTO_RUNNER_POLL_SECONDS, ensure_runner_poll_interval

    config, name, lines = get_config(), aiida_profile.name, []
    original = config.get_option('runner.poll.interval', scope=name)
    try:
        config.set_option('runner.poll.interval', PRESTO_RUNNER_POLL_SECONDS, scope=name)
        ensure_runner_poll_interval(name, 10, lines.append)
        assert config.get_option('runner.poll.interval', scope=name) == 10 and 'every 10 s' in lines[0]
        config.set_option('runner.poll.interval', 30, scope=name)  # a user's own choice
        ensure_runner_poll_interval(name, 10, lines.append)
        assert config.get_option('runner.poll.interval', scope=name) == 30 and len(lines) == 1
        config.unset_option('runner.poll.interval', scope=name)  # nothing set (a profile not made by presto)
        ensure_runner_poll_interval(name, 10, lines.append)
        assert config.get_option('runner.poll.interval', scope=name) == 10 and len(lines) == 2
        config.unset_option('runner.poll.interval', scope=name)
        config.set_option('runner.poll.interval', 20)  # the user's global value, no profile value
        ensure_runner_poll_interval(name, 10, lines.append)
        assert config.get_option('runner.poll.interval', scope=name, default=False) is None and len(lines) == 2  # kept
    finally:
        config.unset_option('runner.poll.interval')
        config.set_option('runner.poll.interval', original, scope=name)
        config.store()
