"""SNMP agents of the lab: net-snmp ``snmpd`` and snmpsim serving recordings of real devices."""
