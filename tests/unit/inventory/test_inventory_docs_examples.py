"""The inventories of Ansible's documentation, loaded as opsctl loads them, against what the docs say results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inventory import Inventory, inventory_from_data, load_inventory

FIXTURES = Path(__file__).parents[2] / "fixtures" / "inventories"


def names(inventory: Inventory, pattern: str) -> list[str]:
    return [host.name for host in inventory.select(pattern)]


# --- "How to build your inventory": what, where, when ----------------------------------------


@pytest.fixture(scope="module")
def www() -> Inventory:
    return load_inventory(FIXTURES / "docs_what_where_when" / "inventory.yml")


def test_every_host_is_in_all_and_ungrouped_or_another_group(www: Inventory) -> None:
    # "the host mail.example.com belongs to the all group and the ungrouped group; the host
    # two.example.com belongs to the all group and the dbservers group"
    assert set(www.get("mail.example.com").groups) == {"all", "ungrouped"}
    assert {"all", "dbservers"} <= set(www.get("two.example.com").groups)
    assert "ungrouped" not in www.get("two.example.com").groups


def test_a_host_is_in_every_group_listing_it(www: Inventory) -> None:
    # "one.example.com exists in the dbservers, east, and prod groups"
    assert set(www.get("one.example.com").groups) == {"all", "dbservers", "east", "prod"}


def test_members_of_a_child_group_are_members_of_the_parent(www: Inventory) -> None:
    assert names(www, "prod") == names(www, "east")
    assert names(www, "test") == ["bar.example.com", "three.example.com"]
    assert www.groups["prod"].children == ("east",)
    assert www.groups["prod"].hosts == ()


def test_hosts_are_listed_once_in_first_appearance_order(www: Inventory) -> None:
    assert list(www.hosts) == [
        "mail.example.com",
        "foo.example.com",
        "bar.example.com",
        "one.example.com",
        "two.example.com",
        "three.example.com",
    ]


def test_group_vars_of_a_parent_reach_the_hosts_of_its_children(www: Inventory) -> None:
    assert www.get("one.example.com").vars["environment_name"] == "production"
    assert www.get("bar.example.com").vars["environment_name"] == "test"
    assert www.get("mail.example.com").vars["environment_name"] == "unknown"


def test_a_group_vars_file_without_extension_is_read(www: Inventory) -> None:
    assert www.get("three.example.com").vars["database_port"] == 5432
    assert "database_port" not in www.get("foo.example.com").vars


def test_a_group_vars_directory_is_read_in_lexicographical_order(www: Inventory) -> None:
    two = www.get("two.example.com").vars
    # cluster_settings then db_settings: the later file wins, and both contribute
    assert two["cluster"] == "east-2"
    assert two["ntp_server"] == "ntp.east.example.com"
    assert two["database_server"] == "db.east.example.com"


def test_host_vars_file_and_directory_override_group_vars(www: Inventory) -> None:
    assert www.get("foo.example.com").vars["http_port"] == 8080
    assert www.get("one.example.com").vars["database_server"] == "one.example.com"


def test_group_model_carries_its_file_variables(www: Inventory) -> None:
    assert www.groups["east"].vars["cluster"] == "east-2"
    assert www.groups["all"].vars["ntp_server"] == "ntp.example.com"


# --- network "Build Your Inventory" ----------------------------------------------------------

# The `ansible-inventory -i test.yml --list` hostvars the page shows for this inventory.
NETWORK_DOCS_HOSTVARS = json.loads(
    """
{
  "leaf01": {"ansible_connection": "ansible.netcommon.network_cli", "ansible_host": "10.16.10.11",
             "ansible_network_os": "vyos.vyos.vyos", "ansible_user": "my_vyos_user"},
  "leaf02": {"ansible_connection": "ansible.netcommon.network_cli", "ansible_host": "10.16.10.12",
             "ansible_network_os": "vyos.vyos.vyos", "ansible_user": "my_vyos_user"},
  "spine01": {"ansible_connection": "ansible.netcommon.network_cli", "ansible_host": "10.16.10.13",
              "ansible_network_os": "vyos.vyos.vyos", "ansible_user": "my_vyos_user"},
  "spine02": {"ansible_connection": "ansible.netcommon.network_cli", "ansible_host": "10.16.10.14",
              "ansible_network_os": "vyos.vyos.vyos", "ansible_user": "my_vyos_user"},
  "webserver01": {"ansible_host": "10.16.10.15", "ansible_user": "my_server_user"},
  "webserver02": {"ansible_host": "10.16.10.16", "ansible_user": "my_server_user"}
}
"""
)


def test_network_inventory_gives_the_hostvars_the_docs_show() -> None:
    inventory = load_inventory(FIXTURES / "docs_network" / "inventory.yml")

    assert {
        name: dict(host.vars) for name, host in inventory.hosts.items()
    } == NETWORK_DOCS_HOSTVARS


def test_network_inventory_group_tree_is_the_one_the_docs_show() -> None:
    inventory = load_inventory(FIXTURES / "docs_network" / "inventory.yml")

    assert set(inventory.groups["all"].children) == {"datacenter", "ungrouped"}
    assert inventory.groups["datacenter"].children == ("network", "webservers")
    assert inventory.groups["network"].children == ("leafs", "spines")
    assert inventory.groups["leafs"].hosts == ("leaf01", "leaf02")
    assert inventory.get("leaf01").address == "10.16.10.11"
    assert inventory.get("leaf01").user == "my_vyos_user"
    assert inventory.get("leaf01").groups == ("all", "datacenter", "network", "leafs")


# --- groups of groups --------------------------------------------------------------------------


def test_usa_example_hosts_inherit_southeast_vars_through_both_groups() -> None:
    inventory = load_inventory(FIXTURES / "docs_usa" / "inventory.yml")

    host2 = inventory.get("host2")
    assert set(host2.groups) == {"all", "usa", "southeast", "atlanta", "raleigh"}
    assert host2.vars == {
        "some_server": "foo.southeast.example.com",
        "halon_system_timeout": 30,
        "self_destruct_countdown": 60,
        "escape_pods": 2,
    }
    assert names(inventory, "usa") == ["host1", "host2", "host3"]
    assert inventory.groups["northeast"].hosts == ()
    assert set(inventory.groups["usa"].children) == {
        "southeast",
        "northeast",
        "northwest",
        "southwest",
    }


def test_a_child_groups_variables_override_its_parents() -> None:
    # "A child group's variables will have higher precedence (override) than a parent group's"
    inventory = inventory_from_data(
        {
            "usa": {
                "vars": {"some_server": "usa.example.com", "escape_pods": 1},
                "children": {
                    "southeast": {
                        "vars": {"some_server": "foo.southeast.example.com"},
                        "children": {"atlanta": {"hosts": {"host1": None}}},
                    }
                },
            }
        }
    )
    assert inventory.get("host1").vars == {
        "some_server": "foo.southeast.example.com",
        "escape_pods": 1,
    }


# --- how variables are merged --------------------------------------------------------------------


def test_group_priority_example_gives_testvar_a() -> None:
    # "since we are giving the a_group a higher priority the result will be testvar == a"
    inventory = load_inventory(FIXTURES / "docs_group_priority" / "inventory.yml")

    assert inventory.get("both").vars == {"testvar": "a"}
    assert inventory.groups["a_group"].priority == 10
    assert "ansible_group_priority" not in inventory.groups["a_group"].vars


def test_without_priority_siblings_merge_in_ascii_order() -> None:
    # "an a_group will be merged with b_group and b_group vars that match will overwrite"
    inventory = inventory_from_data(
        {
            "a_group": {"hosts": {"both": None}, "vars": {"testvar": "a"}},
            "b_group": {"hosts": {"both": None}, "vars": {"testvar": "b"}},
        }
    )
    assert inventory.get("both").vars["testvar"] == "b"


def test_all_group_vars_are_the_lowest_and_host_vars_the_highest() -> None:
    # "all group < parent group < child group < host"
    inventory = inventory_from_data(
        {
            "all": {
                "vars": {"level": "all", "from_all": True},
                "children": {
                    "parent": {
                        "vars": {"level": "parent", "from_parent": True},
                        "children": {
                            "child": {
                                "vars": {"level": "child"},
                                "hosts": {"h1": {"own": 1}, "h2": {"level": "host"}},
                            }
                        },
                    }
                },
            }
        }
    )
    assert inventory.get("h1").vars == {
        "level": "child",
        "from_all": True,
        "from_parent": True,
        "own": 1,
    }
    assert inventory.get("h2").vars["level"] == "host"
