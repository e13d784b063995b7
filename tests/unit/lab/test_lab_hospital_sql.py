"""The lab's hospital database rendered, not run: its size in rows, its SQL and its backup role."""

from __future__ import annotations

import pytest

from lab.postgres.hospital import (
    BACKUP_ROLE,
    BYTES_PER_PATIENT,
    MEBIBYTE,
    TABLES,
    HospitalSize,
    backup_role_sql,
    constraints_sql,
    data_sql,
    load_sql,
    parse_counts,
)


def test_the_rows_follow_the_size_asked_for() -> None:
    small, large = HospitalSize(20), HospitalSize(1024)

    assert small.patients < large.patients
    # each further mebibyte asked for is a mebibyte of patients with their rows
    added = (large.patients - small.patients) * BYTES_PER_PATIENT
    assert abs(added - (1024 - 20) * MEBIBYTE) < BYTES_PER_PATIENT
    counts = small.row_counts
    assert list(counts) == list(TABLES)
    assert counts["encounters"] == 4 * counts["patients"]
    assert counts["orders"] == counts["results"] == 3 * counts["encounters"]
    assert HospitalSize(1).patients == 100  # never an empty hospital


def test_the_same_size_and_seed_give_the_same_sql_and_another_seed_another() -> None:
    assert data_sql(HospitalSize(20)) == data_sql(HospitalSize(20))
    assert data_sql(HospitalSize(20, seed=1)) != data_sql(HospitalSize(20, seed=2))
    assert HospitalSize(20).signature != HospitalSize(21).signature
    assert "random()" not in data_sql(HospitalSize(20))  # md5 of seed and row, not a session RNG
    assert "generate_series(1, " + str(HospitalSize(20).patients) + ")" in data_sql(HospitalSize(20))


def test_keys_come_after_the_rows_and_every_child_points_to_its_parent() -> None:
    script = load_sql(HospitalSize(20))
    constraints = constraints_sql()

    assert script.index("INSERT INTO results") < script.index("ADD PRIMARY KEY")
    for child, parent in (("encounters", "patients"), ("orders", "encounters"),
                          ("results", "orders")):  # fmt: skip
        assert f"REFERENCES {parent} (" in constraints.split(f"ALTER TABLE {child}")[1].split(";")[0]
    assert script.index("BEGIN;") < script.index("COMMENT ON DATABASE") < script.index("COMMIT;")
    assert 'SET LOCAL ROLE "hospital"' in script  # the tables belong to the database's owner


def test_the_backup_role_may_connect_and_read_nothing_more() -> None:
    role = backup_role_sql("pw'with'quotes")
    grants = [line for line in load_sql(HospitalSize(20)).splitlines() if line.startswith("GRANT")]

    assert "PASSWORD 'pw''with''quotes'" in role
    assert f'GRANT CONNECT ON DATABASE "hospital" TO "{BACKUP_ROLE}"' in role
    assert "NOSUPERUSER NOCREATEDB NOCREATEROLE" in role
    assert grants == [
        f'GRANT USAGE ON SCHEMA public TO "{BACKUP_ROLE}";',
        f'GRANT SELECT ON patients, encounters, orders, results TO "{BACKUP_ROLE}";',
    ]


def test_row_counts_are_parsed_from_psql_and_garbage_is_refused() -> None:
    assert parse_counts("10|40|120|120\n") == {
        "patients": 10, "encounters": 40, "orders": 120, "results": 120,
    }  # fmt: skip
    for garbage in ("", "10|40|120", "a|b|c|d", "ERROR: nope"):
        with pytest.raises(ValueError, match="unexpected row counts"):
            parse_counts(garbage)
