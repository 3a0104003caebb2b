"""The "Save it first?" question, in the words that fit the moment.

:func:`save_question` says what to ask; :func:`ask` shows it. The window's
``ask_save_changes`` joins them (tests replace that method, so no modal
dialog ever blocks a test).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import QMessageBox, QWidget

SAVE, DISCARD, CANCEL = "save", "discard", "cancel"


@dataclass(frozen=True)
class SaveQuestion:
    """A question's title, text and its buttons as ``(answer, label)`` pairs, the default first."""

    title: str
    text: str
    buttons: tuple[tuple[str, str], ...]


def save_question(running: bool, worth_keeping: bool, accuracy: float | None) -> SaveQuestion:
    """What to ask before the model is discarded.

    Parameters
    ----------
    running : bool
        Training is running (the window is closing: nothing else discards a
        model mid-run), so the answer also stops it: one question, not two.
    worth_keeping : bool
        The model is worth saving (``ModelFiles.worth_keeping``); without it
        a running window only asks whether to stop and quit.
    accuracy : float or None
        Its latest validation accuracy, said in the question.
    """
    reached = f" It reaches {accuracy:.1%} validation accuracy." if accuracy is not None else ""
    if running and worth_keeping:
        return SaveQuestion(
            "Training is running",
            f"Training is running. Stop it and quit?{reached} The model has not been saved.",
            ((SAVE, "Stop, save and quit"), (DISCARD, "Stop and quit without saving"), (CANCEL, "Cancel")),
        )
    if running:
        return SaveQuestion(
            "Training is running",
            "Training is running. Stop it and quit?",
            ((DISCARD, "Stop and quit"), (CANCEL, "Cancel")),
        )
    return SaveQuestion(
        "Unsaved model",
        f"The trained model has not been saved.{reached} Save it first?",
        ((SAVE, "Save"), (DISCARD, "Don't save"), (CANCEL, "Cancel")),
    )


def ask(parent: QWidget, question: SaveQuestion) -> str:
    """Show ``question`` in a message box; the answer of the button pressed ("cancel" on Esc)."""
    roles = {SAVE: QMessageBox.ButtonRole.AcceptRole, DISCARD: QMessageBox.ButtonRole.DestructiveRole,
             CANCEL: QMessageBox.ButtonRole.RejectRole}
    box = QMessageBox(QMessageBox.Icon.Question, question.title, question.text, parent=parent)
    answers = {}
    for answer, label in question.buttons:
        answers[box.addButton(label, roles[answer])] = answer
    box.setDefaultButton(next(iter(answers)))
    box.setEscapeButton(next(b for b, a in answers.items() if a == CANCEL))
    box.exec()
    return answers.get(box.clickedButton(), CANCEL)
