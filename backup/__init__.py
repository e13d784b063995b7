"""Backups and restore drills around restic.

- :mod:`backup.restic`: the restic runner (:class:`~backup.restic.Restic`), its version table
  and the pure parsers of its output;
- :mod:`backup.settings`: the ``backup:`` section (repositories, policies);
  :mod:`backup.repositories` turns a configured repository into a
  :class:`~backup.targets.Repository` through its target (:mod:`backup.targets`, :mod:`backup.local`);
- :mod:`backup.runner`: ``opsctl backup run`` (:func:`~backup.runner.run_policy`);
  :mod:`backup.postgres` its PostgreSQL hook, :mod:`backup.hashpipe` the tee that hashes a dump;
- :mod:`backup.status`: ``opsctl backup status``; :mod:`backup.offsite`: ``copy`` to the
  off-site repository and ``offsite setup``; :mod:`backup.maintenance`: ``prune`` and ``check``;
  :mod:`backup.restore`: ``restore`` of files and databases;
- :mod:`backup.state` and :mod:`backup.queries`: the package's tables and their queries;
- :mod:`backup.metrics`: the ``opsctl_backup_*`` textfile for node_exporter.
"""
