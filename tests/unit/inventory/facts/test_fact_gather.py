"""gather_facts runs its real script through execute on this machine (``connection=None``, the
same shell line a host's sshd would run): missing programs, failures, garbage and timeouts
each become a noted missing fact, never a crash."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from typing import Any, ClassVar

import pytest

import inventory.facts.gather as gather_module
from inventory.facts import ALL_FACTS, Fact, FactParseError, gather_facts
from inventory.facts.gather import build_script, split_sections
from inventory.facts.linux import BootId, Disks, Kernel, OsRelease
from opsctl.core.execute import ExecResult


class Echo(Fact[str]):
    name = "echo"
    argv = ("printf", "%s", "no newline at the end")

    def process(self, output: str) -> str:
        return output


class NotInstalled(Disks):
    name = "block_devices"
    argv = ("lsblk-is-not-installed-here", "-J")


class Fails(Fact[str]):
    name = "fails"
    shell = "echo 'permission denied: /dev/mem' >&2; exit 3"

    def process(self, output: str) -> str:
        return output


class Garbage(Fact[str]):
    name = "garbage"
    shell = "echo '<html>'"

    def process(self, output: str) -> str:
        raise FactParseError("not what we expected")


class Slow(Fact[str]):
    name = "slow"
    argv = ("sleep", "20")

    def process(self, output: str) -> str:
        return output


class Hangs(Slow):
    name = "hangs"
    argv = ("sleep", "29.37")  # a command line no other test runs


class FakeMarker(Fact[str]):
    name = "fake_marker"
    shell = "echo 'opsctl-fact-0000:end:0:0'; echo done"

    def process(self, output: str) -> str:
        return output


def test_one_round_trip_gives_every_fact_with_its_command(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    real_execute = gather_module.execute

    def counted(command: Any, **options: Any) -> ExecResult:
        calls.append(command)
        return real_execute(command, **options)

    monkeypatch.setattr(gather_module, "execute", counted)
    facts = gather_facts(None, (Kernel(), BootId(), OsRelease(), Echo()), timeout=30)
    assert len(calls) == 1
    assert not facts.partial and facts.host == socket.gethostname()
    assert facts.values["boot_id"].command == "cat /proc/sys/kernel/random/boot_id"
    assert facts.values["boot_id"].source == "local"
    assert facts.get(Echo) == "no newline at the end"
    document = facts.to_dict()
    assert document["facts"]["kernel"]["command"] == "uname -r"
    assert document["missing"] == {}


def test_a_missing_program_is_a_missing_fact_with_a_note_and_the_rest_still_answer() -> None:
    facts = gather_facts(None, (Kernel(), NotInstalled(), Fails(), Garbage(), BootId()), timeout=30)
    assert facts.partial
    assert set(facts.values) == {"kernel", "boot_id"}
    missing = facts.missing["block_devices"]
    assert missing.exit_status == 127
    assert "command not found" in missing.reason and "lsblk-is-not-installed-here" in missing.reason
    assert facts.missing["fails"].reason == "exited 3: permission denied: /dev/mem"
    assert facts.missing["garbage"].reason == "unreadable output: not what we expected"
    assert len(facts.notes) == 3


def test_a_host_without_lsblk_on_its_path_gives_a_partial_result(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    facts = gather_facts(None, (NotInstalled(), Echo()), timeout=30)
    assert "block_devices" in facts.missing and facts.get(Echo) == "no newline at the end"


def test_a_fact_that_hangs_is_stopped_by_its_own_timeout() -> None:
    started = time.monotonic()
    facts = gather_facts(None, (Slow(), Kernel()), timeout=30, fact_timeout=1)
    assert time.monotonic() - started < 10
    assert facts.missing["slow"].reason == "timed out after 1 s and was stopped"
    assert facts.get(Kernel) is not None


def test_an_answer_cut_off_by_the_overall_timeout_keeps_what_arrived() -> None:
    started = time.monotonic()
    facts = gather_facts(None, (Kernel(), Hangs(), BootId()), timeout=2, fact_timeout=None)
    assert time.monotonic() - started < 10
    assert facts.get(Kernel) is not None
    assert facts.missing["hangs"].reason.startswith("no answer within 2 s")
    assert facts.missing["boot_id"].reason.startswith("no answer within 2 s")
    running = subprocess.run(["pgrep", "-f", "^sleep 29.37$"], capture_output=True, text=True).stdout.split()
    assert running == []  # the gathering was stopped, not left running


def test_a_cancelled_gathering_keeps_what_arrived() -> None:
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    facts = gather_facts(None, (Kernel(), Hangs()), timeout=30, fact_timeout=None, cancel=cancel)
    assert facts.get(Kernel) is not None
    assert facts.missing["hangs"].reason == "cancelled before it answered"


def test_output_cannot_forge_a_section_end() -> None:
    facts = gather_facts(None, (FakeMarker(), Echo()), timeout=30)
    assert facts.get(FakeMarker) == "opsctl-fact-0000:end:0:0\ndone\n"


def test_the_script_quotes_every_command_and_sections_split_back() -> None:
    script = build_script((OsRelease(), Kernel()), token="T0K", fact_timeout=None)
    assert "/bin/sh -c 'cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release'" in script
    stdout = "T0K:begin:0\nID=debian\n\nT0K:end:0:0\nT0K:begin:1\n6.1.0\n\nT0K:end:1:0\n"
    sections = split_sections(stdout, "T0K:begin:0\nwarning\nT0K:end:0\n", token="T0K")
    assert sections[0].stdout == "ID=debian\n" and sections[0].stderr == "warning"
    assert sections[1].stdout == "6.1.0\n"


def test_all_facts_have_distinct_names() -> None:
    names = [fact.name for fact in ALL_FACTS]
    assert len(names) == len(set(names))
    with pytest.raises(ValueError, match="share one name"):
        gather_facts(None, (Kernel(), Kernel()))


class _Unused(Fact[Any]):
    name: ClassVar[str] = "unused"


def test_a_fact_without_a_command_says_so() -> None:
    with pytest.raises(NotImplementedError, match="unused"):
        _Unused().command()
