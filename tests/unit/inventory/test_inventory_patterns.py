"""Ansible host patterns, checked against what "Patterns: targeting hosts and groups" says they select."""

from __future__ import annotations

from pathlib import Path

import pytest

from inventory import Inventory, inventory_from_data, load_inventory
from inventory.patterns import split_pattern
from opsctl.core.errors import ExitCode, HostNotFound, UsageError, exit_code_for

FIXTURES = Path(__file__).parents[2] / "fixtures" / "inventories"


@pytest.fixture(scope="module")
def docs() -> Inventory:
    return load_inventory(FIXTURES / "docs_patterns" / "inventory.yml")


def names(inventory: Inventory, pattern: str) -> list[str]:
    return [host.name for host in inventory.select(pattern)]


# --- the common patterns table -------------------------------------------------------------


@pytest.mark.parametrize("pattern", ["all", "*"])
def test_all_and_star_select_every_host_in_inventory_order(docs: Inventory, pattern: str) -> None:
    assert names(docs, pattern) == list(docs.hosts)
    assert len(names(docs, pattern)) == 9


def test_one_host(docs: Inventory) -> None:
    assert names(docs, "host1") == ["host1"]


@pytest.mark.parametrize("pattern", ["host1:cobweb", "host1,cobweb", " host1 , cobweb "])
def test_multiple_hosts_with_colon_or_comma(docs: Inventory, pattern: str) -> None:
    assert names(docs, pattern) == ["cobweb", "host1"]  # inventory order, not pattern order


def test_one_group(docs: Inventory) -> None:
    assert names(docs, "webservers") == ["cobweb", "webbing", "weber"]


def test_multiple_groups_is_the_union(docs: Inventory) -> None:
    assert names(docs, "webservers:dbservers") == [
        "cobweb",
        "webbing",
        "weber",
        "one.example.com",
        "two.example.com",
        "three.example.com",
    ]


def test_excluding_a_group(docs: Inventory) -> None:
    # "all hosts in webservers except those in" phoenix
    assert names(docs, "webservers:!phoenix") == ["cobweb", "webbing"]


def test_intersection_of_groups(docs: Inventory) -> None:
    # "any hosts in webservers that are also in staging"
    assert names(docs, "webservers:&staging") == ["webbing", "weber"]


def test_the_combined_example(docs: Inventory) -> None:
    # "all machines in the groups 'webservers' and 'dbservers' that are also in the group
    # 'staging', except for any machines in the group 'phoenix'"
    assert names(docs, "webservers:dbservers:&staging:!phoenix") == ["webbing", "one.example.com"]


def test_processing_order_does_not_depend_on_the_written_order() -> None:
    # "a:b:&c:!d:!e == &c:a:!d:b:!e == !d:a:!e:&c:b"
    inventory = inventory_from_data(
        {
            "a": {"hosts": {"h1": None, "h2": None, "h3": None}},
            "b": {"hosts": {"h4": None, "h5": None, "h6": None}},
            "c": {"hosts": {"h2": None, "h3": None, "h4": None, "h5": None}},
            "d": {"hosts": {"h3": None}},
            "e": {"hosts": {"h5": None}},
        }
    )
    expected = ["h2", "h4"]
    for pattern in ("a:b:&c:!d:!e", "&c:a:!d:b:!e", "!d:a:!e:&c:b", "a:b:!e:!d:&c"):
        assert names(inventory, pattern) == expected, pattern


def test_only_exclusions_start_from_all(docs: Inventory) -> None:
    assert names(docs, "!phoenix") == [
        name for name in docs.hosts if name not in ("weber", "two.example.com")
    ]


# --- wildcards and regular expressions -----------------------------------------------------


def test_wildcards_on_fqdns_and_ip_addresses(docs: Inventory) -> None:
    assert names(docs, "*.example.com") == [
        "one.example.com",
        "two.example.com",
        "three.example.com",
    ]
    assert names(docs, "192.0.*") == ["192.0.2.10", "192.0.2.11"]


def test_wildcards_mixed_with_groups(docs: Inventory) -> None:
    assert names(docs, "one*.com:dbservers") == [
        "one.example.com",
        "two.example.com",
        "three.example.com",
    ]


def test_question_mark_glob_matches_one_character(docs: Inventory) -> None:
    assert names(docs, "?ebbing") == ["webbing"]
    assert names(docs, "192.0.2.1?") == ["192.0.2.10", "192.0.2.11"]


def test_a_glob_matches_group_names_and_host_names_together(docs: Inventory) -> None:
    # 'web*' matches the group webservers (all its hosts) and the hosts webbing and weber
    assert names(docs, "web*") == ["cobweb", "webbing", "weber"]
    assert names(docs, "at*") == ["cobweb", "host1"]  # the group atlanta


def test_regex_pattern_from_the_docs(docs: Inventory) -> None:
    assert names(docs, "~(web|db).*") == [
        "cobweb",
        "webbing",
        "weber",
        "one.example.com",
        "two.example.com",
        "three.example.com",
    ]


def test_regex_is_anchored_at_the_start_like_ansible(docs: Inventory) -> None:
    # Ansible matches ~regex with re.match: 'web' must start the name, so cobweb is not selected
    assert names(docs, "~web(b|e)") == ["webbing", "weber"]
    assert names(docs, "~.*web") == ["cobweb", "webbing", "weber"]
    with pytest.raises(HostNotFound):
        docs.select("~eb")


def test_invalid_regex_is_a_usage_error(docs: Inventory) -> None:
    with pytest.raises(UsageError, match="invalid regular expression"):
        docs.select("~web(")


# --- subscripts ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("webservers[0]", ["cobweb"]),
        ("webservers[-1]", ["weber"]),
        ("webservers[0:2]", ["cobweb", "webbing", "weber"]),
        ("webservers[1:2]", ["webbing", "weber"]),
        ("webservers[1:]", ["webbing", "weber"]),
        ("webservers[:3]", ["cobweb", "webbing", "weber"]),
        ("webservers[1:1]", ["webbing"]),
    ],
)
def test_subscripts_as_the_docs_list_them(
    docs: Inventory, pattern: str, expected: list[str]
) -> None:
    assert names(docs, pattern) == expected


def test_subscript_inside_a_larger_pattern(docs: Inventory) -> None:
    assert names(docs, "webservers[0]:dbservers[-1]") == ["cobweb", "three.example.com"]
    assert names(docs, "webservers:!webservers[0]") == ["webbing", "weber"]


def test_subscript_on_a_glob_indexes_its_matches(docs: Inventory) -> None:
    assert names(docs, "w*[0]") == ["cobweb"]


def test_index_past_the_end_names_the_group_and_its_size(docs: Inventory) -> None:
    with pytest.raises(HostNotFound, match=r"webservers has 3 host\(s\)"):
        docs.select("webservers[5]")


def test_slice_starting_after_its_end_selects_nothing(docs: Inventory) -> None:
    with pytest.raises(HostNotFound):
        docs.select("webservers[2:1]")


def test_subscripts_follow_file_order_within_a_group() -> None:
    inventory = inventory_from_data({"g": {"hosts": {"zeta": None, "alpha": None, "mid": None}}})
    assert names(inventory, "g[0]") == ["zeta"]
    assert names(inventory, "g[-1]") == ["mid"]


# --- names and groups ----------------------------------------------------------------------


def test_ungrouped_selects_hosts_in_no_other_group(docs: Inventory) -> None:
    assert names(docs, "ungrouped") == ["192.0.2.10", "192.0.2.11"]


def test_child_group_hosts_belong_to_the_parent() -> None:
    inventory = load_inventory(FIXTURES / "docs_network" / "inventory.yml")
    assert names(inventory, "network") == ["leaf01", "leaf02", "spine01", "spine02"]
    assert names(inventory, "datacenter") == list(inventory.hosts)


def test_a_host_alias_is_matched_by_name_not_address(docs: Inventory) -> None:
    # "you must use the alias in your pattern": host1 has ansible_host 127.0.0.2
    assert names(docs, "host1") == ["host1"]
    with pytest.raises(HostNotFound):
        docs.select("127.0.0.2")


def test_a_plain_name_that_is_both_host_and_group_means_the_host() -> None:
    inventory = inventory_from_data(
        {"db": {"hosts": {"db1": None, "db2": None}}, "ungrouped": {"hosts": {"db": None}}}
    )
    assert names(inventory, "db") == ["db"]
    assert names(inventory, "d*") == ["db1", "db2", "db"]


def test_an_unknown_group_in_a_union_is_ignored_when_others_match(docs: Inventory) -> None:
    assert names(docs, "nosuch:webservers") == ["cobweb", "webbing", "weber"]


def test_result_has_no_duplicates_and_follows_inventory_order(docs: Inventory) -> None:
    assert names(docs, "staging:webservers:webbing:dbservers") == [
        "cobweb",
        "webbing",
        "weber",
        "one.example.com",
        "two.example.com",
        "three.example.com",
    ]


def test_ipv6_host_names_are_one_pattern() -> None:
    inventory = inventory_from_data(
        {"ungrouped": {"hosts": {"2001:db8::10": None, "2001:db8::11": None}}}
    )
    assert names(inventory, "2001:db8::10") == ["2001:db8::10"]
    assert names(inventory, "2001:db8::10,2001:db8::11") == ["2001:db8::10", "2001:db8::11"]


def test_splitting_keeps_bracketed_parts_whole() -> None:
    assert split_pattern("webservers[0:2]:db*:!phoenix") == ["webservers[0:2]", "db*", "!phoenix"]
    assert split_pattern("a, b ,,c") == ["a", "b", "c"]


# --- nothing selected ----------------------------------------------------------------------


def test_a_pattern_matching_nothing_names_the_pattern_and_the_inventory(docs: Inventory) -> None:
    with pytest.raises(HostNotFound) as caught:
        docs.select("nosuch")
    path = FIXTURES / "docs_patterns" / "inventory.yml"
    assert str(caught.value) == f"pattern 'nosuch' matches no host in {path}"
    assert isinstance(caught.value, KeyError)
    assert exit_code_for(caught.value) == ExitCode.USAGE


def test_an_exclusion_that_removes_everything_matches_nothing(docs: Inventory) -> None:
    with pytest.raises(HostNotFound, match="matches no host"):
        docs.select("webservers:!webservers")


def test_an_empty_inventory_matches_nothing_even_for_all() -> None:
    inventory = inventory_from_data({}, source="empty.yml")
    with pytest.raises(HostNotFound, match=r"pattern 'all' matches no host in empty\.yml"):
        inventory.select("all")


def test_an_empty_pattern_is_a_usage_error(docs: Inventory) -> None:
    with pytest.raises(UsageError, match="empty host pattern"):
        docs.select(" , ")


# --- get -----------------------------------------------------------------------------------


def test_get_returns_the_host(docs: Inventory) -> None:
    assert docs.get("host1").vars["http_port"] == 80


def test_get_of_an_unknown_host_suggests_close_names(docs: Inventory) -> None:
    with pytest.raises(HostNotFound, match="no host named 'webing'") as caught:
        docs.get("webing")
    assert caught.value.hint is not None
    assert "webbing" in caught.value.hint


# --- parts that match nothing --------------------------------------------------------------


def unmatched(inventory: Inventory, pattern: str) -> tuple[str, ...]:
    from inventory.select import inventory_unmatched_parts

    return inventory_unmatched_parts(inventory, pattern)


def test_an_exclusion_of_an_unknown_host_is_named_and_excludes_nothing(docs: Inventory) -> None:
    # the letter O for a zero: Ansible warns and selects the whole group, so must we
    assert unmatched(docs, "webservers:!cobwebO") == ("!cobwebO",)
    assert names(docs, "webservers:!cobwebO") == ["cobweb", "webbing", "weber"]


def test_an_intersection_with_a_typo_is_named(docs: Inventory) -> None:
    assert unmatched(docs, "webservers:&stagign") == ("&stagign",)
    with pytest.raises(HostNotFound):
        names(docs, "webservers:&stagign")


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("webservers:nosuch*", ("nosuch*",)),
        ("webservers:!~^db[0-9]+$", ("!~^db[0-9]+$",)),
        ("~^zz,webservers,!q?q", ("~^zz", "!q?q")),
        ("nosuch:nosuch:webservers", ("nosuch",)),
        ("nosuch[0]:webservers", ("nosuch[0]",)),
    ],
)
def test_globs_and_regexes_that_match_nothing_are_named_once_each(
    docs: Inventory, pattern: str, expected: tuple[str, ...]
) -> None:
    assert unmatched(docs, pattern) == expected


@pytest.mark.parametrize(
    "pattern",
    ["all", "*", "webservers:!phoenix", "webservers:&staging", "host1,cobweb", "web*", "~(web|db).*",
     "webservers[0]", "192.0.*", "ungrouped", "!phoenix", "*.example.com"],
)
def test_parts_that_match_a_host_or_a_group_are_not_named(docs: Inventory, pattern: str) -> None:
    assert unmatched(docs, pattern) == ()


def test_an_empty_group_is_a_match_as_in_ansible() -> None:
    inventory = inventory_from_data({"all": {"hosts": {"h1": None}, "children": {"empty": {}}}})
    assert "empty" in inventory.groups
    assert unmatched(inventory, "all:!empty") == ()


def test_an_invalid_regex_part_is_still_a_usage_error(docs: Inventory) -> None:
    with pytest.raises(UsageError, match="invalid regular expression"):
        unmatched(docs, "webservers:!~(")
