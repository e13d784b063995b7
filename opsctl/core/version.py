"""opsctl's version, written here alone: pyproject.toml builds the package's metadata from it, and
``opsctl.__version__`` is it. Here rather than in ``opsctl/__init__.py`` so that the domain packages,
which may import ``opsctl.core`` only, read it without parsing the installed METADATA."""

VERSION = "0.1.0"
