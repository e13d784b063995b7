"""Loading Ansible YAML inventories: structure, ranges, group_vars/host_vars, precedence and refusals."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from inventory import Inventory, inventory_from_data, load_inventory
from opsctl.core.errors import ConfigError, ExitCode, HostNotFound, exit_code_for

FIXTURES = Path(__file__).parents[2] / "fixtures" / "inventories"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def refusal(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_inventory(path)
    return caught.value


@pytest.fixture(scope="module")
def hospital() -> Inventory:
    return load_inventory(FIXTURES / "hospital" / "inventory.yml")


# --- structure -----------------------------------------------------------------------------


def test_hospital_hosts_in_file_order_with_ranges_expanded(hospital: Inventory) -> None:
    assert list(hospital.hosts) == [
        "bastion.dc.hospital.example",
        "pacs01.dc.hospital.example",
        "pacs02.dc.hospital.example",
        "pg-a.dc.hospital.example",
        "pg-b.dc.hospital.example",
        "web01.dc.hospital.example",
        "web03.dc.hospital.example",
        "web05.dc.hospital.example",
        "core-sw1",
        "core-sw2",
        "acc-sw-a-01",
        "acc-sw-a-02",
        "acc-sw-b-01",
        "acc-sw-b-02",
        "ups1.dc.hospital.example",
        "web07.dc.hospital.example",
    ]


def test_host_port_suffix_becomes_the_port(hospital: Inventory) -> None:
    bastion = hospital.get("bastion.dc.hospital.example")
    assert bastion.port == 2222
    assert bastion.address == "192.0.2.10"
    assert set(bastion.groups) == {"all", "ungrouped"}


def test_a_group_mentioned_twice_merges_hosts_and_vars(hospital: Inventory) -> None:
    web = hospital.groups["web"]
    assert web.hosts == (
        "web01.dc.hospital.example",
        "web03.dc.hospital.example",
        "web05.dc.hospital.example",
        "web07.dc.hospital.example",
    )
    # the second mention sits at the top level, but web keeps its parents
    assert "web" not in hospital.groups["all"].children
    assert {"all", "linux", "prod", "web"} == set(hospital.get("web07.dc.hospital.example").groups)


def test_host_groups_include_ancestors_ordered_by_precedence(hospital: Inventory) -> None:
    assert hospital.get("pacs02.dc.hospital.example").groups == (
        "all",
        "linux",
        "prod",
        "databases",
        "pacs",
    )


def test_groups_list_direct_members_and_children(hospital: Inventory) -> None:
    assert hospital.groups["linux"].children == ("pacs", "databases", "web")
    assert hospital.groups["linux"].hosts == ()
    assert hospital.groups["databases"].hosts == (
        "pg-a.dc.hospital.example",
        "pg-b.dc.hospital.example",
        "pacs02.dc.hospital.example",
    )
    assert hospital.groups["ungrouped"].hosts == ("bastion.dc.hospital.example",)
    assert list(hospital.groups)[:2] == ["all", "ungrouped"]


def test_top_level_groups_become_children_of_all() -> None:
    inventory = inventory_from_data({"web": {"hosts": {"w1": None}}, "db": {"hosts": {"d1": None}}})
    assert set(inventory.groups["all"].children) == {"ungrouped", "web", "db"}
    assert inventory.get("w1").groups == ("all", "web")


def test_hosts_under_all_only_are_ungrouped_and_leave_it_once_grouped() -> None:
    inventory = inventory_from_data(
        {
            "all": {"hosts": {"lonely": None, "later": None}},
            "ungrouped": {"hosts": {"also": None}},
            "web": {"hosts": {"later": None}},
        }
    )
    assert inventory.groups["ungrouped"].hosts == ("lonely", "also")
    assert inventory.get("later").groups == ("all", "web")


def test_hosts_and_children_given_as_a_single_name_are_accepted_like_ansible() -> None:
    inventory = inventory_from_data({"web": {"hosts": "w1"}, "prod": {"children": "web"}})
    assert [host.name for host in inventory.select("prod")] == ["w1"]


def test_empty_file_is_an_inventory_without_hosts(tmp_path: Path) -> None:
    path = write(tmp_path / "empty.yml", "# nothing here yet\n")
    inventory = load_inventory(path)

    assert inventory.hosts == {}
    assert inventory.path == path
    with pytest.raises(HostNotFound, match=re.escape(f"matches no host in {path}")):
        inventory.select("all")


def test_directory_of_inventory_files_is_read_in_name_order(tmp_path: Path) -> None:
    write(tmp_path / "inv" / "02-groups.yml", "prod:\n  children:\n    web:\n")
    write(tmp_path / "inv" / "01-hosts.yaml", "web:\n  hosts:\n    w1:\n    w2:\n")
    write(tmp_path / "inv" / "notes.md", "not an inventory\n")
    write(tmp_path / "inv" / "group_vars" / "prod.yml", "tier: prod\n")
    inventory = load_inventory(tmp_path / "inv")

    assert [host.name for host in inventory.select("prod")] == ["w1", "w2"]
    assert inventory.get("w1").vars == {"tier": "prod"}


# --- variables: files beside the inventory and precedence ----------------------------------


def test_precedence_in_the_hospital_inventory(hospital: Inventory) -> None:
    pacs01 = hospital.get("pacs01.dc.hospital.example").vars
    # child group (pacs) over parent group (linux) over all, in the inventory file
    assert pacs01["role_tier"] == "pacs"
    assert pacs01["ansible_become"] is True
    # group_vars/all beats every group's vars in the inventory file, as in Ansible
    assert pacs01["ntp_server"] == "ntp1.dc.hospital.example"
    assert pacs01["log_level"] == "warning"
    # group_vars/all/ is a directory: 10-site.yml replaces dns_servers whole (no deep merge)
    assert pacs01["dns_servers"] == ["10.10.0.53"]
    assert pacs01["site"] == "main"
    assert pacs01["orthanc_storage"] == "/srv/orthanc"  # group_vars/pacs.yaml


def test_siblings_at_the_same_depth_merge_by_name(hospital: Inventory) -> None:
    # pacs02 is in databases and pacs (both depth 3): pacs sorts later, so its vars win...
    pacs02 = hospital.get("pacs02.dc.hospital.example").vars
    assert pacs02["role_tier"] == "pacs"
    # ...but group_vars/databases.yml still beats the inventory file's pacs vars
    assert pacs02["backup_window"] == "04:00"
    assert pacs02["postgresql_version"] == 15


def test_host_vars_file_beats_everything_else(hospital: Inventory) -> None:
    assert hospital.get("pg-a.dc.hospital.example").vars["backup_window"] == "05:00"
    assert hospital.get("pg-b.dc.hospital.example").vars["backup_window"] == "04:00"
    assert hospital.get("web01.dc.hospital.example").vars["http_port"] == 8443
    assert hospital.get("web03.dc.hospital.example").vars["http_port"] == 443


def test_json_and_extensionless_group_vars_files(hospital: Inventory) -> None:
    web07 = hospital.get("web07.dc.hospital.example").vars
    # group_vars/web.json beats the inventory file's web vars
    assert web07["nginx_worker_processes"] == 8
    assert web07["tls_certificate"] == "/etc/ssl/hospital.pem"
    assert hospital.get("ups1.dc.hospital.example").vars["ups_driver"] == "snmp-ups"


def test_host_vars_directory_skips_hidden_and_backup_files(hospital: Inventory) -> None:
    switch = hospital.get("core-sw1")
    assert switch.address == "10.10.0.2"
    assert switch.vars["stack_member"] == 1
    assert hospital.get("core-sw2").address == "core-sw2"


def test_only_the_first_vars_file_found_is_read(tmp_path: Path) -> None:
    write(tmp_path / "hosts.yml", "web:\n  hosts:\n    w1:\n")
    write(tmp_path / "group_vars" / "web", "source: bare\n")
    write(tmp_path / "group_vars" / "web.yml", "source: yml\nonly_in_yml: 1\n")
    vars_ = load_inventory(tmp_path / "hosts.yml").get("w1").vars

    assert vars_ == {"source": "bare"}


def test_empty_vars_file_is_ignored(tmp_path: Path) -> None:
    write(tmp_path / "hosts.yml", "web:\n  hosts:\n    w1:\n")
    write(tmp_path / "group_vars" / "web.yml", "---\n# to be filled in\n")
    assert load_inventory(tmp_path / "hosts.yml").get("w1").vars == {}


def test_group_priority_reorders_siblings_only(tmp_path: Path) -> None:
    inventory = inventory_from_data(
        {
            "parent": {
                "vars": {"v": "parent", "ansible_group_priority": 99},
                "children": {"child": {"hosts": {"h": None}, "vars": {"v": "child"}}},
            }
        }
    )
    # priority never lifts a parent over its child
    assert inventory.get("h").vars["v"] == "child"


def test_vault_values_are_kept_as_ansible_inventory_shows_them(tmp_path: Path) -> None:
    path = write(
        tmp_path / "hosts.yml",
        """
        web:
          hosts:
            w1:
              api_token: !vault |
                $ANSIBLE_VAULT;1.1;AES256
                6638613465376538
              motd: !unsafe '{{ not templated }}'
        """,
    )
    vars_ = load_inventory(path).get("w1").vars
    assert vars_["api_token"] == {
        "__ansible_vault": "$ANSIBLE_VAULT;1.1;AES256\n6638613465376538\n"
    }
    assert vars_["motd"] == "{{ not templated }}"


# --- errors: missing and malformed files ----------------------------------------------------


def test_missing_file_is_named(tmp_path: Path) -> None:
    error = refusal(tmp_path / "nope.yml")
    assert str(error) == f"{tmp_path / 'nope.yml'}: no such file"
    assert exit_code_for(error) == ExitCode.USAGE


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "hosts.yml", "web:\n  hosts:\n    w1:\n  - oops\n")
    error = refusal(path)
    assert error.path == str(path)
    assert error.line == 4
    assert "malformed YAML" in str(error)
    assert error.hint is not None and "ansible-inventory" in error.hint


def test_ini_inventory_is_refused_with_a_conversion_hint(tmp_path: Path) -> None:
    path = write(tmp_path / "hosts.ini", "[web]\nw1\n")
    error = refusal(path)
    assert "INI" in str(error)
    assert error.hint is not None and "--list --yaml" in error.hint


def test_top_level_list_is_refused(tmp_path: Path) -> None:
    error = refusal(write(tmp_path / "hosts.yml", "- w1\n- w2\n"))
    assert "mapping of group names" in str(error)
    assert "a list" in str(error)


def test_inventory_plugin_configuration_is_refused(tmp_path: Path) -> None:
    error = refusal(
        write(tmp_path / "aws_ec2.yml", "plugin: amazon.aws.aws_ec2\nregions: [eu-west-1]\n")
    )
    assert "inventory plugin configuration" in str(error)
    assert error.line == 1


@pytest.mark.parametrize(
    ("text", "line", "key_path", "expected"),
    [
        (
            "web:\n  hosts:\n    - w1\n    - w2\n",
            2,
            "web.hosts",
            "hosts of group web must be a mapping of host names to their variables (or nothing), not a list",
        ),
        (
            "web:\n  hosts:\n    w1:\n      - http_port\n",
            3,
            "web.hosts.w1",
            "host w1 must map to its variables (or nothing), not a list",
        ),
        (
            "all:\n  children:\n    web:\n      host:\n        w1:\n",
            4,
            "all.children.web.host",
            "unknown key in group web; expected hosts, children or vars",
        ),
        (
            "web:\n  - w1\n",
            1,
            "web",
            "group web must be a mapping with hosts:, children: and/or vars:, not a list",
        ),
        (
            "web:\n  vars:\n    - http_port: 80\n",
            2,
            "web.vars",
            "vars of group web must be a mapping of variable names to values, not a list",
        ),
        (
            "prod:\n  children:\n    - web\n",
            2,
            "prod.children",
            "children of group prod must be a mapping of group names to groups (or nothing), not a list",
        ),
        (
            "web:\n  hosts:\n    w1:\n    w[5:1]:\n",
            4,
            'web.hosts."w[5:1]"',
            "host range [5:1] in 'w[5:1]' starts after it ends",
        ),
        (
            "web:\n  hosts:\n    w[a:3]:\n",
            3,
            'web.hosts."w[a:3]"',
            "mixes letters and numbers",
        ),
        (
            "web:\n  hosts:\n    w1.example.com:99999:\n",
            3,
            'web.hosts."w1.example.com:99999"',
            "must be 1..65535",
        ),
        (
            "web:\n  hosts:\n    w1:\n      ansible_port: ssh\n",
            4,
            "web.hosts.w1.ansible_port",
            "must be a port number 1..65535",
        ),
        (
            "web:\n  vars:\n    ansible_become: maybe\n",
            3,
            "web.vars.ansible_become",
            "must be a boolean",
        ),
        (
            "web:\n  vars:\n    ansible_host: '{{ inventory_hostname }}.example.org'\n",
            3,
            "web.vars.ansible_host",
            "is a Jinja template; opsctl does not template variables",
        ),
        (
            "web:\n  children:\n    all:\n",
            3,
            "web.children.all",
            "all holds every group, so it cannot be a child of web",
        ),
        (
            "x-defaults: &defaults\n  ansible_user: ops\n",
            2,
            "x-defaults.ansible_user",
            "unknown key in group x-defaults; expected hosts, children or vars",
        ),
        (
            "web:\n  vars:\n    ansible_group_priority: high\n",
            3,
            "web.vars.ansible_group_priority",
            "must be a whole number",
        ),
    ],
)
def test_malformed_structure_names_file_line_and_key_path(
    tmp_path: Path, text: str, line: int, key_path: str, expected: str
) -> None:
    path = write(tmp_path / "hosts.yml", text)
    error = refusal(path)

    assert error.path == str(path)
    assert error.line == line
    assert error.key_path == key_path
    assert str(error).startswith(f"{path}:{line}: {key_path}: ")
    assert expected in str(error)


def test_hosts_as_a_list_hints_at_the_right_form(tmp_path: Path) -> None:
    error = refusal(write(tmp_path / "hosts.yml", "web:\n  hosts:\n    - w1\n"))
    assert error.hint is not None and "(web1:)" in error.hint


def test_a_group_loop_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path / "hosts.yml",
        """
        a:
          children:
            b:
              children:
                c:
        c:
          children:
            a:
        """,
    )
    error = refusal(path)
    assert "group a cannot be a child of c" in str(error)
    assert error.line == 8


def test_errors_in_a_group_vars_file_name_that_file(tmp_path: Path) -> None:
    write(tmp_path / "hosts.yml", "web:\n  hosts:\n    w1:\n")
    vars_file = write(
        tmp_path / "group_vars" / "web" / "20-ports.yml", "---\nhttp_port: 80\nansible_port: 0\n"
    )
    error = refusal(tmp_path / "hosts.yml")
    assert error.path == str(vars_file)
    assert error.line == 3
    assert error.key_path == "ansible_port"


def test_a_vars_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "hosts.yml", "web:\n  hosts:\n    w1:\n")
    vars_file = write(tmp_path / "host_vars" / "w1.yml", "- http_port: 80\n")
    error = refusal(tmp_path / "hosts.yml")
    assert error.path == str(vars_file)
    assert "must be a mapping of variable names to values, not a list" in str(error)


def test_inventory_from_data_names_the_source_in_errors() -> None:
    with pytest.raises(ConfigError) as caught:
        inventory_from_data({"web": {"hosts": ["w1"]}}, source="cmdb:export")
    assert str(caught.value).startswith("cmdb:export: web.hosts: ")


# --- errors: credentials by reference only ----------------------------------------------------

LITERAL = "Tr0ub4dor&3-not-a-reference"


@pytest.mark.parametrize(
    "variable",
    [
        "ansible_password",
        "ansible_ssh_pass",
        "ansible_become_password",
        "ansible_become_pass",
        "opsctl_ssh_key_passphrase",
        "ansible_ssh_password",
        "ansible_sudo_pass",
        "opsctl_snmp_community",
        "opsctl_snmp_v3_auth_key",
        "opsctl_snmp_v3_priv_key",
    ],
)
def test_literal_credential_in_host_vars_is_refused_without_echoing_it(
    tmp_path: Path, variable: str
) -> None:
    path = write(
        tmp_path / "hosts.yml",
        f"web:\n  hosts:\n    w1:\n      ansible_user: ops\n      {variable}: {LITERAL}\n",
    )
    error = refusal(path)

    assert error.line == 5
    assert error.key_path == f"web.hosts.w1.{variable}"
    assert str(error).startswith(f"{path}:5: web.hosts.w1.{variable}: ")
    assert "secret reference" in str(error)
    for text in (str(error), repr(error), error.hint or "", *map(str, error.args)):
        assert LITERAL not in text
        assert "Tr0ub4dor" not in text


def test_literal_credential_in_group_vars_of_the_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "hosts.yml", f"all:\n  vars:\n    ansible_password: {LITERAL}\n")
    error = refusal(path)
    assert (error.line, error.key_path) == (3, "all.vars.ansible_password")
    assert LITERAL not in str(error)


def test_literal_credential_in_a_host_vars_file_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "hosts.yml", "web:\n  hosts:\n    w1:\n")
    vars_file = write(tmp_path / "host_vars" / "w1.yml", f"---\nansible_become_pass: '{LITERAL}'\n")
    error = refusal(tmp_path / "hosts.yml")
    assert (error.path, error.line, error.key_path) == (str(vars_file), 2, "ansible_become_pass")
    assert LITERAL not in str(error)


def test_a_numeric_literal_password_is_refused_too(tmp_path: Path) -> None:
    error = refusal(write(tmp_path / "hosts.yml", "web:\n  vars:\n    ansible_password: 123456\n"))
    assert "not a literal value" in str(error)
    assert "123456" not in str(error)


def test_jinja_credential_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    path = write(
        tmp_path / "hosts.yml",
        "web:\n  vars:\n    ansible_become_password: '{{ vault_sudo_password }}'\n",
    )
    error = refusal(path)
    assert "is a Jinja template; opsctl does not template variables" in str(error)
    assert "vault_sudo_password" not in str(error)
    assert error.hint is not None and "env:NAME" in error.hint


def test_vaulted_credential_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path / "hosts.yml",
        """
        network:
          vars:
            ansible_password: !vault |
              $ANSIBLE_VAULT;1.2;AES256;my_user
              66386134653765386232383236303063623663343437643766386435663632343266393064373933
        """,
    )
    error = refusal(path)
    assert "Ansible Vault" in str(error)
    assert (error.line, error.key_path) == (3, "network.vars.ansible_password")


def test_references_are_accepted_and_parsed(hospital: Inventory) -> None:
    pacs = hospital.get("pacs01.dc.hospital.example")
    assert str(pacs.become_password) == "env:OPSCTL_SUDO_PASSWORD"
    switch = hospital.get("core-sw1")
    assert switch.vars["ansible_password"] == "keyring:opsctl/netops"
    assert switch.become_password is None


def test_a_null_credential_means_none_given(tmp_path: Path) -> None:
    path = write(
        tmp_path / "hosts.yml", "web:\n  hosts:\n    w1:\n      ansible_become_password:\n"
    )
    assert load_inventory(path).get("w1").become_password is None


def test_the_snmp_secret_variables_are_the_credential_modules_own() -> None:
    from inventory.model import SNMP_SECRET_VARIABLES
    from inventory.snmp import credentials

    assert {credentials.COMMUNITY, credentials.V3_AUTH_KEY, credentials.V3_PRIV_KEY} == SNMP_SECRET_VARIABLES
