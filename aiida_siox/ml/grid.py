"""The energy grid the networks read, and the reference that puts computed spectra on it (one place for both)."""

import numpy as np

#: The paper's ML input window (eV) and its number of points.
GRID_START_EV, GRID_END_EV, GRID_POINTS = 1830.0, 1880.0, 256
#: The ML input grid: 1830-1880 eV, 256 points.
ML_GRID = np.linspace(GRID_START_EV, GRID_END_EV, GRID_POINTS)
#: Experimental main peak of alpha-quartz (paper Fig. S1): the calibration puts computed quartz here.
QUARTZ_MAIN_PEAK_EV = 1846.0
