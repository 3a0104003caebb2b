"""Panels of the main window: the training panel and its hyperparameter form.

A panel is a group of controls with its own state and signals; the window
only places it in a dock and connects its signals. Each panel lives in its own
module so importing one does not build the others.
"""
