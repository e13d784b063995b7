"""The core every domain package stands on: config, secrets, state, SSH, fleet, audit, output."""
