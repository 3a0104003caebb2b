"""Reusable display widgets: each one module, with a small typed API in and plain data out.

They draw what they are given and hold no application state (that lives in
the core objects they show, e.g. :class:`digitlab.core.history.History`, or in
the model session).
"""
