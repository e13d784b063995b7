"""Reading SMI MIB text, shared by scripts/product-tables, scripts/identity-objects and scripts/role-tables.

Pure functions over a MIB file's text: the quoted strings taken out (so a ``::=`` or ``--`` in a
DESCRIPTION is never read as code), the comments dropped, and the arcs of an ``::= { parent N }``
assignment. On those, one parser of a module's OID assignments, textual conventions and IMPORTS
(:func:`parse_text` into :class:`Mibs`) and one :class:`Resolver` of a name to its definition,
its numeric OID and its textual convention, each name looked up in its module's scope the way
an SMI compiler does. No script loads a MIB compiler: the facts they keep are names, arcs, syntaxes;
what each script keeps of them (which objects, their rank, their role) is its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

# the OIDs every MIB builds on, named as SNMPv2-SMI names them
SEEDS = {
    "iso": "1", "org": "1.3", "dod": "1.3.6", "internet": "1.3.6.1", "mgmt": "1.3.6.1.2",
    "mib-2": "1.3.6.1.2.1", "experimental": "1.3.6.1.3", "private": "1.3.6.1.4", "enterprises": "1.3.6.1.4.1",
}  # fmt: skip
_STRING = re.compile(r'"[^"]*"')
MODULE = re.compile(r"^\s*([A-Z][\w-]*)\s+DEFINITIONS\s*::=\s*BEGIN", re.MULTILINE)


@dataclass(frozen=True)
class MaskedText:
    """A MIB's text with each quoted string replaced by ``"N"`` (its index in ``strings``), line count kept.

    ``code`` has the comments dropped too; ``raw_lines`` keeps them (some MIBs name things in comments).
    """

    code: str
    raw_lines: tuple[str, ...]
    strings: tuple[str, ...]


def mask_strings(text: str) -> MaskedText:
    """Return ``text`` with its quoted strings numbered and set aside, and its comments dropped from ``code``."""
    strings: list[str] = []

    def keep(match: re.Match[str]) -> str:
        strings.append(match.group(0)[1:-1])
        # keep the line count, so comments and definitions are found by line
        return f'"{len(strings) - 1}"' + "\n" * match.group(0).count("\n")

    plain = _STRING.sub(keep, text)
    raw_lines = plain.splitlines()
    code = "\n".join(line.split("--", 1)[0] for line in raw_lines)
    return MaskedText(code, tuple(raw_lines), tuple(strings))


def parse_arcs(body: str) -> tuple[str, tuple[int, ...]] | None:
    """Return the parent and arcs of an assignment's body (``hwDev 3`` or ``iso org(3) dod(6)``), else ``None``."""
    parts = body.split()
    if len(parts) < 2:
        return None
    arcs = []
    for part in parts[1:]:
        number = re.search(r"\((\d+)\)$", part) or re.fullmatch(r"(\d+)", part)
        if number is None:
            return None
        arcs.append(int(number.group(1)))
    return parts[0], tuple(arcs)


_ASSIGNMENT = re.compile(r"::=\s*\{([^}]*)\}")
_DEFINITION = re.compile(
    r"^[ \t]*([A-Za-z][\w-]*)\s+(OBJECT-TYPE|OBJECT IDENTIFIER|OBJECT-IDENTITY|MODULE-IDENTITY)\b", re.MULTILINE
)
_ANY_DEFINITION = re.compile(
    r"^[ \t]*[A-Za-z][\w-]*\s+(?:OBJECT-TYPE|OBJECT IDENTIFIER|OBJECT-IDENTITY|MODULE-IDENTITY|OBJECT-GROUP|"
    r"NOTIFICATION-TYPE|NOTIFICATION-GROUP|MODULE-COMPLIANCE|TRAP-TYPE)\b|::=\s*TEXTUAL-CONVENTION",
    re.MULTILINE,
)
_IMPORTS = re.compile(r"\bIMPORTS\b(.*?);", re.DOTALL)
_IMPORT_GROUP = re.compile(r"((?:[\w-]+\s*,\s*)*[\w-]+)\s+FROM\s+([\w-]+)")
_SYNTAX = re.compile(r"\bSYNTAX\s+(SEQUENCE\s+OF\s+[\w-]+|OCTET\s+STRING|OBJECT\s+IDENTIFIER|[A-Za-z][\w-]*)")
_ACCESS = re.compile(r"\b(?:MAX-)?ACCESS\s+([\w-]+)")
_INDEX = re.compile(r"\bINDEX\s*\{([^}]*)\}")
_AUGMENTS = re.compile(r"\bAUGMENTS\s*\{([^}]*)\}")
_TEXTUAL_CONVENTION = re.compile(
    r"^[ \t]*([A-Z][\w-]*)\s*::=\s*TEXTUAL-CONVENTION\b(.*?)\bSYNTAX\s+(OCTET\s+STRING|[A-Za-z][\w-]*)",
    re.MULTILINE | re.DOTALL,
)
_TYPE = re.compile(
    r"^[ \t]*([A-Z][\w-]*)\s*::=\s*(?:\[\s*APPLICATION\s+\d+\s*\]\s*)?(?:IMPLICIT\s+)?(OCTET\s+STRING|[A-Za-z][\w-]*)",
    re.MULTILINE,
)
_HINT = re.compile(r'DISPLAY-HINT\s+"(\d+)"')
# how deep a chain of imports or of textual conventions is followed before it counts as a loop
_MAX_DEPTH = 8


@dataclass(frozen=True)
class Definition:
    """One OID assignment of a module: its parent and arcs, and for an OBJECT-TYPE its syntax, access and index.

    ``kind`` is the macro (``OBJECT-TYPE``, ``OBJECT IDENTIFIER``, ``OBJECT-IDENTITY``, ``MODULE-IDENTITY``);
    ``syntax`` is the SYNTAX's type name alone (``DisplayString``, ``OCTET STRING``, ``SEQUENCE OF FooEntry``).
    """

    name: str
    module: str
    parent: str
    arcs: tuple[int, ...]
    kind: str
    syntax: str = ""
    access: str = ""
    index: tuple[str, ...] = ()
    augments: str = ""


@dataclass(frozen=True)
class TextualConvention:
    """A type a module defines: the syntax it refines and its DISPLAY-HINT ("" without one)."""

    syntax: str
    hint: str


@dataclass
class Mibs:
    """Every module read: its definitions, its textual conventions and where each imported name comes from.

    Keys are (module, name); ``first_definer`` and ``first_type`` name the first module read that defines a
    name, the fallback for a name no import explains. Filled by :func:`parse_text`; dicts keep read order.
    """

    definitions: dict[tuple[str, str], Definition]
    types: dict[tuple[str, str], TextualConvention]
    imports: dict[str, dict[str, str]]
    first_definer: dict[str, str]
    first_type: dict[str, str]

    @classmethod
    def empty(cls) -> Mibs:
        """Return a collection with nothing read yet."""
        return cls({}, {}, {}, {}, {})


def _syntax(body: str) -> str:
    match = _SYNTAX.search(body)
    return " ".join(match.group(1).split()) if match else ""


def parse_module(name: str, code: str, strings: tuple[str, ...], mibs: Mibs) -> None:
    """Add one module's definitions, textual conventions and imports (``code`` masked by ``mask_strings``) to ``mibs``;
    a module already read is left as it was, and so is a name the module defines twice (the first counts)."""
    if name in mibs.imports:
        return
    imported: dict[str, str] = {}
    imports = _IMPORTS.search(code)
    if imports is not None:
        for group in _IMPORT_GROUP.finditer(imports.group(1)):
            for symbol in group.group(1).split(","):
                imported.setdefault(symbol.strip(), group.group(2))
    mibs.imports[name] = imported
    for match in _TEXTUAL_CONVENTION.finditer(code):
        hint = _HINT.search(match.group(2))
        mibs.types[(name, match.group(1))] = TextualConvention(
            " ".join(match.group(3).split()), strings[int(hint.group(1))] if hint else ""
        )
        mibs.first_type.setdefault(match.group(1), name)
    for match in _TYPE.finditer(code):
        if match.group(2) in ("TEXTUAL-CONVENTION", "SEQUENCE", "CHOICE") or (name, match.group(1)) in mibs.types:
            continue
        mibs.types[(name, match.group(1))] = TextualConvention(" ".join(match.group(2).split()), "")
        mibs.first_type.setdefault(match.group(1), name)
    for match in _DEFINITION.finditer(code):
        descriptor, kind = match.group(1), match.group(2)
        if descriptor in ("SYNTAX", "FROM", "TYPE", "OBJECTS", "IMPORTS"):
            continue
        assignment = _ASSIGNMENT.search(code, match.end())
        if assignment is None:
            continue
        between = code[match.end() : assignment.start()]
        # an assignment that belongs to a later definition is not this one's (a MACRO, a half-written object)
        if (kind == "OBJECT IDENTIFIER" and between.strip()) or _ANY_DEFINITION.search(between):
            continue
        parsed = parse_arcs(assignment.group(1))
        if parsed is None:
            continue
        index = _INDEX.search(between) if kind == "OBJECT-TYPE" else None
        augments = _AUGMENTS.search(between) if kind == "OBJECT-TYPE" else None
        access = _ACCESS.search(between) if kind == "OBJECT-TYPE" else None
        definition = Definition(
            descriptor, name, parsed[0], parsed[1], kind,
            syntax=_syntax(between) if kind == "OBJECT-TYPE" else "",
            access=access.group(1) if access else "",
            index=tuple(part.replace("IMPLIED", "").strip() for part in index.group(1).split(",")) if index else (),
            augments=augments.group(1).strip() if augments else "",
        )  # fmt: skip
        if (name, descriptor) not in mibs.definitions:
            mibs.definitions[(name, descriptor)] = definition
            mibs.first_definer.setdefault(descriptor, name)


def parse_text(text: str, mibs: Mibs) -> None:
    """Add every module (``NAME DEFINITIONS ::= BEGIN``) of one MIB file's ``text`` to ``mibs``."""
    masked = mask_strings(text)
    starts = list(MODULE.finditer(masked.code))
    for number, start in enumerate(starts):
        end = starts[number + 1].start() if number + 1 < len(starts) else len(masked.code)
        parse_module(start.group(1), masked.code[start.start() : end], masked.strings, mibs)


def tree_files(root: Path) -> Iterator[Path]:
    """Yield every file under ``root``, sorted, hidden paths and netdisco-mibs' ``EXTRAS`` left out."""
    for path in sorted(root.rglob("*")):
        parts = path.relative_to(root).parts
        if path.is_file() and not any(part.startswith(".") or part == "EXTRAS" for part in parts):
            yield path


def read_files(paths: Iterable[Path]) -> Mibs:
    """Return every module of the files at ``paths``, read in that order (the first module of a name wins);
    bytes that are not UTF-8 are replaced, not raised."""
    mibs = Mibs.empty()
    for path in paths:
        parse_text(path.read_text(encoding="utf-8", errors="replace"), mibs)
    return mibs


class Resolver:
    """Definitions, numeric OIDs and textual conventions of the names in :class:`Mibs`, each name looked up
    in its module's scope: the module's own definition, else the one its IMPORTS name, else the first read."""

    def __init__(self, mibs: Mibs) -> None:
        self.mibs = mibs
        self._oids: dict[tuple[str, str], str | None] = {}

    def definition(self, module: str, name: str, depth: int = 0) -> Definition | None:
        """Return what ``name`` means in ``module``: its own definition, else the one it imports, else the first;
        ``None`` when no module read defines it."""
        found = self.mibs.definitions.get((module, name))
        if found is not None or depth > _MAX_DEPTH:
            return found
        source = self.mibs.imports.get(module, {}).get(name)
        if source is not None and source != module:
            imported = self.definition(source, name, depth + 1)
            if imported is not None:
                return imported
        first = self.mibs.first_definer.get(name)
        return self.mibs.definitions.get((first, name)) if first is not None else None

    def oid(self, module: str, name: str) -> str | None:
        """Return ``name``'s numeric OID as ``module`` sees it (a :data:`SEEDS` name as SNMPv2-SMI gives it),
        else ``None``: a chain of parents that reaches no seed, or loops."""
        if name in SEEDS:
            return SEEDS[name]
        definition = self.definition(module, name)
        if definition is None:
            return None
        key = (definition.module, definition.name)
        if key in self._oids:
            return self._oids[key]
        self._oids[key] = None  # a loop gives nothing
        parent = self.oid(definition.module, definition.parent)
        found = None if parent is None else ".".join((parent, *map(str, definition.arcs)))
        self._oids[key] = found
        return found

    def convention(self, module: str, syntax: str) -> tuple[str, TextualConvention] | None:
        """Return the module that defines the type ``syntax`` as ``module`` sees it and its definition (its own,
        else the one it imports, else the first read), else ``None`` (a base type, or one no module read defines)."""
        convention = self.mibs.types.get((module, syntax))
        where = module
        if convention is None:
            source = self.mibs.imports.get(module, {}).get(syntax)
            where = source or self.mibs.first_type.get(syntax, "")
            convention = self.mibs.types.get((where, syntax))
            if convention is None and self.mibs.first_type.get(syntax):
                where = self.mibs.first_type[syntax]
                convention = self.mibs.types.get((where, syntax))
        return None if convention is None else (where, convention)
