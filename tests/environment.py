"""Loaded by pytest before Django (`-p tests.environment` in pyproject.toml): the suite runs with
development settings unless the caller chose otherwise (DATABASE_URL picks the database)."""

import os

os.environ.setdefault("DEBUG", "1")
