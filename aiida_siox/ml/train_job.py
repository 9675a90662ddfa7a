"""Entry point of the training job: dataset.npz + config.json -> models, metrics, predictions, plots.

Runs on any computer with Python, numpy and torch (matplotlib optional, for the PNGs); AiiDA is not
needed there. The job ships this package as ``siox_ml/`` and runs::

    python -m siox_ml.train_job dataset.npz config.json

Exit status 0: finished. Exit status 3: the job's limit (``max_seconds``, or ``epochs_per_job``) came
first; the study is saved in ``checkpoint.pt`` and a job started with that file next to it continues
from there.
"""

from __future__ import annotations

import time

_MODULE_START = time.perf_counter()  # before numpy and torch: their import is part of the job's fixed cost

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from .plots import write_plots  # noqa: E402
from .study import Study, StudyInterrupted, StudyState  # noqa: E402

CHECKPOINT = 'checkpoint.pt'
ERROR_FILE = 'error.txt'
EXIT_INTERRUPTED = 3


def _log(message: str) -> None:
    print(message, flush=True)


def seconds_since_process_start() -> float | None:
    """Seconds since this process started (Linux: /proc), None where that cannot be read."""
    try:
        with open('/proc/self/stat') as handle:
            start_ticks = float(handle.read().rsplit(')', 1)[1].split()[19])
        with open('/proc/uptime') as handle:
            uptime = float(handle.read().split()[0])
        return max(uptime - start_ticks / os.sysconf('SC_CLK_TCK'), 0.0)
    except (OSError, ValueError, IndexError):
        return None


#: The job's fixed cost before any data: interpreter start and the imports of numpy, torch and the study.
_IMPORTED = time.perf_counter()
_SINCE_START_AT_IMPORT = seconds_since_process_start()


def main(dataset_path: str, config_path: str) -> int:
    load_start = time.perf_counter()
    with open(config_path) as handle:
        config = json.load(handle)
    with np.load(dataset_path) as archive:
        data = {name: archive[name] for name in archive.files}
    imports = _IMPORTED - _MODULE_START
    fixed_cost = {
        'start_seconds': None if _SINCE_START_AT_IMPORT is None else max(_SINCE_START_AT_IMPORT - imports, 0.0),
        'imports_seconds': imports,
        'data_load_seconds': time.perf_counter() - load_start,
    }
    state = None
    if os.path.exists(CHECKPOINT):
        state = StudyState.from_dict(torch.load(CHECKPOINT, weights_only=False))
        _log(f'continuing from {CHECKPOINT}: {len(state.completed)} stage(s) done: {", ".join(state.completed) or "-"}')
    study = Study(data, config, _log, state)
    try:
        metrics, predictions, models = study.run()
    except StudyInterrupted as interruption:
        torch.save(study.state.to_dict(), CHECKPOINT)
        _log(f'{interruption}: saved {CHECKPOINT}')
        return EXIT_INTERRUPTED
    metrics['resumed'] = state is not None
    metrics['fixed_cost'] = fixed_cost
    with open('metrics.json', 'w') as handle:
        json.dump(metrics, handle, indent=1)
    if study.config['save_models']:  # false: a study run for its numbers alone (e.g. a learning-curve point)
        for target, content in models.items():
            torch.save(content, f'{target}_model.pt')
    np.savez('predictions.npz', **predictions)
    write_plots(metrics, predictions, data, _log)
    _log(
        f'charge test RMSE {metrics["charge_rmse_test"]:.4f} e, RDF test RMSE {metrics["rdf_rmse_test"]:.4f}, '
        f'baseline {metrics["baseline"]["test"]["rmse"]:.4f} e; {metrics["training_seconds"]:.1f} s'
    )
    return 0


if __name__ == '__main__':
    if len(sys.argv) != 3:
        print('usage: python -m siox_ml.train_job dataset.npz config.json', file=sys.stderr)
        sys.exit(2)
    try:
        sys.exit(main(sys.argv[1], sys.argv[2]))
    except Exception as exception:  # the parser reports this line as the job's error
        with open(ERROR_FILE, 'w') as handle:
            handle.write(f'{type(exception).__name__}: {exception}\n')
        raise
