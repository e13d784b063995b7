"""The product tables: sysObjectID -> the vendor's model, read from inventory/profiles/products/*.tsv."""

from __future__ import annotations

from pathlib import Path

import pytest

from inventory.snmp.products import (
    PRODUCTS_DIR,
    builtin_products,
    family_member,
    load_product_tables,
    parse_product_table,
    product_for,
    product_model,
)
from inventory.snmp.system import SYS_DESCR, SYS_OBJECT_ID
from opsctl.core.errors import ConfigError

TABLE = (
    "# test: a table as scripts/product-tables writes it\n"
    "1.3.6.1.4.1.9.1.1266\tWS-C2960S-48TS-L\tcatWsC2960s48tsL\tCISCO-PRODUCTS-MIB\t\n"
    "1.3.6.1.4.1.2011.2.23.151\ts5700-24TP-PWR-SI\ts5700-24TP-PWR-SI\tHUAWEI-MIB\tswitch\n"
    "1.3.6.1.4.1.9.12.3.1.3.1\tUnknown\tcevChassisUnknown\tCISCO-ENTITY-VENDORTYPE-OID-MIB\tswitch\n"
)


def test_a_table_gives_each_product_its_model_module_and_role() -> None:
    products = {product.oid: product for product in parse_product_table(TABLE, "test.tsv")}
    cisco = products["1.3.6.1.4.1.9.1.1266"]
    assert (cisco.model, cisco.descriptor, cisco.module, cisco.role) == (
        "WS-C2960S-48TS-L", "catWsC2960s48tsL", "CISCO-PRODUCTS-MIB", None,
    )  # fmt: skip
    assert products["1.3.6.1.4.1.2011.2.23.151"].role == "switch"


@pytest.mark.parametrize(
    ("line", "complaint"),
    [
        ("1.3.6.1.4.1.9.1.1\tonly two cells\n", "expected OID, model, descriptor, module and role"),
        ("iso.3.6\tModel\tdescr\tMIB\t\n", "'iso.3.6' is not a numeric OID"),
        ("1.3.6.1.4.1.9.1.1\tModel\tdescr\tMIB\tcoffee\n", "role 'coffee' is not one of"),
        ("1.3.6.1.4.1.9.1.1\t\tdescr\tMIB\t\n", "a product needs a model and its MIB module"),
    ],
)
def test_a_malformed_line_is_refused_with_the_file_and_line(line: str, complaint: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_product_table("# header\n" + line, "vendor.tsv")
    assert str(refused.value).startswith("vendor.tsv:2: ")
    assert complaint in str(refused.value)


def test_the_model_is_looked_up_by_the_exact_sys_object_id(tmp_path: Path) -> None:
    (tmp_path / "test.tsv").write_text(TABLE, encoding="utf-8")
    products = load_product_tables(tmp_path)
    notes: list[str] = []
    found = product_model({SYS_OBJECT_ID: ".1.3.6.1.4.1.9.1.1266"}, notes, products)
    assert found is not None
    assert found.value == "WS-C2960S-48TS-L"
    assert found.oid == f"{SYS_OBJECT_ID} in CISCO-PRODUCTS-MIB (catWsC2960s48tsL)"
    # a product MIB names leaves: a longer or shorter OID is another product, not this one
    assert product_model({SYS_OBJECT_ID: "1.3.6.1.4.1.9.1.1266.1"}, notes, products) is None
    assert product_model({SYS_OBJECT_ID: "1.3.6.1.4.1.9.1"}, notes, products) is None
    # a placeholder the MIB assigns (cevChassisUnknown) names no model
    assert product_model({SYS_OBJECT_ID: "1.3.6.1.4.1.9.12.3.1.3.1"}, notes, products) is None
    assert product_model({}, notes, products) is None
    assert notes == []


def test_the_shipped_tables_load_and_name_their_source() -> None:
    products = builtin_products()
    assert len(products) > 5000
    for path in sorted(PRODUCTS_DIR.glob("*.tsv")):
        header = [line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("#")]
        assert any(line.startswith("# source: github.com/netdisco/netdisco-mibs ") for line in header), path.name
    # one product of each of a few vendors' MIBs, as their DESCRIPTION or descriptor names it
    expected = {
        "1.3.6.1.4.1.9.1.1266": "WS-C2960S-48TS-L",  # CISCO-PRODUCTS-MIB catWsC2960s48tsL
        "1.3.6.1.4.1.2636.1.1.1.2.25": "MX480",  # JUNIPER-CHASSIS-DEFINES-MIB jnxProductNameMX480
        "1.3.6.1.4.1.30065.1.3011.7050.1958.64": "DCS-7050TX-64",  # ARISTA-PRODUCTS-MIB aristaDCS7050TX64
        "1.3.6.1.4.1.11.2.3.7.11.89": "J9280A HP 2510G-48 Switch",  # HP-ICF-OID hpSwitchJ9280A
        "1.3.6.1.4.1.1916.2.175": "Summit X440-24p",  # EXTREME-BASE-MIB summitX440-24p
        "1.3.6.1.4.1.5624.2.1.124": "G3G124-24P",  # ENTERASYS-OIDS-MIB etsysOidDevG3G124x24P
        "1.3.6.1.4.1.207.1.14.114": "AT-SBx8106",  # AT-PRODUCT-MIB atSBx8106
        "1.3.6.1.4.1.12356.101.1.624": "FortiGate-60D",  # FORTINET-FORTIGATE-MIB fgt60D
    }
    got = {oid: product.model for oid, product in products.items() if oid in expected}
    assert got == expected
    srx = product_for("1.3.6.1.4.1.2636.1.1.1.2.58")
    assert srx is not None and srx.module == "JUNIPER-CHASSIS-DEFINES-MIB"


@pytest.mark.parametrize(
    ("family", "descr", "member"),
    [
        ("CM81xx", "Opengear CM8148 24.07.1", "CM8148"),
        ("CM81xx", "Opengear CM7196A", None),  # another family: the MIB's name stands
        ("cat29xxStack", "a cat2960Stack", "cat2960Stack"),
        ("WS-C3750X-48P", "WS-C3750E-48P", None),  # an upper-case X is part of a model, not a wildcard
        ("Summit X440-24p", "ExtremeXOS (X440-24p)", None),
    ],
)
def test_a_family_the_mib_names_gives_way_to_the_member_sysdescr_names(
    family: str, descr: str, member: str | None
) -> None:
    assert family_member(family, descr) == member


def test_the_member_of_a_family_is_read_from_sysdescr(tmp_path: Path) -> None:
    (tmp_path / "opengear.tsv").write_text(
        "1.3.6.1.4.1.25049.1.130\tCM81xx\togCM81xx\tOG-PRODUCTS-MIB\t\n", encoding="utf-8"
    )
    products = load_product_tables(tmp_path)
    rows = {SYS_OBJECT_ID: "1.3.6.1.4.1.25049.1.130"}
    found = product_model(rows, [], products, descr="Opengear CM8148 24.07.1")
    assert found is not None and (found.value, found.oid) == ("CM8148", SYS_DESCR)
    family = product_model(rows, [], products, descr="Opengear console server")
    assert family is not None and family.value == "CM81xx"
