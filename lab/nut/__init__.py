"""The lab's NUT UPS server: ``upsd`` with the ``dummy-ups`` driver, whose state ``opsctl lab ups`` flips."""
