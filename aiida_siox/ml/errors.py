"""The errors of the ML layer (numpy-free, so every layer can raise and catch them)."""


class SpectrumInputError(ValueError):
    """A spectrum that cannot be used as it is (unreadable, NaN, too short a range, unsorted energies)."""


class StudyInterrupted(Exception):
    """The time limit came: the checkpoint holds everything needed to continue."""
