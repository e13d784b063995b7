"""Files that are not files: FIFOs, pipes, huge files and alias bombs are refused quickly, naming the file and the limit."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from opsctl.core.config import load_settings
from opsctl.core.errors import ConfigError, ExitCode
from opsctl.core.files import DEFAULT_LIMITS, FileLimits, current_limits, read_text, set_limits
from opsctl.core.yamlfile import load_yaml

# the billion-laughs document: nine levels of nine aliases, 9**9 strings once expanded
ALIAS_BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{name}: &{name} [{','.join([f'*{previous}'] * 9)}]\n"
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True)
)


@pytest.fixture(autouse=True)
def _default_limits() -> Iterator[None]:
    yield
    set_limits(DEFAULT_LIMITS)


def within_seconds(seconds: float, function: Callable[[], Any]) -> Any:
    """Run ``function`` and return its result (or raise its error), failing the test if it takes
    longer than ``seconds``; a daemon thread, so a read that blocks forever cannot hang pytest."""
    outcome: list[tuple[bool, Any]] = []

    def run() -> None:
        try:
            outcome.append((True, function()))
        except BaseException as error:  # handed back to the test below
            outcome.append((False, error))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if not outcome:
        pytest.fail(f"still running after {seconds} s (blocked?)")
    succeeded, value = outcome[0]
    if not succeeded:
        raise value
    return value


def refusal(function: Callable[[], Any], seconds: float = 10.0) -> ConfigError:
    def call() -> ConfigError:
        with pytest.raises(ConfigError) as caught:
            function()
        return caught.value

    error = within_seconds(seconds, call)
    assert isinstance(error, ConfigError)
    assert error.exit_code == ExitCode.USAGE
    assert "\n" not in str(error)
    return error


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "inventory.yml"
    os.mkfifo(fifo)
    error = refusal(lambda: load_yaml(fifo))
    assert str(error).startswith(f"{fifo}: a FIFO, not a regular file")


def test_a_fifo_config_file_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "opsctl.yaml"
    os.mkfifo(fifo)
    error = refusal(
        lambda: load_settings(
            fifo, environ={}, system_file=tmp_path / "none", user_file=tmp_path / "none"
        )
    )
    assert str(error).startswith(f"{fifo}: a FIFO, not a regular file")


def test_a_fifo_in_conf_d_is_refused_not_skipped(tmp_path: Path) -> None:
    config = tmp_path / "opsctl.yaml"
    config.write_text("fleet:\n  forks: 5\n")
    (tmp_path / "conf.d").mkdir()
    os.mkfifo(tmp_path / "conf.d" / "10-extra.yaml")
    error = refusal(
        lambda: load_settings(
            config, environ={}, system_file=tmp_path / "none", user_file=tmp_path / "none"
        )
    )
    assert "10-extra.yaml: a FIFO" in str(error)


def test_a_process_substitution_pipe_is_refused_with_its_own_message() -> None:
    read_end, write_end = os.pipe()
    try:
        path = Path(f"/dev/fd/{read_end}")
        error = refusal(lambda: read_text(path))
        assert str(error).startswith(
            f"{path}: a pipe (a process substitution such as --config <(...))"
        )
        assert "refused deliberately" in str(error)
        assert error.hint == "write the content to a file and pass that file"
    finally:
        os.close(read_end)
        os.close(write_end)


def test_a_file_over_the_size_limit_is_refused_naming_file_and_limit(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.yml"
    inventory.write_text("all:\n  hosts:\n" + "".join(f"    h{n}:\n" for n in range(200)))
    error = refusal(lambda: load_yaml(inventory, limits=FileLimits(max_bytes=1000)))
    assert str(error) == (f"{inventory}: larger than the limit of 1000 bytes (files.max_bytes)")


def test_a_file_at_the_size_limit_is_read(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.yml"
    inventory.write_text("a: 1\n")
    assert read_text(inventory, limits=FileLimits(max_bytes=5)) == "a: 1\n"


def test_the_default_size_limit_is_16_mib() -> None:
    assert DEFAULT_LIMITS.max_bytes == 16 * 1024 * 1024


def test_an_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yml"
    bomb.write_text(ALIAS_BOMB)
    assert len(ALIAS_BOMB.encode()) < 500
    started = time.monotonic()
    error = refusal(lambda: load_yaml(bomb))
    assert time.monotonic() - started < 5
    assert str(error) == (
        f"{bomb}: YAML aliases expand to more than 100000 nodes (files.max_yaml_alias_nodes): refused"
    )


def test_ordinary_aliases_are_read(tmp_path: Path) -> None:
    document = tmp_path / "inventory.yml"
    document.write_text(
        "defaults: &defaults {ansible_user: ops, ansible_port: 22}\n"
        "all:\n  hosts:\n    web1: *defaults\n    web2: *defaults\n"
    )
    data = load_yaml(document).data
    assert data["all"]["hosts"]["web2"] == {"ansible_user": "ops", "ansible_port": 22}


def test_the_alias_limit_counts_expanded_nodes(tmp_path: Path) -> None:
    document = tmp_path / "inventory.yml"
    document.write_text("a: &a [1, 2, 3]\nb: [*a, *a]\n")
    # each further reference to [1, 2, 3] adds its four nodes
    assert load_yaml(document, limits=FileLimits(max_yaml_alias_nodes=8)).data["b"] == [
        [1, 2, 3],
        [1, 2, 3],
    ]
    error = refusal(lambda: load_yaml(document, limits=FileLimits(max_yaml_alias_nodes=7)))
    assert "more than 7 nodes (files.max_yaml_alias_nodes)" in str(error)


def test_a_deeply_nested_document_is_refused_not_a_traceback(tmp_path: Path) -> None:
    document = tmp_path / "deep.yml"
    document.write_text("[" * 5000 + "]" * 5000)
    # the bound guards against a hang, not a slow machine: ten times a loaded run and more
    error = refusal(lambda: load_yaml(document), seconds=60)
    assert str(error) == f"{document}: malformed YAML: nested too deeply"


def test_binary_bytes_are_refused_naming_the_line(tmp_path: Path) -> None:
    document = tmp_path / "inventory.yml"
    document.write_bytes(b"all:\n  hosts:\n\xff\xfe\n")
    error = refusal(lambda: load_yaml(document))
    assert str(error) == f"{document}:3: not UTF-8 text (byte 0xff)"


def test_a_directory_is_refused_as_a_file(tmp_path: Path) -> None:
    error = refusal(lambda: read_text(tmp_path))
    assert str(error) == f"{tmp_path}: a directory, not a file"


def test_configured_limits_apply_to_later_reads(tmp_path: Path) -> None:
    config = tmp_path / "opsctl.yaml"
    config.write_text("files:\n  max_bytes: 100\n  max_yaml_alias_nodes: 10\n")
    settings = load_settings(
        config, environ={}, system_file=tmp_path / "none", user_file=tmp_path / "none"
    )
    assert (settings.files.max_bytes, settings.files.max_yaml_alias_nodes) == (100, 10)
    assert current_limits() == FileLimits(max_bytes=100, max_yaml_alias_nodes=10)


def test_the_configuration_file_itself_is_read_with_the_default_limits(tmp_path: Path) -> None:
    config = tmp_path / "opsctl.yaml"
    config.write_text("files:\n  max_bytes: 10\n" + "# padding\n" * 20)
    settings = load_settings(
        config, environ={}, system_file=tmp_path / "none", user_file=tmp_path / "none"
    )
    assert settings.files.max_bytes == 10
