"""A device's model from its sysObjectID, through the vendors' product MIBs (CISCO-PRODUCTS-MIB and the like).

A vendor assigns each product an OID under its enterprise number and the device answers it as
sysObjectID; the product MIB names it. ``inventory/profiles/products/*.tsv`` hold those
assignments as data (built by ``scripts/product-tables`` from the vendors' public MIB files;
each file's header names its source): one product a line, ``OID<TAB>model<TAB>descriptor<TAB>
module<TAB>role``, ``#`` comments. The model is evidence after the profile's vendor OIDs, the
UPS tables and the ENTITY-MIB chassis, before anything read from sysDescr; its provenance names
the module and descriptor ("1.3.6.1.2.1.1.2.0 in CISCO-PRODUCTS-MIB (catWsC2960s48tsL)").
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from inventory.snmp.identity import says_nothing
from inventory.snmp.system import SYS_DESCR, SYS_OBJECT_ID
from inventory.snmp.values import RawValue, Sourced, is_oid_text, oid_value
from opsctl.core.errors import ConfigError

PRODUCTS_DIR = Path(__file__).resolve().parent.parent / "profiles" / "products"
# the roles a product MIB's branch can state (its switch, router, firewall or wireless subtree)
PRODUCT_ROLES = frozenset({"switch", "router", "firewall", "wireless", "storage", "server"})


@dataclass(frozen=True)
class Product:
    """One product assignment: the sysObjectID, the model its MIB gives, the MIB's descriptor and module, and the
    role its branch states (``None`` when the MIB's tree does not say)."""

    oid: str
    model: str
    descriptor: str
    module: str
    role: str | None = None


def parse_product_table(text: str, where: str) -> tuple[Product, ...]:
    """Return the products of one table's ``text``; raise ``ConfigError`` naming ``where`` and the line when a line
    is not ``OID, model, descriptor, module[, role]`` with a numeric OID and a known role."""
    products = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if len(cells) not in (4, 5):
            raise ConfigError(f"{where}:{number}: expected OID, model, descriptor, module and role, tab-separated")
        oid, model, descriptor, module = (cell.strip() for cell in cells[:4])
        role = cells[4].strip() if len(cells) == 5 and cells[4].strip() else None
        if not is_oid_text(oid):
            raise ConfigError(f"{where}:{number}: {oid!r} is not a numeric OID")
        if not model or not module:
            raise ConfigError(f"{where}:{number}: a product needs a model and its MIB module")
        if role is not None and role not in PRODUCT_ROLES:
            raise ConfigError(f"{where}:{number}: role {role!r} is not one of {sorted(PRODUCT_ROLES)}")
        products.append(Product(oid, model, descriptor, module, role))
    return tuple(products)


def load_product_tables(directory: Path = PRODUCTS_DIR) -> Mapping[str, Product]:
    """Return every product of the ``*.tsv`` tables in ``directory`` by OID (the first file, by name, wins an OID);
    raise ``ConfigError`` naming the file and line of a malformed one."""
    found: dict[str, Product] = {}
    for path in sorted(directory.glob("*.tsv")):
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as problem:
            raise ConfigError(f"{path}: cannot read the product table: {problem.strerror}") from None
        for product in parse_product_table(text, path.name):
            found.setdefault(product.oid, product)
    return found


@functools.cache
def builtin_products() -> Mapping[str, Product]:
    """Return the product tables shipped in ``inventory/profiles/products`` (read once)."""
    return load_product_tables(PRODUCTS_DIR)


def product_for(object_id: str, products: Mapping[str, Product] | None = None) -> Product | None:
    """Return the product whose OID is exactly ``object_id`` (a product MIB names leaves, never a prefix)."""
    return (builtin_products() if products is None else products).get(object_id.strip().lstrip("."))


def family_member(model: str, descr: str) -> str | None:
    """Return the word of ``descr`` that is a member of the family ``model`` names with wildcards (``CM81xx``:
    ``CM8148``), or ``None`` when ``model`` names no family or ``descr`` names no member."""
    # a family is written with lower-case x's after its digits (CM81xx, cat29xxStack); X440, 3750X are models
    parts = re.split(r"((?<=[0-9])x{2,})", model)
    if len(parts) == 1:
        return None
    pattern = "".join(
        f"[0-9A-Za-z]{{{len(part)}}}" if index % 2 else re.escape(part) for index, part in enumerate(parts)
    )
    found = re.search(rf"(?<![\w-]){pattern}(?![\w-])", descr, re.IGNORECASE)
    return found.group(0) if found else None


def product_model(
    rows: Mapping[str, RawValue],
    notes: list[str],
    products: Mapping[str, Product] | None = None,
    descr: str = "",
) -> Sourced[str] | None:
    """Return the model the product tables give for the sysObjectID in ``rows``, its provenance naming the MIB
    module and descriptor; ``None`` when the device's sysObjectID is in no table.

    Where the MIB names a family (``CM81xx``) and sysDescr ``descr`` names one of its members, the member is the
    model, from sysDescr.
    """
    object_id = oid_value(rows.get(SYS_OBJECT_ID), SYS_OBJECT_ID, notes)
    product = None if object_id is None else product_for(object_id.value, products)
    if product is None or says_nothing(product.model):
        return None
    member = family_member(product.model, descr)
    if member is not None:
        return Sourced(member, SYS_DESCR)
    return Sourced(product.model, f"{SYS_OBJECT_ID} in {product.module} ({product.descriptor})")
