"""Which packages the wheel holds; everything else is in pyproject.toml.

Every package under digitlab/ is found at build time, so a new subpackage
(digitlab.core.lessons, digitlab.ui.widgets, ...) needs no entry anywhere.
This one file exists because pyproject.toml cannot say it: its
``packages.find`` only finds folders under their own names, and resources/
(at the top of the repository, where a source checkout reads it) must install
as the digitlab.resources package, mapped in ``package-dir`` there.
"""

from setuptools import find_packages, setup

setup(packages=find_packages(include=["digitlab", "digitlab.*"]) + ["digitlab.resources"])
