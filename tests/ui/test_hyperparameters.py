"""The hyperparameter form on its own: real widgets driven as a user would."""

import pytest
from PySide6.QtCore import Qt

from digitlab.core.architecture import ArchitectureError
from digitlab.core.training import DEFAULT_LEARNING_RATES
from digitlab.ui.panels.hyperparameters import HyperparameterForm


@pytest.fixture
def form(qtbot):
    widget = HyperparameterForm()
    qtbot.addWidget(widget)
    widget.show()
    return widget


def choose(combo, value):
    combo.setCurrentIndex(combo.findData(value))


def type_rate(qtbot, form, text):
    """Replace the learning rate by typing, as a user does."""
    spin = form.learning_rate_spin
    spin.setFocus()
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin.lineEdit(), text)
    qtbot.keyClick(spin.lineEdit(), Qt.Key.Key_Return)


def test_defaults_are_the_video_network(form):
    assert form.architecture() == ((784, 16, 16, 10), "sigmoid", "mse")
    assert form.learning_rate_spin.value() == 3.0
    config = form.training_config()
    assert (config.learning_rate, config.batch_size, config.epochs, config.train_size) == (3.0, 10, 10, None)


def test_switching_cost_switches_the_default_rate(qtbot, form):
    choose(form.cost_combo, "cross_entropy")
    assert form.learning_rate_spin.value() == pytest.approx(0.2)
    assert form.training_config().learning_rate == pytest.approx(0.2)
    choose(form.cost_combo, "mse")
    assert form.learning_rate_spin.value() == pytest.approx(3.0)
    assert not form.rate_is_own()


def test_a_typed_rate_survives_a_cost_switch(qtbot, form):
    type_rate(qtbot, form, "0.5")
    assert form.learning_rate_spin.value() == pytest.approx(0.5)
    assert form.rate_is_own()
    choose(form.cost_combo, "cross_entropy")
    assert form.learning_rate_spin.value() == pytest.approx(0.5)
    choose(form.cost_combo, "mse")
    assert form.learning_rate_spin.value() == pytest.approx(0.5)


def test_typing_the_default_back_follows_the_cost_again(qtbot, form):
    type_rate(qtbot, form, "0.5")
    type_rate(qtbot, form, "3")
    assert not form.rate_is_own()
    choose(form.cost_combo, "cross_entropy")
    assert form.learning_rate_spin.value() == pytest.approx(0.2)


def test_restored_settings_say_whether_the_rate_was_typed(form):
    form.set_config_dict({"cost": "cross_entropy", "learning_rate": "0.2"})
    assert form.learning_rate_spin.value() == pytest.approx(0.2) and not form.rate_is_own()
    choose(form.cost_combo, "mse")
    assert form.learning_rate_spin.value() == pytest.approx(3.0)

    form.set_config_dict({"cost": "cross_entropy", "learning_rate": "0.75"})
    assert form.rate_is_own()
    choose(form.cost_combo, "mse")
    assert form.learning_rate_spin.value() == pytest.approx(0.75)


def test_eleven_outputs_can_be_chosen(qtbot, form):
    assert [form.outputs_combo.itemData(i) for i in range(form.outputs_combo.count())] == [10, 11]
    choose(form.outputs_combo, 11)
    assert form.architecture()[0] == (784, 16, 16, 11)
    form.set_architecture((784, 30, 10), "relu", "cross_entropy")
    assert form.architecture() == ((784, 30, 10), "relu", "cross_entropy")
    form.set_architecture((784, 11), "tanh", "mse")
    assert form.outputs() == 11 and form.hidden_edit.text() == ""
    assert form.architecture() == ((784, 11), "tanh", "mse")


def test_bad_layers_are_flagged_and_refused_with_the_cores_message(qtbot, form):
    events = []
    form.architectureEdited.connect(lambda: events.append(form.architecture_is_valid()))
    qtbot.keyClicks(form.hidden_edit, ",,")
    assert "border" in form.hidden_edit.styleSheet()
    assert events and events[-1] is False
    with pytest.raises(ArchitectureError):
        form.architecture()
    form.hidden_edit.setText("5000")  # over MAX_LAYER_SIZE
    assert not form.architecture_is_valid()
    form.hidden_edit.setText("32")
    assert form.hidden_edit.styleSheet() == "" and events[-1] is True


def test_edit_signals(qtbot, form):
    with qtbot.waitSignal(form.hyperparametersEdited, timeout=1000):
        form.momentum_spin.setValue(0.5)
    with qtbot.waitSignal(form.architectureEdited, timeout=1000):
        choose(form.outputs_combo, 11)
    assert form.live_hyperparameters() == {"learning_rate": 3.0, "momentum": 0.5, "weight_decay": 0.0}


def test_a_run_locks_what_it_cannot_change(form):
    form.set_running(True)
    assert not form.hidden_edit.isEnabled() and not form.outputs_combo.isEnabled()
    assert not form.cost_combo.isEnabled() and not form.batch_spin.isEnabled()
    assert form.learning_rate_spin.isEnabled() and form.momentum_spin.isEnabled()
    assert form.weight_decay_spin.isEnabled()
    assert not form.dropout_spin.isEnabled()  # the loop takes no dropout change mid-run
    form.set_running(False)
    assert form.hidden_edit.isEnabled() and form.outputs_combo.isEnabled()


def test_config_dict_round_trip_from_strings(qtbot, form):
    form.hidden_edit.setText("32,8")
    choose(form.outputs_combo, 11)
    choose(form.cost_combo, "cross_entropy")
    form.learning_rate_spin.setValue(0.75)
    form.seed_spin.setValue(42)
    form.augment_check.setChecked(True)
    form.dropout_spin.setValue(0.25)
    saved = form.config_dict()
    assert saved["outputs"] == 11 and saved["dropout"] == 0.25
    assert form.training_config().dropout == 0.25
    from digitlab.core.history import model_metadata

    # The window saves a model's metadata from these settings: the dropout rate goes with it.
    meta = model_metadata(data="sample", train_examples=9000, config=saved, history_rows=[], made_by="test")
    assert meta["hyperparameters"]["dropout"] == 0.25

    other = HyperparameterForm()
    qtbot.addWidget(other)
    # An ini file hands every value back as text.
    other.set_config_dict({key: str(value).lower() for key, value in saved.items()})
    assert other.config_dict() == saved
    other.set_config_dict({"outputs": "12", "hidden": "1,2,3,4,5,6,7,8,9", "seed": "x"})
    assert other.config_dict() == saved


def test_the_speed_field_offers_slow_motion_and_stays_enabled_during_a_run(form):
    texts = [form.speed_combo.itemText(i) for i in range(form.speed_combo.count())]
    assert texts == ["full", "100 batches/s", "20 batches/s", "5 batches/s", "2 batches/s"]
    assert form.batch_rate() is None  # full speed unless asked
    choose(form.speed_combo, 5.0)
    assert form.batch_rate() == 5.0
    form.set_running(True)
    assert form.speed_combo.isEnabled() and not form.batch_spin.isEnabled()


def test_none_of_these_choice_goes_into_the_config_and_eleventh_implies_11_outputs(qtbot, form):
    combo = form.none_class_combo
    assert [combo.itemData(i) for i in range(combo.count())] == ["off", "exposure", "eleventh"]
    assert form.none_class() is None and form.training_config().none_class is None
    assert form.config_dict()["none_class"] is None
    choose(combo, "exposure")
    assert form.training_config().none_class == "exposure" and form.outputs() == 10
    with qtbot.waitSignal(form.architectureEdited):
        choose(combo, "eleventh")
    assert form.outputs() == 11 and form.architecture()[0][-1] == 11
    assert form.training_config().none_class == "eleventh"
    # Back to 10 outputs: the eleventh class cannot be trained, so the choice turns off.
    choose(form.outputs_combo, 10)
    assert form.none_class() is None
    form.set_running(True)
    assert not combo.isEnabled()
    form.set_running(False)


def test_none_of_these_is_restored_and_kept_in_the_model_metadata(qtbot, form):
    from digitlab.core.history import model_metadata

    choose(form.none_class_combo, "eleventh")
    saved = form.config_dict()
    meta = model_metadata(data="sample", train_examples=9000, config=saved, history_rows=[], made_by="test")
    assert meta["hyperparameters"]["none_class"] == "eleventh"
    other = HyperparameterForm()
    qtbot.addWidget(other)
    other.set_config_dict({key: str(value).lower() for key, value in saved.items()})
    assert other.none_class() == "eleventh" and other.outputs() == 11
    other.set_config_dict({"none_class": "none"})
    assert other.none_class() is None


def type_into(qtbot, spin, text):
    spin.setFocus()
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin.lineEdit(), text)
    qtbot.keyClick(spin.lineEdit(), Qt.Key.Key_Return)


def test_a_typed_rate_above_the_maximum_is_corrected_and_said_so(qtbot, form):
    # Issue 12: 1000 used to end up as 100 silently (the spin box dropped the last key).
    assert form.note() == "" and not form.note_label.isVisible()
    type_rate(qtbot, form, "1000")
    assert form.learning_rate_spin.value() == 100.0
    assert form.note() == "Learning rate: 1000 is more than the largest value allowed, so it was set to 100."
    assert form.note_label.isVisible()
    form.momentum_spin.setFocus()  # moving on leaves the note up
    assert form.note()
    type_rate(qtbot, form, "2")  # a rate in range: the note goes
    assert form.learning_rate_spin.value() == 2.0 and form.note() == ""


@pytest.mark.parametrize("field, text, value, words", [
    ("batch_spin", "20000", 10_000, "Batch size: 20000 is more than the largest value allowed, so it was set to 10000."),
    ("momentum_spin", "5", 0.99, "Momentum: 5 is more than the largest value allowed, so it was set to 0.99."),
    ("learning_rate_spin", "0.00001", 0.0001, "Learning rate: 1e-05 is less than the smallest value allowed"),
])
def test_every_number_field_says_when_it_corrects_a_typed_value(qtbot, form, field, text, value, words):
    spin = getattr(form, field)
    type_into(qtbot, spin, text)
    assert spin.value() == pytest.approx(value)
    assert form.note().startswith(words)
    form.epochs_spin.setValue(3)  # another setting chosen: the note has done its job
    assert form.note() == ""


def test_a_value_in_range_gives_no_note(qtbot, form):
    type_rate(qtbot, form, "50")
    type_into(qtbot, form.batch_spin, "10000")
    assert form.learning_rate_spin.value() == 50 and form.batch_spin.value() == 10_000
    assert form.note() == ""


def test_layers_too_big_to_save_are_refused_with_the_cores_message(qtbot, form):
    form.hidden_edit.setFocus()
    form.hidden_edit.selectAll()
    qtbot.keyClicks(form.hidden_edit, ",".join(["4096"] * 8))  # the form's largest: 485 MB
    assert "border" in form.hidden_edit.styleSheet() and form.note() == ""  # no note while typing
    qtbot.keyClick(form.hidden_edit, Qt.Key.Key_Return)
    assert form.note().startswith("Hidden layers: 784-4096-4096-4096-4096-4096-4096-4096-4096-10 has "
                                  "120,725,514 weights and biases")
    with pytest.raises(ArchitectureError, match="model file"):
        form.architecture()
    form.hidden_edit.setText("4096,4096,4096")  # 36.8 million: fine
    assert form.note() == "" and form.architecture()[0] == (784, 4096, 4096, 4096, 10)


def _edit_field_width(combo):
    from PySide6.QtWidgets import QStyle, QStyleOptionComboBox

    option = QStyleOptionComboBox()
    combo.initStyleOption(option)
    rect = combo.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                        QStyle.SubControl.SC_ComboBoxEditField, combo)
    return rect.width()


@pytest.mark.parametrize("extra", [0, 140])  # its least width (the dock's at 1366x768: 491), and wider
def test_no_combo_cuts_its_text_at_any_width(qtbot, form, extra):
    width = form.minimumSizeHint().width() + extra
    form.resize(width, form.height())
    qtbot.waitUntil(lambda: form.width() == width)
    for combo in (form.cost_combo, form.outputs_combo, form.data_combo, form.none_class_combo,
                  form.activation_combo, form.speed_combo):
        for index in range(combo.count()):
            combo.setCurrentIndex(index)
            text = combo.currentText()
            assert combo.fontMetrics().horizontalAdvance(text) <= _edit_field_width(combo), text
    assert form.cost_combo.itemData(0, Qt.ItemDataRole.ToolTipRole).startswith("Squared error with sigmoid outputs")
