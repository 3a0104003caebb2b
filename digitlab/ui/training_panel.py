"""Moved: the training panel is :mod:`digitlab.ui.panels.training_panel`.

Its parts are :mod:`digitlab.ui.panels.hyperparameters` (the form) and
:mod:`digitlab.ui.widgets.learning_curves` (the curves). This alias keeps
old imports working while the window moves over; it will be removed.
"""

from digitlab.ui.panels.training_panel import TrainingPanel  # noqa: F401
from digitlab.ui.widgets.learning_curves import LearningCurves  # noqa: F401
