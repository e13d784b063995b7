"""The host agent daemon; imports only psutil, prometheus-client and light opsctl.core modules."""
