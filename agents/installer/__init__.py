"""``opsctl agent install`` and ``opsctl agent status``: runs on the controller, over the SSH transport.

Never imported by the daemon: a host gets the daemon's import closure only (bundle.py).
"""
