"""A fuzz test of the configuration and inventory loaders: malformed YAML, wrong types, huge and
deeply nested documents, alias bombs and binary bytes end in a one-line ConfigError (exit 2)
naming the file (and the line where there is one), never a traceback, within bounded memory
(an RLIMIT_AS of 1 GiB on the loading process) and time.

The cases come from a seeded generator (hypothesis is not in requirements.lock), so a failure
names a case that reproduces. They run in one child process, which loads each file as opsctl does
(:func:`~opsctl.core.config.load_settings`, :func:`~inventory.sources.load_any`) and reports
each outcome as a JSON line; a few run through the real ``opsctl`` program as well.
"""

from __future__ import annotations

import json
import random
import re
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

MEMORY_LIMIT = 1024**3
# a case loads in well under 0.5 s on a loaded 2-core machine; ten times that and more
CASE_SECONDS = 10.0
RUN_SECONDS = 240.0
CASES_PER_KIND = 12
OPSCTL = str(Path(sys.executable).with_name("opsctl"))

VALID_CONFIG = """\
inventory: /srv/inventory.yml
state:
  dir: /var/lib/opsctl
fleet:
  forks: 20
ssh:
  user: ops
  port: 22
  connect_timeout: 5
audit:
  operator: oncall
"""

VALID_INVENTORY = """\
all:
  vars:
    ansible_user: ops
  children:
    web:
      hosts:
        web1:
          ansible_host: 192.0.2.10
        web2:
          ansible_host: 192.0.2.11
          ansible_port: 2222
    db:
      hosts:
        db1:
      vars:
        backup: true
"""

VALID_INI = """\
[web]
web1 ansible_host=192.0.2.10
web2 ansible_host=192.0.2.11 ansible_port=2222

[db]
db1

[db:vars]
backup=true
"""

_DRIVER = r"""
import json, sys, time, traceback
from pathlib import Path
from opsctl.core.errors import ConfigError
from opsctl.core.config import load_settings
from inventory.sources import load_any

empty = Path(sys.argv[1]) / "absent"
for line in sys.stdin:
    case = json.loads(line)
    path = Path(case["path"])
    started = time.monotonic()
    outcome = {"name": case["name"]}
    try:
        if case["loader"] == "config":
            load_settings(path, environ={}, system_file=empty, user_file=empty)
        else:
            load_any(path)
        outcome["result"] = "loaded"
    except ConfigError as error:
        outcome.update(result="refused", exit_code=int(error.exit_code), message=str(error))
    except BaseException:
        outcome.update(result="crashed", traceback=traceback.format_exc())
    outcome["seconds"] = time.monotonic() - started
    print(json.dumps(outcome), flush=True)
"""


@dataclass(frozen=True)
class Case:
    """One generated file: which loader reads it, and whether it must be refused with a line."""

    name: str
    loader: str  # "config" or "inventory"
    path: Path
    must_refuse: bool
    needs_line: bool


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _mutated(text: str, randomness: random.Random) -> str:
    """``text`` with a few characters deleted, inserted or the rest cut off."""
    characters = list(text)
    for _ in range(randomness.randint(1, 4)):
        at = randomness.randrange(len(characters))
        action = randomness.choice(("delete", "insert", "insert", "cut"))
        if action == "delete":
            del characters[at]
        elif action == "insert":
            characters.insert(at, randomness.choice(":[]{}&*!|>'\"-#%@`\t,?\n  "))
        else:
            del characters[at:]
            characters.append("x")
    return "".join(characters)


def _wrong_value(randomness: random.Random) -> str:
    return randomness.choice(
        ("[1, 2]", "{a: 1}", "-1", "3.5", "true", "null", "'text'", "[]", "{}", "!!binary aGk=")
    )


def _nested(depth: int, randomness: random.Random) -> str:
    style = randomness.choice(("flow-list", "flow-map", "block"))
    if style == "flow-list":
        return "[" * depth + "]" * depth
    if style == "flow-map":
        return "{a: " * depth + "1" + "}" * depth
    return "".join(f"{'  ' * level}k{level}:\n" for level in range(depth)) + "  " * depth + "v\n"


def _alias_bomb(randomness: random.Random) -> str:
    width = randomness.randint(6, 12)
    depth = randomness.randint(7, 10)
    lines = [f"a0: &a0 [{', '.join(['lol'] * width)}]"]
    lines += [
        f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * width)}]"
        for level in range(1, depth)
    ]
    return "\n".join(lines) + "\n"


def generate_cases(directory: Path, seed: int = 8) -> list[Case]:
    """Write the generated files under ``directory`` and return their cases."""
    randomness = random.Random(seed)
    cases: list[Case] = []

    def add(
        name: str,
        loader: str,
        suffix: str,
        content: str | bytes,
        *,
        must_refuse: bool,
        needs_line: bool,
    ) -> None:
        path = directory / f"{len(cases):03d}-{name}{suffix}"
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
        cases.append(Case(f"{path.name}", loader, path, must_refuse, needs_line))

    for _ in range(CASES_PER_KIND):
        # malformed YAML: some mutations still parse, and are then merely checked not to crash
        add(
            "mutated",
            "config",
            ".yaml",
            _mutated(VALID_CONFIG, randomness),
            must_refuse=False,
            needs_line=True,
        )
        add(
            "mutated",
            "inventory",
            ".yml",
            _mutated(VALID_INVENTORY, randomness),
            must_refuse=False,
            needs_line=True,
        )
        add(
            "mutated",
            "inventory",
            ".ini",
            _mutated(VALID_INI, randomness),
            must_refuse=False,
            needs_line=True,
        )
        # wrong types where a mapping is required
        wrong = _wrong_value(randomness).replace("{}", "{a: 1}").replace("null", "[null]")
        section = randomness.choice(("state", "ssh", "fleet", "audit", "files"))
        add(
            "wrong-type",
            "config",
            ".yaml",
            f"fleet:\n  forks: 2\n{section}: {wrong}\n",
            must_refuse=True,
            needs_line=True,
        )
        key = randomness.choice(("hosts", "children", "vars"))
        add(
            "wrong-type",
            "inventory",
            ".yml",
            f"all:\n  children:\n    web:\n      {key}: {wrong}\n",
            # Ansible reads a name where a mapping is expected as a one-entry mapping, so only
            # numbers, booleans and lists are wrong wherever they stand
            must_refuse=wrong in ("[1, 2]", "[null]", "-1", "3.5", "true"),
            needs_line=True,
        )
        top_level = randomness.choice(("- a\n- b\n", "just text\n", "42\n", "[1, 2]\n"))
        add("top-level", "config", ".yaml", top_level, must_refuse=True, needs_line=True)
        # deeply nested documents
        depth = randomness.choice((200, 2_000, 20_000, 100_000))
        add(
            "nested",
            randomness.choice(("config", "inventory")),
            ".yml",
            _nested(depth, randomness),
            must_refuse=depth > 200,
            needs_line=False,
        )
        # alias bombs
        add(
            "alias-bomb",
            randomness.choice(("config", "inventory")),
            ".yml",
            _alias_bomb(randomness),
            must_refuse=True,
            needs_line=False,
        )
        # binary bytes: random, after a valid start, or as the whole of a JSON inventory
        noise = bytes(randomness.randrange(256) for _ in range(randomness.randint(1, 4096)))
        add(
            "binary",
            "config",
            ".yaml",
            b"fleet:\n  forks: 2\n" + b"\xff" + noise,
            must_refuse=True,
            needs_line=True,
        )
        add(
            "binary",
            "inventory",
            randomness.choice((".yml", ".ini", ".json")),
            b"\xfe" + noise,
            must_refuse=True,
            needs_line=True,
        )
    huge = "all:\n  hosts:\n" + "".join(f"    host-{n:08d}.example.net:\n" for n in range(700_000))
    add("huge", "inventory", ".yml", huge, must_refuse=True, needs_line=False)
    add(
        "huge",
        "config",
        ".yaml",
        "fleet:\n  forks: 2\n" + "# padding\n" * 1_800_000,
        must_refuse=True,
        needs_line=False,
    )
    add(
        "huge",
        "inventory",
        ".json",
        '{"all": {"hosts": [' + '"h",' * 5_000_000 + '"h"]}}',
        must_refuse=True,
        needs_line=False,
    )
    return cases


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> list[Case]:
    return generate_cases(tmp_path_factory.mktemp("fuzz"))


@pytest.fixture(scope="module")
def outcomes(cases: list[Case]) -> list[tuple[Case, dict[str, object]]]:
    directory = cases[0].path.parent
    requests = "".join(
        json.dumps({"name": case.name, "loader": case.loader, "path": str(case.path)}) + "\n"
        for case in cases
    )
    done = subprocess.run(
        [sys.executable, "-c", _DRIVER, str(directory)],
        input=requests,
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS,
        preexec_fn=_limit_memory,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    reported = [json.loads(line) for line in done.stdout.splitlines()]
    assert [outcome["name"] for outcome in reported] == [case.name for case in cases]
    return list(zip(cases, reported, strict=True))


def test_no_case_crashes_with_a_traceback(outcomes: list[tuple[Case, dict[str, object]]]) -> None:
    crashed = {
        case.name: outcome["traceback"]
        for case, outcome in outcomes
        if outcome["result"] == "crashed"
    }
    assert crashed == {}


def test_every_refusal_is_exit_2_and_one_line_naming_the_file_and_line(
    outcomes: list[tuple[Case, dict[str, object]]],
) -> None:
    refused = [(case, outcome) for case, outcome in outcomes if outcome["result"] == "refused"]
    assert len(refused) > len(outcomes) // 2
    for case, outcome in refused:
        message = str(outcome["message"])
        assert outcome["exit_code"] == 2, case.name
        assert "\n" not in message, (case.name, message)
        assert message.startswith(str(case.path)), (case.name, message)
        if case.needs_line and not re.search(
            r"(larger than|expand to more than|nested too deeply)", message
        ):
            assert re.match(rf"{re.escape(str(case.path))}:\d+", message), (case.name, message)


def test_hostile_cases_are_refused(outcomes: list[tuple[Case, dict[str, object]]]) -> None:
    not_refused = [
        case.name
        for case, outcome in outcomes
        if case.must_refuse and outcome["result"] != "refused"
    ]
    assert not_refused == []


def test_every_case_ends_within_its_time_bound(
    outcomes: list[tuple[Case, dict[str, object]]],
) -> None:
    slow = {
        case.name: outcome["seconds"]
        for case, outcome in outcomes
        if float(str(outcome["seconds"])) > CASE_SECONDS
    }
    assert slow == {}


@pytest.mark.parametrize("kind", ["alias-bomb", "binary", "nested", "huge", "wrong-type"])
def test_the_real_opsctl_exits_2_with_one_line(
    cases: list[Case], tmp_path: Path, kind: str
) -> None:
    case = next(
        case for case in cases if case.must_refuse and case.name.split("-", 1)[1].startswith(kind)
    )
    option = ["--config", str(case.path)] if case.loader == "config" else []
    inventory = case.path if case.loader == "inventory" else tmp_path / "absent.yml"
    done = subprocess.run(
        [OPSCTL, *option, "inventory", "export", "ansible-yaml"],
        env={
            "PATH": "/usr/bin:/bin",
            "OPSCTL_INVENTORY": str(inventory),
            "OPSCTL_STATE__DIR": str(tmp_path / "state"),
            "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        },
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS,
        preexec_fn=_limit_memory,
    )
    assert done.returncode == 2, (case.name, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith(f"opsctl: error: {case.path}"), (case.name, done.stderr)
    assert all(line.startswith("  hint: ") for line in lines[1:]), done.stderr
