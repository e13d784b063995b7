"""Pure parts of the lab's SNMP agents: addresses, configs, argument tuples, recordings."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest

from lab.errors import LabError
from lab.snmp.config import (
    BUNDLED_RECORDINGS,
    DISTRO_SCRIPT,
    RECORDINGS,
    SYS_DESCR,
    SYS_OBJECT_ID,
    SimEngine,
    has_subtree,
    parse_snmpget_output,
    parse_snmprec_values,
    render_client_conf_v2c,
    render_client_conf_v3,
    render_snmpd_conf,
    render_snmpsim_args,
    snmpd_address,
    snmpd_command,
    snmpget_command,
    snmpsim_address,
    snmpsim_command,
    unreachable_by_others,
)
from lab.snmp.snmpsim import check_reachable_by_nobody, python_paths, recordings_source

COMMUNITY = "c0ffee" * 4
AUTH = "a1" * 16
PRIV = "b2" * 16


def test_addresses_follow_the_prefix() -> None:
    assert snmpd_address("127.8") == "127.8.20.1"
    assert snmpsim_address("127.8", 0) == "127.8.20.2"
    assert snmpsim_address("127.0", 5) == "127.0.20.7"
    with pytest.raises(ValueError):
        snmpd_address("10.0")
    with pytest.raises(ValueError):
        snmpsim_address("127.8", 253)


def test_snmpd_conf_has_v2c_and_a_v3_authpriv_user() -> None:
    text = render_snmpd_conf(
        name="lab-snmpd", address="127.8.20.1", port=11161,
        community=COMMUNITY, v3_user="opsctl-lab", auth_key=AUTH, priv_key=PRIV,
    )  # fmt: skip
    lines = text.splitlines()
    assert "agentAddress udp:127.8.20.1:11161" in lines
    assert f"rocommunity {COMMUNITY} 127.0.0.0/8" in lines
    assert f"createUser opsctl-lab SHA {AUTH} AES {PRIV}" in lines
    assert "rouser opsctl-lab priv" in lines
    assert "sysName lab-snmpd" in lines


def test_snmpd_conf_says_the_hosts_hardware_and_distribution_as_sites_set_it_up(tmp_path: Path) -> None:
    script = tmp_path / "distro"
    text = render_snmpd_conf(
        name="lab-snmpd", address="127.8.20.1", port=11161,
        community=COMMUNITY, v3_user="opsctl-lab", auth_key=AUTH, priv_key=PRIV, distro_script=script,
    )  # fmt: skip
    lines = text.splitlines()
    assert "extend hardware /bin/cat /sys/devices/virtual/dmi/id/product_name" in lines
    assert "extend manufacturer /bin/cat /sys/devices/virtual/dmi/id/sys_vendor" in lines
    assert "extend serial /bin/cat /sys/devices/virtual/dmi/id/product_serial" in lines
    assert f"extend distro {script}" in lines
    # the script prints this machine's distribution, one line
    script.write_text(DISTRO_SCRIPT)
    printed = subprocess.run(["/bin/sh", str(script)], capture_output=True, text=True, check=True).stdout
    pretty = next(
        line.split("=", 1)[1].strip('"') for line in Path("/etc/os-release").read_text().splitlines()
        if line.startswith("PRETTY_NAME=")
    )
    assert printed == pretty + "\n"


@pytest.mark.parametrize(
    ("field", "value"),
    [("community", "-V"), ("community", "two words"), ("auth_key", "short"), ("address", "10.1.1.1")],
)
def test_snmpd_conf_refuses_what_would_break_it(field: str, value: str) -> None:
    arguments = {
        "name": "lab-snmpd", "address": "127.8.20.1", "port": 11161, "community": COMMUNITY,
        "v3_user": "opsctl-lab", "auth_key": AUTH, "priv_key": PRIV,
    }  # fmt: skip
    arguments[field] = value
    with pytest.raises(ValueError):
        render_snmpd_conf(**arguments)  # type: ignore[arg-type]


def test_snmpd_command_keeps_the_address_and_secrets_off_the_command_line() -> None:
    argv = snmpd_command(snmpd="/usr/sbin/snmpd", config=Path("/lab/peers/lab-snmpd/snmpd.conf"))
    assert argv == (
        "/usr/sbin/snmpd", "-f", "-Lo", "-C", "-c", "/lab/peers/lab-snmpd/snmpd.conf", "-I", "-smux",
    )  # fmt: skip
    assert not any("11161" in part for part in argv)


def test_client_confs_carry_the_credentials() -> None:
    assert f"defCommunity {COMMUNITY}" in render_client_conf_v2c(COMMUNITY)
    v3 = render_client_conf_v3(user="opsctl-lab", auth_key=AUTH, priv_key=PRIV).splitlines()
    assert "defSecurityLevel authPriv" in v3
    assert f"defAuthPassphrase {AUTH}" in v3 and f"defPrivPassphrase {PRIV}" in v3
    assert "defAuthType SHA" in v3 and "defPrivType AES" in v3


def test_snmpget_command_has_no_secret_and_one_try() -> None:
    argv = snmpget_command(
        snmpget="/usr/bin/snmpget", address="127.8.20.3", port=11161,
        oids=(SYS_OBJECT_ID,), timeout_seconds=1.5, context="eaton-93e-80",
    )  # fmt: skip
    assert argv == (
        "/usr/bin/snmpget", "-On", "-t", "1.5", "-r", "0", "-n", "eaton-93e-80",
        "udp:127.8.20.3:11161", SYS_OBJECT_ID,
    )  # fmt: skip
    v2c = snmpget_command(
        snmpget="snmpget", address="127.8.20.2", port=11161, oids=(SYS_DESCR,),
        timeout_seconds=1, community="cisco-c3750",
    )  # fmt: skip
    assert v2c[5:9] == ("0", "-v2c", "-c", "cisco-c3750")


def test_parse_snmpget_output() -> None:
    text = (
        '.1.3.6.1.2.1.1.1.0 = STRING: "Linux lab 6.1"\n'
        ".1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.8072.3.2.10\n"
        "garbage line\n"
    )
    assert parse_snmpget_output(text) == {
        SYS_DESCR: "Linux lab 6.1",
        SYS_OBJECT_ID: ".1.3.6.1.4.1.8072.3.2.10",
    }


def test_snmpsim_args_give_each_engine_its_data_dir_users_and_endpoint_in_order() -> None:
    engines = [
        SimEngine(Path("/run/x/data/a"), "127.8.20.2", 11161),
        SimEngine(Path("/run/x/data/b"), "127.8.20.3", 11161),
    ]
    lines = render_snmpsim_args(engines, v3_user="opsctl-lab", auth_key=AUTH, priv_key=PRIV).split()
    assert len(lines) == 16
    first = lines[:8]
    assert first[0] == "--v3-engine-id=auto"
    assert first[1] == "--data-dir=/run/x/data/a"
    assert first[2] == "--v3-user=opsctl-lab"
    assert f"--v3-auth-key={AUTH}" in first and "--v3-auth-proto=SHA" in first
    assert f"--v3-priv-key={PRIV}" in first and "--v3-priv-proto=AES" in first
    assert first[-1] == "--agent-udpv4-endpoint=127.8.20.2:11161"
    assert lines[-1] == "--agent-udpv4-endpoint=127.8.20.3:11161"
    with pytest.raises(ValueError):
        render_snmpsim_args(
            [SimEngine(Path("/d"), "0.0.0.0", 161)], v3_user="u", auth_key=AUTH, priv_key=PRIV
        )


def test_snmpsim_command_drops_privileges_and_reads_engines_from_a_file() -> None:
    argv = snmpsim_command(
        responder="/venv/bin/snmpsim-command-responder",
        args_file=Path("/lab/peers/lab-snmpsim/snmpsim.args"),
        cache_dir=Path("/run/opsctl-lab/x/cache"),
    )
    assert "--process-user=nobody" in argv and "--process-group=nogroup" in argv
    assert argv[-1] == "--args-from-file=/lab/peers/lab-snmpsim/snmpsim.args"
    assert not any(part.startswith("--v3-") for part in argv)


def test_parse_snmprec_values_decodes_hex_strings() -> None:
    text = (
        "1.3.6.1.2.1.1.1.0|4x|4541544f4e20393345203830\n"
        "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.705.1\n"
        "1.3.6.1.2.1.33.1.1.1.0|4|EATON\n"
    )
    assert parse_snmprec_values(text, (SYS_DESCR, SYS_OBJECT_ID)) == {
        SYS_DESCR: "EATON 93E 80",
        SYS_OBJECT_ID: "1.3.6.1.4.1.705.1",
    }
    assert has_subtree(text, "1.3.6.1.2.1.33")
    assert not has_subtree(text, "1.3.6.1.2.1.3")


def test_recordings_cover_every_role_and_exist_in_snmpsim_data() -> None:
    assert {recording.role for recording in RECORDINGS} >= {
        "switch", "ups", "pdu", "storage", "bmc", "sensor",
    }  # fmt: skip
    assert len({recording.name for recording in RECORDINGS}) == len(RECORDINGS)
    assert any(recording.ups_mib for recording in RECORDINGS if recording.role == "ups")
    source = recordings_source()
    for recording in RECORDINGS:
        root = BUNDLED_RECORDINGS if recording.bundled else source
        assert (root / recording.source).is_file(), recording.source


def test_unreachable_by_others_names_a_0700_directory() -> None:
    directory = stat.S_IFDIR
    modes = {
        Path("/"): directory | 0o755,
        Path("/root"): directory | 0o700,
        Path("/root/venv/lib"): directory | 0o755,
        Path("/root/venv/bin/tool"): stat.S_IFREG | 0o700,
    }
    blocked = unreachable_by_others(modes, readable=[Path("/root/venv/bin/tool")])
    assert blocked == [Path("/root"), Path("/root/venv/bin/tool")]
    assert unreachable_by_others({Path("/opt"): directory | 0o755}) == []


def test_snmpsim_refuses_a_python_that_nobody_can_read(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    private.chmod(0o700)
    script = private / "snmpsim-command-responder"
    script.write_text("#!/bin/sh\n")
    with pytest.raises(LabError) as caught:
        check_reachable_by_nobody([script])
    assert "not readable by other users" in caught.value.message
    assert caught.value.hint and "world-readable" in caught.value.hint
    check_reachable_by_nobody(python_paths())  # this checkout's environment is usable
