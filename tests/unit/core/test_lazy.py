"""A package's names imported on first use: its light modules stay light, its names still work."""

from __future__ import annotations

import subprocess
import sys


def _python(code: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_the_state_schema_of_the_inventory_does_not_load_the_inventory_file_loader() -> None:
    """Every command checks the state store's schemas, inventory's among them."""
    lines = _python(
        "import sys\n"
        "import inventory.state\n"
        "print('inventory.ansible_yaml' in sys.modules)\n"
        "from inventory import Host, load_inventory\n"
        "import inventory\n"
        "print('inventory.ansible_yaml' in sys.modules, inventory.Host is Host, callable(load_inventory))\n"
    )
    assert lines == ["False", "True", "True", "True"]


def test_a_name_the_package_does_not_have_is_an_attribute_error() -> None:
    lines = _python(
        "import inventory, lab\n"
        "for package in (inventory, lab):\n"
        "    try:\n"
        "        package.no_such_name\n"
        "    except AttributeError as error:\n"
        "        print(str(error).replace(' ', '_'))\n"
    )
    assert lines == ["module_'inventory'_has_no_attribute_'no_such_name'",
                     "module_'lab'_has_no_attribute_'no_such_name'"]
