"""Every change this plugin makes to aiida-core's engine, installed in one call (each is idempotent).

Each lives in its own module with the measurement that earned it. The first fourteen keep aiida's results
unchanged (they skip work whose answer is known, or do it sooner; one writes a display time up to
a second late); the last mends an aiida-core 2.9 bug:

- ``parsers/qe_xml_schema.py``: pw.x's XML schema built once per process, not per job;
- ``setup/checkpoint_yaml.py``: process checkpoints written by libyaml's emitter;
- ``setup/checkpoint_nodes.py``: the nodes of a process checkpoint loaded in one query;
- ``setup/unstored_links.py``: no link queries for nodes not stored yet;
- ``setup/stored_rows.py``: whether an entity is stored, answered without reloading its row;
- ``setup/node_uuids.py``: a node's UUID read once per node object, not again after every commit;
- ``setup/data_attributes.py``: a stored data node's attributes and hash read once per node object, not at every use;
- ``setup/process_inputs.py``: a stored process node's inputs read once per node object, and known as it is stored;
- ``setup/job_monitors.py``: a job's (absent) monitors looked up once, not at every poll;
- ``setup/job_polls.py``: a running job's scheduler poll writes its node twice instead of four times;
- ``setup/state_change_timestamp.py``: the profile's "last state change" time written at most once a second;
- ``setup/process_outputs.py``: a process's outputs linked, and their links validated, without asking which it has;
- ``setup/object_lookups.py``: the object store asked once per file read and once per node hash, not per file;
- ``setup/job_exits.py``: a local job's end seen when its process exits, not at the next scheduler poll;
- ``setup/upload_resume.py``: a job uploaded just before a daemon crash keeps its ``remote_folder``.

Installed by importing ``aiida_siox.workflows`` or ``aiida_siox.calculations``: a daemon worker that
loads any of our processes has them.
"""

from __future__ import annotations


def install() -> None:
    """Install every engine change of this module's list."""
    from aiida_siox.parsers.qe_xml_schema import install as install_schema_cache
    from aiida_siox.setup.checkpoint_nodes import install as install_checkpoint_nodes
    from aiida_siox.setup.checkpoint_yaml import install as install_checkpoint_yaml
    from aiida_siox.setup.data_attributes import install as install_data_attributes
    from aiida_siox.setup.job_exits import install as install_job_exits
    from aiida_siox.setup.job_monitors import install as install_job_monitors
    from aiida_siox.setup.job_polls import install as install_job_polls
    from aiida_siox.setup.node_uuids import install as install_node_uuids
    from aiida_siox.setup.object_lookups import install as install_object_lookups
    from aiida_siox.setup.process_inputs import install as install_process_inputs
    from aiida_siox.setup.process_outputs import install as install_process_outputs
    from aiida_siox.setup.state_change_timestamp import install as install_state_change_timestamp
    from aiida_siox.setup.stored_rows import install as install_stored_rows
    from aiida_siox.setup.unstored_links import install as install_unstored_links
    from aiida_siox.setup.upload_resume import install as install_upload_resume

    install_schema_cache()
    install_checkpoint_yaml()
    install_checkpoint_nodes()
    install_unstored_links()
    install_stored_rows()
    install_node_uuids()
    install_data_attributes()
    install_process_inputs()
    install_job_monitors()
    install_job_polls()
    install_state_change_timestamp()
    install_process_outputs()
    install_object_lookups()
    install_job_exits()
    install_upload_resume()
