"""The lab: a simulated hospital data centre of real programs on loopback addresses."""
