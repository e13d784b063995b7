"""The plugin registry: built-ins and third parties register alike, entry points load lazily, one name holds one plugin."""

from __future__ import annotations

import itertools
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import pytest

from opsctl.core.errors import ExitCode, UsageError
from opsctl.core.plugins import PluginRegistry

_numbers = itertools.count()


@runtime_checkable
class Greeter(Protocol):
    """A toy plugin kind: a name and a greeting."""

    @property
    def name(self) -> str: ...

    def greet(self, who: str) -> str: ...


@dataclass(frozen=True)
class Hello:
    name: str = "hello"

    def greet(self, who: str) -> str:
        return f"hello {who}"


@dataclass(frozen=True)
class Bonjour:
    name: str = "hello"  # the same name as Hello: a different plugin

    def greet(self, who: str) -> str:
        return f"bonjour {who}"


class NotAGreeter:
    name = "mute"


@dataclass(frozen=True)
class Distribution:
    """A third-party distribution on sys.path: its entry points and the modules they name."""

    root: Path
    group: str
    module: str


@pytest.fixture
def group() -> str:
    """An entry-point group no installed distribution uses."""
    return f"opsctl_test.greeters_{next(_numbers)}"


def registry(group: str) -> PluginRegistry[Greeter]:
    return PluginRegistry("greeter", group, Greeter, name_of=lambda greeter: greeter.name)


@pytest.fixture
def third_party(
    tmp_path: Path, group: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Distribution]:
    """A distribution declaring two greeters as entry points, in a module that is not imported yet."""
    module = f"opsctl_test_greeters_{next(_numbers)}"
    root = tmp_path / "site"
    (root / module).mkdir(parents=True)
    (root / module / "__init__.py").write_text("", encoding="utf-8")
    (root / module / "plugins.py").write_text(
        textwrap.dedent(
            """
            from dataclasses import dataclass

            @dataclass(frozen=True)
            class Hallo:
                name: str = "hallo"

                def greet(self, who: str) -> str:
                    return f"hallo {who}"

            HALLO = Hallo()
            HEJ = Hallo(name="hej")
            """
        ),
        encoding="utf-8",
    )
    info = root / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[{group}]\nhallo = {module}.plugins:HALLO\nhej = {module}.plugins:HEJ\n"
    )
    monkeypatch.syspath_prepend(str(root))
    yield Distribution(root, group, module)
    for name in [name for name in sys.modules if name.startswith(module)]:
        del sys.modules[name]


# ----------------------------------------------------------------------------- registering


def test_a_plugin_is_found_by_its_name_and_listed_in_registration_order(group: str) -> None:
    greeters = registry(group)
    hello, hej = Hello(), Hello(name="hej")
    greeters.register(hello)
    greeters.register(hej)
    assert greeters.get("hello") is hello
    assert greeters.plugins() == (hello, hej)
    assert greeters.names() == ("hello", "hej")
    assert "hej" in greeters and "nobody" not in greeters


def test_an_unknown_name_is_a_usage_error_listing_the_known(group: str) -> None:
    greeters = registry(group)
    greeters.register(Hello())
    with pytest.raises(UsageError) as raised:
        greeters.get("howdy")
    assert str(raised.value) == "no greeter named 'howdy'"
    assert raised.value.hint == "known: hello"
    assert raised.value.exit_code == ExitCode.USAGE


def test_a_second_different_plugin_under_one_name_is_refused(group: str) -> None:
    greeters = registry(group)
    hello = Hello()
    greeters.register(hello)
    with pytest.raises(UsageError, match=r"'hello' is already registered by .*Hello"):
        greeters.register(Bonjour())
    assert greeters.get("hello") is hello


def test_registering_the_same_plugin_again_changes_nothing(group: str) -> None:
    greeters = registry(group)
    greeters.register(Hello())
    greeters.register(Hello())  # another instance of the same class: the same plugin
    assert greeters.names() == ("hello",)


def test_a_plugin_that_does_not_satisfy_the_protocol_is_refused(group: str) -> None:
    greeters = registry(group)
    with pytest.raises(UsageError, match="is not a greeter: it does not satisfy Greeter"):
        greeters.register(NotAGreeter())  # type: ignore[arg-type]
    assert greeters.names() == ()


def test_a_plugin_goes_under_its_own_name_only(group: str) -> None:
    greeters = registry(group)
    with pytest.raises(UsageError, match="'hello' cannot be registered as 'hi'"):
        greeters.register(Hello(), name="hi")


def test_reserved_names_are_refused(group: str) -> None:
    greeters: PluginRegistry[Greeter] = PluginRegistry(
        "greeter", group, Greeter, name_of=lambda greeter: greeter.name, reserved=("hello",)
    )
    with pytest.raises(UsageError, match="cannot be the name of a greeter"):
        greeters.register(Hello())


def test_a_kind_must_be_a_runtime_checkable_protocol(group: str) -> None:
    class Unchecked(Protocol):
        def greet(self, who: str) -> str: ...

    with pytest.raises(TypeError, match="@runtime_checkable"):
        PluginRegistry("greeter", group, Unchecked)


def test_a_kind_of_classes_takes_subclasses_of_its_base(group: str) -> None:
    class Base:
        pass

    class Derived(Base):
        pass

    bases: PluginRegistry[type[Base]] = PluginRegistry("model", group, Base, classes=True)
    bases.register(Derived, name="derived")
    assert bases.get("derived") is Derived
    with pytest.raises(UsageError, match="is not a model"):
        bases.register(Derived(), name="instance")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="registered under a name"):
        bases.register(Derived)


def test_deregister_removes_a_plugin(group: str) -> None:
    greeters = registry(group)
    greeters.register(Hello())
    greeters.deregister("hello")
    assert "hello" not in greeters
    with pytest.raises(UsageError):
        greeters.deregister("hello")


# ----------------------------------------------------------------------------- by reference


def test_a_reference_is_imported_only_when_its_plugin_is_needed(
    group: str, third_party: Distribution
) -> None:
    greeters = registry(group)
    greeters.register_reference("hallo", f"{third_party.module}.plugins:HALLO")
    assert "hallo" in greeters.names()
    assert f"{third_party.module}.plugins" not in sys.modules
    assert greeters.get("hallo").greet("Welt") == "hallo Welt"
    assert f"{third_party.module}.plugins" in sys.modules


def test_a_reference_that_cannot_be_loaded_names_it(group: str) -> None:
    greeters = registry(group)
    greeters.register_reference("ghost", "opsctl_test_no_such_module.plugins:GHOST")
    with pytest.raises(UsageError, match="'ghost' cannot be loaded from opsctl_test_no_such_module"):
        greeters.get("ghost")
    with pytest.raises(UsageError, match="not a module:attribute reference"):
        greeters.register_reference("bad", "not a reference!")


def test_a_reference_whose_plugin_has_another_name_is_refused(
    group: str, third_party: Distribution
) -> None:
    greeters = registry(group)
    greeters.register_reference("hello", f"{third_party.module}.plugins:HALLO")
    with pytest.raises(UsageError, match="'hallo' cannot be registered as 'hello'"):
        greeters.get("hello")


def test_a_module_that_registers_its_plugin_while_loading_is_the_same_plugin(
    group: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = f"opsctl_test_selfreg_{next(_numbers)}"
    (tmp_path / f"{module}.py").write_text(
        "import builtins\n"
        "class Hello:\n"
        "    name = 'hello'\n"
        "    def greet(self, who):\n"
        "        return 'hello ' + who\n"
        "HELLO = Hello()\n"
        "builtins._opsctl_test_registry.register(HELLO)\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    greeters = registry(group)
    monkeypatch.setattr("builtins._opsctl_test_registry", greeters, raising=False)
    greeters.register_reference("hello", f"{module}:HELLO")
    assert greeters.get("hello") is sys.modules[module].HELLO
    del sys.modules[module]


# ----------------------------------------------------------------------------- entry points


def test_entry_points_are_listed_without_importing_their_plugins(
    group: str, third_party: Distribution
) -> None:
    greeters = registry(group)
    greeters.register(Hello())
    assert greeters.names() == ("hello", "hallo", "hej")  # built-ins first
    assert third_party.module not in sys.modules
    assert [greeter.greet("x") for greeter in greeters.plugins()] == ["hello x", "hallo x", "hallo x"]


def test_get_loads_only_the_entry_point_asked_for(group: str, third_party: Distribution) -> None:
    greeters = registry(group)
    assert greeters.get("hej").name == "hej"
    with pytest.raises(UsageError) as raised:
        greeters.get("howdy")
    assert raised.value.hint == "known: hallo, hej"


def test_an_entry_point_taking_a_built_in_name_is_refused(
    group: str, third_party: Distribution
) -> None:
    greeters = registry(group)
    hallo = Hello(name="hallo")  # a built-in of another class under the entry point's name
    greeters.register(hallo)
    with pytest.raises(UsageError, match=r"'hallo' is already registered by .*Hello"):
        greeters.names()


def test_an_in_process_registration_of_the_entry_points_own_plugin_is_no_clash(
    group: str, third_party: Distribution
) -> None:
    import importlib

    plugins = importlib.import_module(f"{third_party.module}.plugins")
    greeters = registry(group)
    greeters.register(plugins.HALLO)
    assert greeters.names() == ("hallo", "hej")
    assert greeters.get("hallo") is plugins.HALLO


# ----------------------------------------------------------------------------- the installed entry points


def test_the_installed_entry_points_are_read_once_per_sys_path(monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
    """A command asks for several groups; the distributions are listed once, and again after sys.path changes."""
    from importlib import metadata

    from opsctl.core import plugins

    reads: list[int] = []
    real = metadata.entry_points

    def counting() -> object:
        reads.append(1)
        return real()

    monkeypatch.setattr(metadata, "entry_points", counting)
    monkeypatch.setattr(plugins, "_installed", None)
    settings = plugins.entry_points_in("opsctl.settings")
    schemas = plugins.entry_points_in("opsctl.state_schemas")
    assert "backup" in {point.name for point in settings}
    assert "inventory" in {point.name for point in schemas}
    assert len(reads) == 1

    info = tmp_path / "late_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: late-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[opsctl.settings]\nlate = late_plugin:Settings\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "late" in {point.name for point in plugins.entry_points_in("opsctl.settings")}
    assert len(reads) == 2
