"""Monitoring: SNMP poller, probes, alert rules and notifiers (grows with the monitoring issue)."""
