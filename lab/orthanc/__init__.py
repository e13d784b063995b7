"""The lab's Orthanc PACS: Debian's Orthanc in a network namespace of its own, with sample studies."""
