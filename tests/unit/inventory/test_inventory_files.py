"""The inventory readers refuse files that are not files, and keep group_vars/ and host_vars/ directories."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from inventory import load_inventory
from inventory.sources import load_any
from opsctl.core.errors import ConfigError
from opsctl.core.files import DEFAULT_LIMITS, FileLimits, set_limits


@pytest.fixture(autouse=True)
def _default_limits() -> Iterator[None]:
    yield
    set_limits(DEFAULT_LIMITS)


def refusal(function: Callable[[], Any], seconds: float = 10.0) -> str:
    """The one-line message of the ConfigError ``function`` raises within ``seconds`` (a daemon thread, so a blocked read fails the test instead of hanging it)."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            function()
        except BaseException as error:  # handed back to the test below
            outcome.append(error)
        else:
            outcome.append(None)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if not outcome:
        pytest.fail(f"still running after {seconds} s (blocked?)")
    error = outcome[0]
    assert isinstance(error, ConfigError), error
    assert "\n" not in str(error)
    return str(error)


@pytest.mark.parametrize("name", ["inventory.yml", "hosts", "inventory.ini", "inventory.json"])
def test_a_fifo_inventory_is_refused_by_every_format(tmp_path: Path, name: str) -> None:
    fifo = tmp_path / name
    os.mkfifo(fifo)
    assert refusal(lambda: load_any(fifo)).startswith(f"{fifo}: a FIFO, not a regular file")


@pytest.mark.parametrize(
    "format_name", ["ansible-yaml", "ansible-ini", "ansible-json", "opsctl-json"]
)
def test_a_fifo_is_refused_by_each_source_when_named(tmp_path: Path, format_name: str) -> None:
    fifo = tmp_path / "inventory"
    os.mkfifo(fifo)
    assert refusal(lambda: load_any(fifo, format_name)).startswith(f"{fifo}: a FIFO")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("inventory.yml", "all:\n  hosts:\n" + "    h:\n" * 100),
        ("inventory.ini", "[web]\n" + "h\n" * 300),
        ("inventory.json", '{"all": {"hosts": [' + '"h",' * 200 + '"h"]}}'),
    ],
)
def test_the_configured_size_limit_bounds_every_format(
    tmp_path: Path, name: str, content: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    set_limits(FileLimits(max_bytes=500))
    assert (
        refusal(lambda: load_any(path))
        == f"{path}: larger than the limit of 500 bytes (files.max_bytes)"
    )


def test_group_vars_and_host_vars_directories_stay_allowed(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.yml"
    inventory.write_text("all:\n  children:\n    web:\n      hosts:\n        web1:\n")
    (tmp_path / "group_vars" / "web").mkdir(parents=True)
    (tmp_path / "group_vars" / "web" / "main.yml").write_text("http_port: 8080\n")
    (tmp_path / "host_vars" / "web1").mkdir(parents=True)
    (tmp_path / "host_vars" / "web1" / "vars.yml").write_text("rack: r1\n")
    host = load_inventory(inventory).hosts["web1"]
    assert (host.vars["http_port"], host.vars["rack"]) == (8080, "r1")


def test_an_alias_bomb_in_group_vars_is_refused(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.yml"
    inventory.write_text("all:\n  hosts:\n    web1:\n")
    (tmp_path / "group_vars").mkdir()
    bomb = tmp_path / "group_vars" / "all.yml"
    bomb.write_text("a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9]\nb: [" + ", ".join(["*a"] * 20) + "]\n")
    set_limits(FileLimits(max_yaml_alias_nodes=50))
    assert refusal(lambda: load_inventory(inventory)) == (
        f"{bomb}: YAML aliases expand to more than 50 nodes (files.max_yaml_alias_nodes): refused"
    )
