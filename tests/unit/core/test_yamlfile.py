"""The YAML loader's errors: a duplicated key is named with its lines, never with its values."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsctl.core.errors import ConfigError
from opsctl.core.yamlfile import load_yaml


def _refusal(path: Path, text: str) -> ConfigError:
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_yaml(path)
    return caught.value


def test_a_duplicated_key_is_named_with_both_lines_and_neither_value(tmp_path: Path) -> None:
    error = _refusal(tmp_path / "hosts.yml", "all:\n  hosts:\n    w1:\n"
                     "      ansible_become_password: hunter2-first\n"
                     "      ansible_user: ops\n"
                     "      ansible_become_password: swordfish-second\n")
    assert str(error) == (f"{tmp_path / 'hosts.yml'}:6: malformed YAML: duplicate key "
                          "'ansible_become_password' (first given on line 4)")
    assert error.line == 6
    assert "hunter2" not in str(error) and "swordfish" not in str(error)


@pytest.mark.parametrize("text, line, first", [
    ("a: 1\nb:\n  - x: 1\n    y: [1, {k: s3cr3t-one, k: s3cr3t-two}]\n", 4, 4),  # in flow style, in a list
    ("base: &b {p: s3cr3t-one}\nuse:\n  <<: *b\n  <<: *b\n", 4, 3),  # a merge key twice
    ("plain: s3cr3t-one\nplain: s3cr3t-two\n", 2, 1),
])
def test_every_duplicated_key_is_named_without_values(tmp_path: Path, text: str, line: int, first: int) -> None:
    error = _refusal(tmp_path / "any.yml", text)
    assert error.line == line and f"(first given on line {first})" in str(error)
    assert "s3cr3t" not in str(error)


def test_a_duplicated_complex_key_gives_the_line_only(tmp_path: Path) -> None:
    error = _refusal(tmp_path / "any.yml", "? [s3cr3t, 2]\n: v\n? [s3cr3t, 2]\n: w\n")
    assert str(error).endswith(":3: malformed YAML: duplicate key")
