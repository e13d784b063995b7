"""opsctl: the operations toolkit behind a hospital's clinical systems."""

from opsctl.core.version import VERSION as __version__

__all__ = ["__version__"]
