"""The Qt-free engine: network, training, data, preprocessing, model files.

Nothing under digitlab.core may import Qt or pyqtgraph (a test checks it), so
all of it runs and is tested headless, and the CLI works without a display.
"""
