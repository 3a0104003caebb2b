"""The hyperparameter form's settings as plain values, and back (QSettings keeps them).

Kept apart from :mod:`digitlab.ui.panels.hyperparameters` so the form stays short;
the form's ``config_dict`` and ``set_config_dict`` call these.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from digitlab.core.architecture import ArchitectureError, parse_hidden_layers

if TYPE_CHECKING:
    from digitlab.ui.panels.hyperparameters import HyperparameterForm


def config_dict(form: "HyperparameterForm") -> dict:
    """The form's settings as plain values (for QSettings)."""
    return {
        "hidden": form.hidden_edit.text(),
        "outputs": form.outputs(),
        "activation": form.activation_combo.currentData(),
        "cost": form.cost(),
        "learning_rate": form.learning_rate_spin.value(),
        "batch_size": form.batch_spin.value(),
        "epochs": form.epochs_spin.value(),
        "momentum": form.momentum_spin.value(),
        "weight_decay": form.weight_decay_spin.value(),
        "seed": form.seed_spin.value(),
        "data": form.data_name(),
        "train_size": form.train_size_spin.value(),
        "shuffle_labels": form.shuffle_labels_check.isChecked(),
        "augment": form.augment_check.isChecked(),
        "dropout": form.dropout_spin.value(),
        "none_class": form.none_class(),  # None when off, as TrainingConfig and the model metadata have it
        "continue_training": form.continue_check.isChecked(),
    }


def set_config_dict(form: "HyperparameterForm", values: dict) -> None:
    """Restore settings from :func:`config_dict` output; unknown keys and bad values are skipped.

    Values may be strings (an ini file hands everything back as text).
    """
    # Combos first: a restored cost must not then move a restored learning rate.
    for key, combo in (("activation", form.activation_combo), ("cost", form.cost_combo),
                       ("data", form.data_combo)):
        if key in values:
            _select(combo, str(values[key]))
    if "outputs" in values:
        try:
            _select(form.outputs_combo, int(float(values["outputs"])))
        except (TypeError, ValueError):
            pass
    if "none_class" in values:  # after the outputs: "eleventh" switches them to 11
        # None may come back from an ini file as "none", "" or "@Invalid()": all mean off.
        method = str(values["none_class"])
        _select(form.none_class_combo, method if form.none_class_combo.findData(method) >= 0 else "off")
    spins = {
        "learning_rate": (form.learning_rate_spin, float),
        "batch_size": (form.batch_spin, int),
        "epochs": (form.epochs_spin, int),
        "momentum": (form.momentum_spin, float),
        "weight_decay": (form.weight_decay_spin, float),
        "seed": (form.seed_spin, int),
        "train_size": (form.train_size_spin, int),
        "dropout": (form.dropout_spin, float),
    }
    for key, (spin, kind) in spins.items():
        if key in values:
            try:
                spin.setValue(kind(float(values[key])))
            except (TypeError, ValueError):
                pass
    if "hidden" in values:
        text = str(values["hidden"])
        try:
            parse_hidden_layers(text, outputs=form.outputs())
            form.hidden_edit.setText(text)
        except ArchitectureError:
            pass
    for key, check in (("shuffle_labels", form.shuffle_labels_check), ("augment", form.augment_check),
                       ("continue_training", form.continue_check)):
        if key in values:
            check.setChecked(_to_bool(values[key]))


def _select(combo, value) -> None:
    index = combo.findData(value)
    if index >= 0:
        combo.setCurrentIndex(index)


def _to_bool(value) -> bool:
    # QSettings' ini files hand booleans back as the strings "true" / "false".
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)
