"""opsctl: the operations toolkit behind a hospital's clinical systems."""

__version__ = "0.1.0"
