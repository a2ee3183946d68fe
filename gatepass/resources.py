"""Files gatepass needs at run time that are not Python code, found inside the installed package.

The systemd units, sysusers files, the udev rule and the config templates are edited in the source tree's
``systemd/`` folder; ``gatepass/systemd`` links to it, so an editable install reads them in place and a wheel
carries a copy as package data of :mod:`gatepass`. Nothing here walks up from a source file.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from gatepass.errors import GatepassError


class ResourceError(GatepassError):
    """A packaged file or folder is missing: the installation is incomplete."""


def systemd_dir() -> Path:
    """The packaged ``systemd/`` folder (units, ``sysusers.d/``, ``udev/``, ``templates/``), as a real path."""
    folder = resources.files("gatepass") / "systemd"
    if not isinstance(folder, Path) or not folder.is_dir():  # a zipped or broken installation
        raise ResourceError(f"the systemd files are not installed with gatepass (looked in {folder})",
                            "reinstall gatepass from its wheel or source")
    return folder
