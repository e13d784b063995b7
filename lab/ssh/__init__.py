"""The lab's first peer kind: OpenSSH hosts, one ``sshd`` per loopback address."""
