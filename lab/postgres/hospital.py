"""The lab's hospital database, rendered not run: its schema, its deterministic data and its backup role.

A small hospital information system's core: ``patients``, their ``encounters``, the
``orders`` placed during an encounter and the ``results`` of those orders, with foreign keys
and the indexes such a system queries by. Every value is derived from the row's number and
a seed through ``md5``, generated server-side with ``generate_series`` (so a gigabyte fills
in minutes and the same seed and size give the same rows on every machine). Primary keys,
foreign keys and indexes are added after the rows, as a bulk load should.

Each patient has ``ENCOUNTERS_PER_PATIENT`` encounters, each encounter
``ORDERS_PER_ENCOUNTER`` orders, each order one result; the number of patients follows from
the size asked for (``lab.hospital_db_megabytes``, the whole database as
``pg_database_size`` counts it). The ``backup`` role may connect and read, nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.postgres.config import LabDatabase

HOSPITAL_PURPOSE = "hospital"
HOSPITAL_DATABASE = LabDatabase("hospital", "hospital", HOSPITAL_PURPOSE)
BACKUP_ROLE = "backup"
DEFAULT_SEED = 20240917
TABLES = ("patients", "encounters", "orders", "results")
ENCOUNTERS_PER_PATIENT = 4
ORDERS_PER_ENCOUNTER = 3
# measured on PostgreSQL 15 here (tests/integration/test_lab_hospital_db.py checks the size
# stays near the asked one): an empty database, and the bytes one patient adds with its
# encounters, orders, results and their indexes
EMPTY_DATABASE_BYTES = 8_200_000
BYTES_PER_PATIENT = 5_000
MIN_PATIENTS = 100
MEBIBYTE = 1024 * 1024

_SURNAMES = (
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
    "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux",
    "Vincent", "Fournier", "Morel", "Girard", "Andre", "Mercier", "Dupont", "Lambert",
)  # fmt: skip
_GIVEN_NAMES = (
    "Marie", "Jean", "Camille", "Louis", "Emma", "Lucas", "Chloe", "Hugo", "Lea", "Nathan",
    "Manon", "Paul", "Ines", "Arthur", "Jade", "Jules", "Alice", "Adam", "Lina", "Noah",
)  # fmt: skip
_DEPARTMENTS = (
    "cardiology", "emergency", "oncology", "radiology", "pediatrics", "neurology",
    "orthopedics", "internal medicine", "intensive care", "maternity",
)  # fmt: skip
# (code, description, unit, low, high): laboratory orders and the range of their results
_TESTS = (
    ("2345-7", "Glucose [Mass/volume] in Serum or Plasma", "mg/dL", 70, 140),
    ("718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", 12, 17),
    ("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", 0.6, 1.3),
    ("2823-3", "Potassium [Moles/volume] in Serum or Plasma", "mmol/L", 3.5, 5.1),
    ("2951-2", "Sodium [Moles/volume] in Serum or Plasma", "mmol/L", 135, 145),
    ("6690-2", "Leukocytes [#/volume] in Blood", "10*3/uL", 4, 11),
    ("777-3", "Platelets [#/volume] in Blood", "10*3/uL", 150, 400),
    ("1742-6", "Alanine aminotransferase [Enzymatic activity/volume]", "U/L", 7, 56),
)  # fmt: skip


@dataclass(frozen=True)
class HospitalSize:
    """How many rows a hospital database of a given size holds, from the seed that fills it."""

    megabytes: int
    seed: int = DEFAULT_SEED

    @property
    def patients(self) -> int:
        wanted = self.megabytes * MEBIBYTE - EMPTY_DATABASE_BYTES
        return max(MIN_PATIENTS, wanted // BYTES_PER_PATIENT)

    @property
    def row_counts(self) -> dict[str, int]:
        """The rows each table holds once loaded: what the load must report."""
        encounters = self.patients * ENCOUNTERS_PER_PATIENT
        orders = encounters * ORDERS_PER_ENCOUNTER
        return {"patients": self.patients, "encounters": encounters, "orders": orders,
                "results": orders}  # fmt: skip

    @property
    def signature(self) -> str:
        """The database's comment once loaded: a later start compares it and reloads on a change."""
        return f"opsctl lab hospital: seed={self.seed} megabytes={self.megabytes} patients={self.patients}"


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _array(values: tuple[str, ...]) -> str:
    return "ARRAY[" + ", ".join(_literal(value) for value in values) + "]"


def _hash(seed: int, tag: str, row: str) -> str:
    """SQL for a deterministic non-negative 60-bit number from the seed, a tag and a row's number."""
    return f"('x' || substr(md5('{seed}:{tag}:' || {row}), 1, 15))::bit(60)::bigint"


def _pick(values: tuple[str, ...], number: str) -> str:
    return f"({_array(values)})[1 + ({number}) % {len(values)}]"


def schema_sql() -> str:
    """The four tables, without keys or indexes (those come after the rows)."""
    return """\
DROP TABLE IF EXISTS results, orders, encounters, patients;
CREATE TABLE patients (
    patient_id bigint NOT NULL,
    mrn text NOT NULL,
    family_name text NOT NULL,
    given_name text NOT NULL,
    birth_date date NOT NULL,
    sex char(1) NOT NULL CHECK (sex IN ('F', 'M', 'U')),
    registered_at timestamptz NOT NULL
);
CREATE TABLE encounters (
    encounter_id bigint NOT NULL,
    patient_id bigint NOT NULL,
    kind text NOT NULL CHECK (kind IN ('outpatient', 'inpatient', 'emergency')),
    department text NOT NULL,
    admitted_at timestamptz NOT NULL,
    discharged_at timestamptz,
    notes text NOT NULL
);
CREATE TABLE orders (
    order_id bigint NOT NULL,
    encounter_id bigint NOT NULL,
    code text NOT NULL,
    description text NOT NULL,
    status text NOT NULL CHECK (status IN ('placed', 'completed', 'cancelled')),
    ordered_at timestamptz NOT NULL
);
CREATE TABLE results (
    result_id bigint NOT NULL,
    order_id bigint NOT NULL,
    value numeric(10, 2) NOT NULL,
    unit text NOT NULL,
    flag text NOT NULL CHECK (flag IN ('normal', 'low', 'high', 'critical')),
    reported_at timestamptz NOT NULL,
    comment text NOT NULL
);
"""


def data_sql(size: HospitalSize) -> str:
    """INSERTs filling the tables from ``generate_series``: the same rows for the same size and seed."""
    seed = size.seed
    h_patient = _hash(seed, "patient", "i")
    h_encounter = _hash(seed, "encounter", "e")
    h_order = _hash(seed, "order", "o")
    h_result = _hash(seed, "result", "o")
    epoch = "timestamptz '2020-01-01 00:00:00+00'"
    codes = tuple(test[0] for test in _TESTS)
    descriptions = tuple(test[1] for test in _TESTS)
    units = tuple(test[2] for test in _TESTS)
    lows = "ARRAY[" + ", ".join(str(test[3]) for test in _TESTS) + "]::numeric[]"
    highs = "ARRAY[" + ", ".join(str(test[4]) for test in _TESTS) + "]::numeric[]"
    per_patient, per_encounter = ENCOUNTERS_PER_PATIENT, ORDERS_PER_ENCOUNTER
    return f"""\
INSERT INTO patients
SELECT i, 'MRN' || lpad(i::text, 9, '0'),
       {_pick(_SURNAMES, "h")}, {_pick(_GIVEN_NAMES, "h >> 8")},
       date '1930-01-01' + ((h >> 16) % 33000)::integer, (ARRAY['F', 'M', 'U'])[1 + (h >> 32) % 3],
       {epoch} + ((h >> 20) % 126230400) * interval '1 second'
FROM (SELECT i, {h_patient} AS h FROM generate_series(1, {size.patients}) AS i) AS numbered;

INSERT INTO encounters
SELECT e, (e - 1) / {per_patient} + 1,
       (ARRAY['outpatient', 'inpatient', 'emergency'])[1 + h % 3],
       {_pick(_DEPARTMENTS, "h >> 4")},
       admitted, CASE WHEN h % 3 = 1 THEN admitted + ((h >> 12) % 1209600) * interval '1 second'
                      ELSE admitted + ((h >> 12) % 14400) * interval '1 second' END,
       'seen by ' || {_pick(_GIVEN_NAMES, "h >> 24")} || ' ' || {_pick(_SURNAMES, "h >> 28")}
         || ' in ' || {_pick(_DEPARTMENTS, "h >> 4")} || '; follow-up ' || md5('{seed}:note:' || e)
FROM (SELECT e, h, {epoch} + ((h >> 20) % 157766400) * interval '1 second' AS admitted
      FROM (SELECT e, {h_encounter} AS h
            FROM generate_series(1, {size.patients * per_patient}) AS e) AS hashed) AS numbered;

INSERT INTO orders
SELECT o, (o - 1) / {per_encounter} + 1, {_pick(codes, "h")}, {_pick(descriptions, "h")},
       (ARRAY['completed', 'completed', 'completed', 'placed', 'cancelled'])[1 + (h >> 8) % 5],
       {epoch} + ((h >> 20) % 157766400) * interval '1 second'
FROM (SELECT o, {h_order} AS h
      FROM generate_series(1, {size.patients * per_patient * per_encounter}) AS o) AS numbered;

INSERT INTO results
SELECT o, o, value, {_pick(units, "test")},
       CASE WHEN value < low * 0.7 OR value > high * 1.5 THEN 'critical'
            WHEN value < low THEN 'low' WHEN value > high THEN 'high' ELSE 'normal' END,
       {epoch} + ((h >> 20) % 157766400 + 3600) * interval '1 second',
       'validated by lab ' || md5('{seed}:comment:' || o)
FROM (SELECT o, h, test, low, high,
             round(low * 0.6 + (high * 1.6 - low * 0.6) * ((h >> 4) % 10000) / 10000.0, 2) AS value
      FROM (SELECT o, h, h % {len(_TESTS)} AS test,
                   ({lows})[1 + h % {len(_TESTS)}] AS low, ({highs})[1 + h % {len(_TESTS)}] AS high
            FROM (SELECT o, {h_result} AS h
                  FROM generate_series(1, {size.patients * per_patient * per_encounter}) AS o)
                 AS hashed) AS tested) AS valued;
"""


def constraints_sql() -> str:
    """Primary keys, foreign keys and the indexes a HIS queries by, added after the rows."""
    return """\
ALTER TABLE patients ADD PRIMARY KEY (patient_id), ADD UNIQUE (mrn);
ALTER TABLE encounters ADD PRIMARY KEY (encounter_id),
    ADD FOREIGN KEY (patient_id) REFERENCES patients (patient_id);
ALTER TABLE orders ADD PRIMARY KEY (order_id),
    ADD FOREIGN KEY (encounter_id) REFERENCES encounters (encounter_id);
ALTER TABLE results ADD PRIMARY KEY (result_id),
    ADD FOREIGN KEY (order_id) REFERENCES orders (order_id);
CREATE INDEX encounters_patient_id ON encounters (patient_id);
CREATE INDEX encounters_admitted_at ON encounters (admitted_at);
CREATE INDEX orders_encounter_id ON orders (encounter_id);
CREATE INDEX results_order_id ON results (order_id);
CREATE INDEX patients_family_name ON patients (family_name, given_name);
"""


def load_sql(size: HospitalSize, *, owner: str = HOSPITAL_DATABASE.role,
             reader: str = BACKUP_ROLE) -> str:  # fmt: skip
    """psql input, run as the superuser in the hospital database, that (re)loads it whole.

    One transaction as the database's owner: the tables, the rows, keys and indexes, SELECT
    for ``reader``, and the database's comment set to ``size.signature``; then ANALYZE.
    """
    return (
        "SET synchronous_commit = off;\n"
        "SET maintenance_work_mem = '64MB';\n"
        "BEGIN;\n"
        f'SET LOCAL ROLE "{owner}";\n'
        + schema_sql()
        + data_sql(size)
        + constraints_sql()
        + f'GRANT USAGE ON SCHEMA public TO "{reader}";\n'
        + f'GRANT SELECT ON {", ".join(TABLES)} TO "{reader}";\n'
        + f'COMMENT ON DATABASE "{HOSPITAL_DATABASE.name}" IS {_literal(size.signature)};\n'
        + "COMMIT;\n"
        + "ANALYZE;\n"
    )


def backup_role_sql(password: str, *, database: str = HOSPITAL_DATABASE.name,
                    role: str = BACKUP_ROLE) -> str:  # fmt: skip
    """psql input making the backup role exist with ``password`` and CONNECT on ``database``.

    It gets nothing else here (SELECT on the tables comes with :func:`load_sql`); PostgreSQL
    15 gives PUBLIC no CREATE on schema public, and the lab revokes PUBLIC's database rights.
    """
    return (
        f"SELECT 'CREATE ROLE \"{role}\" LOGIN' "
        f"WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {_literal(role)})\\gexec\n"
        f'ALTER ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {_literal(password)};\n'
        f'GRANT CONNECT ON DATABASE "{database}" TO "{role}";\n'
    )


def counts_sql() -> str:
    """One row: the number of rows in each table, in ``TABLES`` order, separated by ``|``."""
    return "SELECT " + ", ".join(f"(SELECT count(*) FROM {table})" for table in TABLES) + ";\n"


def parse_counts(output: str) -> dict[str, int]:
    """The counts from psql's unaligned output of :func:`counts_sql`; raise ``ValueError`` if malformed."""
    fields = output.strip().split("|")
    if len(fields) != len(TABLES) or not all(field.isdigit() for field in fields):
        raise ValueError(f"unexpected row counts {output.strip()!r}")
    return dict(zip(TABLES, (int(field) for field in fields), strict=True))
