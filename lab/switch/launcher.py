"""Start one fake-switches switch over SSH, with its Python 3 ``enable`` fixed.

``python -m lab.switch.launcher CONFIG.json``. fake-switches' own ``main`` encodes the
password to bytes before giving it to the switch, whose ``enable`` then compares the typed
(text) password with bytes and always refuses. Here the switch gets text and only the SSH
password checker gets bytes. The password is read from its 0600 file, never from argv.
Logging stays at INFO: at DEBUG fake-switches logs every line typed, the enable password too.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from lab.switch.config import LauncherConfig


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: python -m lab.switch.launcher CONFIG.json\n")
        return 2
    config = LauncherConfig.from_json(Path(argv[0]).read_text(encoding="utf-8"))
    password = Path(config.password_file).read_text(encoding="utf-8").strip()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from fake_switches import switch_factory  # type: ignore[import-untyped]
    from fake_switches.transports.ssh_service import (  # type: ignore[import-untyped]
        SwitchSshService,
    )
    from twisted.internet import reactor

    core = switch_factory.SwitchFactory().get(config.model, config.hostname, password)
    service = SwitchSshService(
        ip=config.listen_host,
        port=config.listen_port,
        switch_core=core,
        users={config.username: password.encode()},
    )
    service.hook_to_reactor(reactor)
    logging.getLogger("opsctl.lab").info(
        "%s listening on %s:%s", config.hostname, config.listen_host, config.listen_port
    )
    reactor.run()  # type: ignore[misc]
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
