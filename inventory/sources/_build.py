"""The one bridge from the sources to the YAML loader's builder, so every format gets the same validation and merge.

It goes through the same steps as :func:`inventory.inventory_from_data` (one ``parse_document``
per document, then reconcile and merge), and adds what a file-based source needs: several
documents with their own line lookups, and the ``group_vars/``/``host_vars/`` beside the file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inventory.ansible_yaml import inventory_from_documents
from inventory.model import Inventory


@dataclass(frozen=True)
class DocumentSource:
    """Where a document came from: its file name and a lookup from a key path to a line (or ``None``)."""

    name: str
    lines: Callable[[Sequence[str | int]], int | None] = lambda key_path: None

    def line_of(self, key_path: Sequence[str | int]) -> int | None:
        """Return the 1-based line of ``key_path`` in the file, or ``None`` when it is not known."""
        return self.lines(key_path)


def build_inventory(
    documents: Iterable[tuple[Mapping[str, Any], DocumentSource]],
    *,
    path: Path | None,
    source: str,
    vars_directory: Path | None,
) -> Inventory:
    """Return the inventory that Ansible-YAML-shaped ``documents`` describe, read in order.

    Raise :class:`ConfigError` naming the document's file, line and key path for malformed
    data or a credential that is not a secret reference.
    """
    return inventory_from_documents(documents, path=path, source=source, vars_directory=vars_directory)
