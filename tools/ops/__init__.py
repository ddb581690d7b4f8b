"""The operations command line: ``./ops`` (or ``.venv/bin/python -m tools.ops``) with the commands
``runs``, ``why``, ``backfill`` and ``run`` (docs/operations.md). typer parses the command line,
rich draws tables and progress, boto3 calls AWS.

Modules: ``folders`` (dated input folders), ``backfill`` (planning, names, resume and the run loop,
without AWS), ``runs`` (a run's summary and failure, without AWS), ``target`` (names and ARNs from
the config), ``aws`` (the boto3 calls), ``render`` (tables), ``cli`` (the commands).
"""
