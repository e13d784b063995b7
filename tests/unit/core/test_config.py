"""Configuration layers, conf.d fragments, environment variables and error messages."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import Field, ValidationError

from lab.settings import lab_dir, lab_settings
from opsctl.core.config import load_settings
from opsctl.core.errors import ConfigError, ExitCode, UsageError
from opsctl.core.settings import (
    SETTINGS_SECTIONS,
    SecretField,
    Settings,
    SettingsModel,
    register_section,
)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """Separate system, user and explicit config locations, none of them written yet."""
    paths = {
        "system": tmp_path / "etc" / "opsctl.yaml",
        "user": tmp_path / "home" / "opsctl.yaml",
        "config": tmp_path / "explicit" / "opsctl.yaml",
    }
    for path in paths.values():
        path.parent.mkdir(parents=True)
    return paths


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def load(
    files: dict[str, Path], *, config: bool = False, environ: dict[str, str] | None = None
) -> Settings:
    return load_settings(
        files["config"] if config else None,
        environ=environ or {},
        system_file=files["system"],
        user_file=files["user"],
    )


def config_error(files: dict[str, Path], **kwargs: object) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(files, **kwargs)  # type: ignore[arg-type]
    return caught.value


# ----------------------------------------------------------------------------- layers


def test_no_files_and_no_environment_give_the_defaults(files: dict[str, Path]) -> None:
    assert load(files) == Settings()


def test_each_layer_overrides_the_one_before_key_by_key(files: dict[str, Path]) -> None:
    write(
        files["system"],
        "ssh:\n  port: 2201\n  user: sys\n  connect_timeout: 1\nfleet:\n  forks: 11\n",
    )
    write(files["user"], "ssh:\n  port: 2202\n  connect_timeout: 2\n")
    write(files["config"], "ssh:\n  connect_timeout: 3\n")

    settings = load(files, config=True, environ={"OPSCTL_FLEET__FORKS": "44"})

    assert settings.ssh.user == "sys"  # only the system file sets it
    assert settings.ssh.port == 2202  # user over system
    assert settings.ssh.connect_timeout == 3.0  # --config over user
    assert settings.fleet.forks == 44  # environment over everything


def test_the_environment_overrides_the_config_file(files: dict[str, Path]) -> None:
    write(files["config"], "ssh:\n  connect_timeout: 3\n")
    settings = load(files, config=True, environ={"OPSCTL_SSH__CONNECT_TIMEOUT": "5"})
    assert settings.ssh.connect_timeout == 5.0


def test_environment_variables_nest_on_double_underscores(
    files: dict[str, Path], tmp_path: Path
) -> None:
    settings = load(
        files,
        environ={
            "OPSCTL_STATE__DIR": str(tmp_path / "state"),
            "OPSCTL_INVENTORY": "/srv/inventory.yaml",
            "OPSCTL_SSH__USE_AGENT": "false",
            "OPSCTL_SSH__BECOME_PASSWORD": "env:BECOME",
            "HOME": "/ignored",
        },
    )
    assert settings.state_dir == tmp_path / "state"
    assert settings.inventory == Path("/srv/inventory.yaml")
    assert settings.ssh.use_agent is False
    assert str(settings.ssh.become_password) == "env:BECOME"


def test_conf_d_fragments_merge_after_their_file_in_name_order(files: dict[str, Path]) -> None:
    write(files["user"], "ssh:\n  port: 2200\n  user: main\nfleet:\n  forks: 5\n")
    conf_d = files["user"].parent / "conf.d"
    write(conf_d / "20-later.yml", "ssh:\n  port: 2220\n")
    write(conf_d / "10-first.yaml", "ssh:\n  port: 2210\n  user: fragment\n")
    write(conf_d / "30-notes.txt", "ssh: [this is not read]\n")
    write(files["config"], "fleet:\n  forks: 7\n")

    settings = load(files, config=True)

    assert settings.ssh.port == 2220
    assert settings.ssh.user == "fragment"
    assert settings.fleet.forks == 7  # --config comes after the user file's fragments


def test_conf_d_beside_a_missing_system_file_is_still_read(files: dict[str, Path]) -> None:
    write(files["system"].parent / "conf.d" / "probe.yaml", "fleet:\n  forks: 9\n")
    assert load(files).fleet.forks == 9


def test_an_empty_file_sets_nothing(files: dict[str, Path]) -> None:
    write(files["user"], "# nothing here yet\n")
    assert load(files) == Settings()


# ----------------------------------------------------------------------------- errors


def test_missing_explicit_config_file_is_an_error(files: dict[str, Path]) -> None:
    error = config_error(files, config=True)
    assert str(files["config"]) in str(error)
    assert "no such configuration file" in str(error)
    assert error.exit_code == ExitCode.USAGE


def test_unknown_key_names_file_line_key_path_and_the_expected_keys(
    files: dict[str, Path],
) -> None:
    write(files["config"], "fleet:\n  forks: 5\nssh:\n  port: 22\n  conect_timeout: 5\n")
    error = config_error(files, config=True)
    assert str(error).startswith(f"{files['config']}:5: ssh.conect_timeout: unknown key")
    assert "expected one of: become_password, command_timeout, connect_timeout," in str(error)
    assert (error.line, error.key_path) == (5, "ssh.conect_timeout")


def test_unknown_top_level_section_lists_the_sections(files: dict[str, Path]) -> None:
    write(files["user"], "sssh:\n  port: 22\n")
    error = config_error(files)
    assert f"{files['user']}:1: sssh: unknown key; expected one of: audit, backup, discovery, files, fleet," in str(error)


def test_wrong_type_names_the_line_and_what_was_expected_but_not_the_value(
    files: dict[str, Path],
) -> None:
    write(files["user"], "ssh:\n  user: ops\n  port: twenty-two\n")
    error = config_error(files)
    assert str(error).startswith(f"{files['user']}:3: ssh.port: ")
    assert "valid integer" in str(error)
    assert "twenty-two" not in str(error)


def test_a_literal_secret_is_refused_without_echoing_it(files: dict[str, Path]) -> None:
    write(files["config"], "ssh:\n  private_key_passphrase: hunter2-Very-Secret\n")
    error = config_error(files, config=True)
    assert str(error).startswith(f"{files['config']}:2: ssh.private_key_passphrase: ")
    assert "expected a secret reference" in str(error)
    assert "hunter2" not in str(error)
    assert "hunter2" not in repr(error.args)
    assert error.__cause__ is None and error.__suppress_context__


def test_the_error_names_the_layer_that_set_the_bad_value(files: dict[str, Path]) -> None:
    write(files["system"], "ssh:\n  port: 22\n")
    write(files["user"], "fleet:\n  forks: 3\n\nssh:\n  port: 0\n")
    fragment = write(files["user"].parent / "conf.d" / "50-lab.yaml", "lab:\n\n  prefix: '10.1'\n")

    error = config_error(files)

    assert str(error).startswith(f"{files['user']}:5: ssh.port: ")
    assert "greater than or equal to 1" in str(error)
    # the fragment's problem is the other one pydantic found
    assert error.hint is not None and "1 more" in error.hint
    write(files["user"], "ssh:\n  port: 2222\n")
    error = config_error(files)
    assert str(error).startswith(f"{fragment}:3: lab.prefix: String should match pattern")


def test_a_bad_value_in_an_earlier_layer_names_that_layer(files: dict[str, Path]) -> None:
    write(files["system"], "fleet:\n  forks: 3\nssh:\n  port: 70000\n")
    write(files["user"], "ssh:\n  user: ops\n  connect_timeout: 3\n")
    error = config_error(files)
    assert str(error).startswith(f"{files['system']}:4: ssh.port: ")


def test_a_bad_environment_value_names_the_variable_not_the_value(
    files: dict[str, Path],
) -> None:
    write(files["user"], "ssh:\n  connect_timeout: 4\n")
    error = config_error(
        files, environ={"OPSCTL_SSH__CONNECT_TIMEOUT": "soon-ish", "OPSCTL_FLEET__FORKS": "3"}
    )
    assert "ssh.connect_timeout" in str(error)
    assert "environment variable OPSCTL_SSH__CONNECT_TIMEOUT" in str(error)
    assert "soon-ish" not in str(error)
    assert error.path is None


def test_a_secret_in_the_environment_is_not_echoed(files: dict[str, Path]) -> None:
    error = config_error(files, environ={"OPSCTL_SSH__BECOME_PASSWORD": "Tr0ub4dor&3"})
    assert "OPSCTL_SSH__BECOME_PASSWORD" in str(error)
    assert "Tr0ub4dor" not in str(error)


def test_an_unknown_environment_key_names_the_variable(files: dict[str, Path]) -> None:
    error = config_error(files, environ={"OPSCTL_SSH_CONNECT_TIMEOUT": "5"})
    assert "ssh_connect_timeout: unknown key; expected one of: audit," in str(error)
    assert "OPSCTL_SSH_CONNECT_TIMEOUT" in str(error)


def test_conflicting_environment_variables_are_refused(files: dict[str, Path]) -> None:
    error = config_error(files, environ={"OPSCTL_STATE": "x", "OPSCTL_STATE__DIR": "/x"})
    assert "OPSCTL_STATE" in str(error) and "OPSCTL_STATE__DIR" in str(error)


def test_a_top_level_that_is_not_a_mapping_is_refused(files: dict[str, Path]) -> None:
    write(files["user"], "- ssh\n- fleet\n")
    error = config_error(files)
    assert (
        str(error)
        == f"{files['user']}:1: expected a mapping of settings at the top level, not a list"
    )


def test_a_section_that_is_not_a_mapping_is_refused(files: dict[str, Path]) -> None:
    write(files["user"], "fleet: 5\n")
    error = config_error(files)
    assert str(error) == f"{files['user']}:1: fleet: expected a mapping of keys"


def test_malformed_yaml_names_the_file_and_line(files: dict[str, Path]) -> None:
    write(files["config"], "ssh:\n  port: 22\n  user: [unclosed\n")
    error = config_error(files, config=True)
    assert str(error).startswith(f"{files['config']}:")
    assert "malformed YAML" in str(error)


def test_a_non_utf8_file_is_refused(files: dict[str, Path]) -> None:
    files["user"].write_bytes(b"ssh:\n  user: caf\xe9\n")
    error = config_error(files)
    assert str(files["user"]) in str(error)
    assert "utf-8" in str(error).lower()


# ----------------------------------------------------------------------------- packages' sections


class PagerSettings(SettingsModel):
    """A test package's section: where its pages go, a secret by reference, and a list of rules."""

    url: str = "http://127.0.0.1:9/"
    token: SecretField | None = None
    retries: int = Field(default=3, ge=0)
    rules: tuple[PagerRule, ...] = ()


class PagerRule(SettingsModel):
    match: str
    hold_seconds: float = 0


PagerSettings.model_rebuild()


@pytest.fixture
def pager() -> Iterator[type[PagerSettings]]:
    """The test package's section registered in-process (as code not installed as a distribution does)."""
    register_section("pager", PagerSettings)
    yield PagerSettings
    SETTINGS_SECTIONS.deregister("pager")


def test_a_registered_section_is_validated_like_the_cores(
    files: dict[str, Path], pager: type[PagerSettings]
) -> None:
    write(files["user"], "pager:\n  url: https://pager.example/\n  rules:\n    - match: disk\n")
    settings = load(files, environ={"OPSCTL_PAGER__RETRIES": "5"})
    section = settings.section("pager", pager)
    assert (section.url, section.retries, section.rules) == (
        "https://pager.example/", 5, (PagerRule(match="disk"),),
    )  # fmt: skip
    assert settings.sections == {"pager": section}


def test_an_error_in_a_registered_section_names_file_line_and_key_path(
    files: dict[str, Path], pager: type[PagerSettings]
) -> None:
    write(files["user"], "pager:\n  url: https://pager.example/\n  retries: -1\n")
    error = config_error(files)
    assert str(error).startswith(f"{files['user']}:3: pager.retries: ")
    assert "greater than or equal to 0" in str(error)
    assert (error.line, error.key_path) == (3, "pager.retries")


def test_an_unknown_key_in_a_registered_section_lists_that_sections_keys(
    files: dict[str, Path], pager: type[PagerSettings]
) -> None:
    write(files["user"], "pager:\n  rules:\n    - match: disk\n      hold: 5\n")
    error = config_error(files)
    assert str(error) == (
        f"{files['user']}:4: pager.rules.0.hold: unknown key; expected one of: hold_seconds, match"
    )


def test_a_literal_secret_in_a_registered_section_is_not_echoed(
    files: dict[str, Path], pager: type[PagerSettings]
) -> None:
    write(files["user"], "pager:\n  token: hunter2-Pager-Token\n")
    error = config_error(files)
    assert str(error).startswith(f"{files['user']}:2: pager.token: ")
    assert "hunter2" not in f"{error} {error.hint} {error.args!r}"


def test_an_unknown_section_is_refused_listing_the_registered_ones(
    files: dict[str, Path], pager: type[PagerSettings]
) -> None:
    write(files["user"], "ssh:\n  port: 22\npagr:\n  url: x\n")
    error = config_error(files)
    assert str(error) == (
        f"{files['user']}:3: pagr: unknown key; expected one of: "
        "audit, backup, discovery, files, fleet, inventory, lab, monitoring, pager, ssh, state"
    )


def test_a_registered_section_may_come_from_a_conf_d_fragment(
    files: dict[str, Path], pager: type[PagerSettings]
) -> None:
    write(files["system"], "pager:\n  url: https://one.example/\n  retries: 1\n")
    fragment = write(files["system"].parent / "conf.d" / "50-pager.yaml", "pager:\n  retries: 2\n")
    assert load(files).section("pager", pager) == PagerSettings(url="https://one.example/", retries=2)
    write(fragment, "pager:\n  retries: many\n")
    assert str(config_error(files)).startswith(f"{fragment}:2: pager.retries: ")


def test_an_absent_section_gives_its_models_defaults(
    files: dict[str, Path], pager: type[PagerSettings]
) -> None:
    settings = load(files)
    assert settings.section("pager", pager) == PagerSettings()
    assert settings.sections == {}


def test_a_section_asked_for_with_another_model_is_a_type_error(
    files: dict[str, Path], pager: type[PagerSettings]
) -> None:
    write(files["user"], "pager:\n  retries: 1\n")
    with pytest.raises(TypeError, match="'pager' is a PagerSettings, not a PagerRule"):
        load(files).section("pager", PagerRule)


def test_a_section_cannot_take_a_core_name_or_anothers(pager: type[PagerSettings]) -> None:
    with pytest.raises(UsageError, match="cannot be the name of a settings section"):
        register_section("ssh", PagerSettings)
    with pytest.raises(UsageError, match="'pager' is already registered"):
        register_section("pager", PagerRule)
    with pytest.raises(UsageError, match="is not a settings section"):
        register_section("plain", dict)  # type: ignore[arg-type]


def test_settings_built_in_python_validate_the_sections_too(pager: type[PagerSettings]) -> None:
    settings = Settings(state={"dir": "/srv/opsctl"}, pager={"retries": 0})  # type: ignore[call-arg, arg-type]
    assert settings.section("pager", pager).retries == 0
    assert settings.state_dir == Path("/srv/opsctl")
    with pytest.raises(ValidationError):
        Settings(pager={"retries": -1})  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="pagr"):
        Settings(pagr={})  # type: ignore[call-arg]


# ----------------------------------------------------------------------------- the lab's and discovery's sections


def test_the_environment_overrides_the_labs_section(files: dict[str, Path]) -> None:
    write(files["user"], "lab:\n  prefix: '127.5'\n  ssh_hosts: 2\n")
    settings = load(files, environ={"OPSCTL_LAB__PREFIX": "127.9"})
    assert (lab_settings(settings).prefix, lab_settings(settings).ssh_hosts) == ("127.9", 2)


def test_a_bad_lab_prefix_from_the_environment_names_the_variable(files: dict[str, Path]) -> None:
    error = config_error(files, environ={"OPSCTL_LAB__PREFIX": "10.1"})
    assert "lab.prefix" in str(error)
    assert "environment variable OPSCTL_LAB__PREFIX" in str(error)


def test_the_lab_directory_defaults_to_the_state_directory(files: dict[str, Path], tmp_path: Path) -> None:
    settings = load(files, environ={"OPSCTL_STATE__DIR": str(tmp_path / "state")})
    assert lab_dir(settings) == tmp_path / "state" / "lab"
    settings = load(files, environ={"OPSCTL_LAB__DIR": str(tmp_path / "elsewhere")})
    assert lab_dir(settings) == tmp_path / "elsewhere"


def _python(code: str, *, path: Path | None = None) -> list[str]:
    """Run ``code`` in a fresh interpreter (with ``path`` first on sys.path); return its output lines."""
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(path or ""), *sys.path]))}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=environment,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_entry_points_name_the_sections_without_importing_their_packages(tmp_path: Path) -> None:
    config = write(tmp_path / "opsctl.yaml", "ssh:\n  port: 22\n")
    lines = _python(
        f"""
        import sys
        from pathlib import Path
        from opsctl.core.config import load_settings
        from opsctl.core.settings import SETTINGS_SECTIONS
        print(sorted(SETTINGS_SECTIONS.names()))
        load_settings(Path({str(config)!r}), environ={{}}, system_file=Path({str(tmp_path / "none")!r}),
                      user_file=Path({str(tmp_path / "none")!r}))
        print(sorted(name for name in sys.modules if name.split(".")[0] in ("lab", "inventory", "backup")))
        """
    )
    assert lines[0] == "['backup', 'discovery', 'lab', 'monitoring']"
    assert lines[1] == "[]"


def test_a_present_section_imports_its_model_module_and_not_its_package(tmp_path: Path) -> None:
    config = write(tmp_path / "opsctl.yaml", "lab:\n  prefix: '127.6'\n")
    lines = _python(
        f"""
        import sys
        from pathlib import Path
        from opsctl.core.config import load_settings
        settings = load_settings(Path({str(config)!r}), environ={{}}, system_file=Path({str(tmp_path / "none")!r}),
                                 user_file=Path({str(tmp_path / "none")!r}))
        print(sorted(name for name in sys.modules if name.split(".")[0] in ("lab", "inventory")))
        print(repr(settings.sections["lab"]))
        """
    )
    assert lines == ["['lab', 'lab.settings']",
                     "LabSettings(prefix='127.6', dir=None, ssh_hosts=5, hospital_db_megabytes=20, object_store=True)"]


def test_a_section_declared_by_an_uninstalled_packages_entry_point_is_validated(tmp_path: Path) -> None:
    """An ``archive:`` section is checked as soon as its package declares it, none of its code imported."""
    site = tmp_path / "site"
    write(site / "fake_archive" / "__init__.py", "")
    write(site / "fake_archive" / "engine.py", "raise RuntimeError('the engine must not be imported')\n")
    write(
        site / "fake_archive" / "settings.py",
        "from opsctl.core.settings import SettingsModel\n"
        "class ArchiveSettings(SettingsModel):\n"
        "    retention_days: int = 30\n",
    )
    write(site / "fake_archive-1.0.dist-info" / "METADATA", "Metadata-Version: 2.1\nName: fake-archive\nVersion: 1.0\n")
    write(
        site / "fake_archive-1.0.dist-info" / "entry_points.txt",
        "[opsctl.settings]\narchive = fake_archive.settings:ArchiveSettings\n",
    )
    good = write(tmp_path / "good.yaml", "archive:\n  retention_days: 7\n")
    bad = write(tmp_path / "bad.yaml", "ssh:\n  port: 22\narchive:\n  retention_days: many\n")
    typo = write(tmp_path / "typo.yaml", "archives:\n  retention_days: 7\n")
    lines = _python(
        f"""
        import sys
        from pathlib import Path
        from opsctl.core.config import load_settings
        from opsctl.core.errors import ConfigError
        for path in ({str(good)!r}, {str(bad)!r}, {str(typo)!r}):
            try:
                settings = load_settings(Path(path), environ={{}}, system_file=Path("/nonexistent/opsctl.yaml"),
                                         user_file=Path("/nonexistent/opsctl.yaml"))
                print(repr(settings.sections["archive"]))
            except ConfigError as error:
                print(error)
        print("fake_archive.engine" in sys.modules)
        """,
        path=site,
    )
    assert lines[0] == "ArchiveSettings(retention_days=7)"
    assert lines[1].startswith(f"{bad}:4: archive.retention_days: ")
    assert "valid integer" in lines[1]
    assert lines[2] == (
        f"{typo}:1: archives: unknown key; expected one of: "
        "archive, audit, backup, discovery, files, fleet, inventory, lab, monitoring, ssh, state"
    )
    assert lines[3] == "False"
