"""Ansible INI inventories: sections, ranges, ports, values parsed as Ansible's INI plugin parses them, errors with lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from inventory.sources.ansible_ini import load_ini_inventory, parse_ini_value
from opsctl.core.errors import ConfigError


def _load(tmp_path: Path, text: str) -> Any:
    path = tmp_path / "hosts.ini"
    path.write_text(text, encoding="utf-8")
    return load_ini_inventory(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", 42),
        ("-1", -1),
        ("1.5", 1.5),
        ("True", True),
        ("False", False),
        ("None", None),
        ("true", "true"),  # not a Python literal: Ansible keeps the text
        ("yes", "yes"),
        ("'42'", "42"),
        ('"quoted text"', "quoted text"),
        ("[1, 'a']", [1, "a"]),
        ("(1, 2)", [1, 2]),
        ("{'a': 1}", {"a": 1}),
        ("01:00", "01:00"),
        ("hello # not a comment in a value", "hello # not a comment in a value"),
        ("", ""),
        ("1j", "1j"),
        ("...", "..."),
    ],
)
def test_values_parse_as_ansible_ini_plugin_parses_them(text: str, expected: Any) -> None:
    value = parse_ini_value(text)
    assert value == expected
    assert type(value) is type(expected)


def test_sections_ranges_ports_comments_and_children(tmp_path: Path) -> None:
    inventory = _load(
        tmp_path,
        """\
# a comment
; another comment
jump.example.com:2222 ansible_host=192.0.2.1

[web]
web[01:03].example.com http_port=8080 opsctl_note='two words'   # trailing comment
db-[a:b] ansible_user=admin

[web:vars]
max_clients = 200
greeting = hello world

[linux:children]
web

[all:vars]
ntp_server=ntp.example.com
""",
    )
    assert list(inventory.hosts) == [
        "jump.example.com",
        "web01.example.com",
        "web02.example.com",
        "web03.example.com",
        "db-a",
        "db-b",
    ]
    jump = inventory.hosts["jump.example.com"]
    assert jump.groups == ("all", "ungrouped")
    assert jump.vars["ansible_port"] == 2222 and jump.port == 2222
    assert jump.address == "192.0.2.1"
    web02 = inventory.hosts["web02.example.com"]
    assert web02.groups == ("all", "linux", "web")
    assert dict(web02.vars) == {
        "ntp_server": "ntp.example.com",
        "max_clients": 200,
        "greeting": "hello world",
        "http_port": 8080,
        "opsctl_note": "two words",
    }
    assert inventory.groups["linux"].children == ("web",)
    assert inventory.hosts["db-a"].user == "admin"


def test_a_group_may_be_declared_after_it_is_named_as_a_child(tmp_path: Path) -> None:
    inventory = _load(tmp_path, "[parent:children]\nchild\n\n[child]\nh1\n\n[child:vars]\nx=1\n")
    assert inventory.hosts_of("parent") == ("h1",)
    assert inventory.hosts["h1"].vars["x"] == 1


def test_group_vars_beside_the_file_apply(tmp_path: Path) -> None:
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "web.yml").write_text("from_file: 1\n", encoding="utf-8")
    inventory = _load(tmp_path, "[web]\nw1 own=2\n")
    assert dict(inventory.hosts["w1"].vars) == {"from_file": 1, "own": 2}


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("[web]\nw1\n[web:children]\nnosuch\n", 4, "nosuch"),
        ("[web:vars]\nx=1\n", 1, "web"),
        ("[web]\nw1 novalue\n", 2, "key=value"),
        ("[web:bogus]\n", 1, "unknown type"),
        ("[web group]\n", 1, "invalid section"),
        ("[web]\nw1:\n", 2, "port"),
        ("[web:vars]\nnovalue\n[web]\n", 2, "key=value"),
        ("[web]\nw[3:1]\n", 2, "starts after it ends"),
        ("---\nall:\n", 1, "YAML"),
        ("[web]\nw1 x='unclosed\n", 2, "cannot split"),
    ],
)
def test_malformed_lines_name_the_file_and_line(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        _load(tmp_path, text)
    assert f"{tmp_path / 'hosts.ini'}:{line}" in str(raised.value)
    assert words in str(raised.value)


def test_a_literal_credential_is_refused_with_its_line_and_key_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        _load(tmp_path, "[web]\nw1\n\n[web:vars]\nansible_become_password=Secr3t!\n")
    message = str(raised.value)
    assert f"{tmp_path / 'hosts.ini'}:5" in message
    assert "web.vars.ansible_become_password" in message
    assert "Secr3t" not in message


def test_a_credential_reference_is_kept_as_text(tmp_path: Path) -> None:
    inventory = _load(tmp_path, "[web]\nw1 ansible_password=env:WEB_PASSWORD\n")
    assert inventory.hosts["w1"].vars["ansible_password"] == "env:WEB_PASSWORD"
