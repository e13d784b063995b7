"""Host ranges in inventory host names, as "How to build your inventory" describes them."""

from __future__ import annotations

import pytest

from inventory.ranges import HostRangeError, expand_host_range


def test_a_name_without_a_range_is_itself() -> None:
    assert expand_host_range("mail.example.com") == ["mail.example.com"]


def test_numeric_range_keeps_zero_padding_and_is_inclusive() -> None:
    names = expand_host_range("www[01:50].example.com")

    assert len(names) == 50
    assert names[:2] == ["www01.example.com", "www02.example.com"]
    assert names[-1] == "www50.example.com"


def test_unpadded_range_is_not_padded() -> None:
    assert expand_host_range("web[8:10]") == ["web8", "web9", "web10"]


def test_stride_takes_every_nth_number_as_the_docs_example_says() -> None:
    names = expand_host_range("www[01:50:2].example.com")

    # "www01, www03, www05, ..., www49 match, but not www00, www02, www50"
    assert names[:3] == ["www01.example.com", "www03.example.com", "www05.example.com"]
    assert names[-1] == "www49.example.com"
    assert "www02.example.com" not in names
    assert "www50.example.com" not in names
    assert len(names) == 25


def test_alphabetic_range() -> None:
    assert expand_host_range("db-[a:f].example.com") == [
        f"db-{letter}.example.com" for letter in "abcdef"
    ]


def test_several_ranges_in_one_name_expand_left_to_right() -> None:
    assert expand_host_range("acc-sw-[a:b]-[01:02]") == [
        "acc-sw-a-01",
        "acc-sw-a-02",
        "acc-sw-b-01",
        "acc-sw-b-02",
    ]


def test_missing_start_counts_from_zero_as_in_ansible() -> None:
    assert expand_host_range("node[:2]") == ["node0", "node1", "node2"]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("web[5:1]", "starts after it ends"),
        ("db-[f:a]", "starts after it ends"),
        ("web[a:5]", "mixes letters and numbers"),
        ("web[1:z]", "mixes letters and numbers"),
        ("web[aa:bb]", "spans several letters"),
        ("web[01:100]", "same width"),
        ("web[1:9:0]", "positive whole step"),
        ("web[1:9:x]", "positive whole step"),
        ("web[1:9", "unbalanced brackets"),
        ("web1:9]", "unbalanced brackets"),
        ("web[7]", "[start:end]"),
        ("web[1:2:3:4]", "[start:end]"),
        ("web[1:]", "has no end"),
        ("web[1.5:3]", "neither numeric nor alphabetic"),
    ],
)
def test_invalid_ranges_are_refused_with_the_reason(name: str, reason: str) -> None:
    with pytest.raises(HostRangeError, match=reason.replace("[", r"\[").replace("]", r"\]")):
        expand_host_range(name)
