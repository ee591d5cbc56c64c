"""Fixtures of the bad-input suite: every test runs in its own folder with fixed budgets, so
the refusals (and their largest sizes that fit) do not depend on the machine's memory."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("THEORYCHECK_MEMORY_BUDGET", "8GiB")
    monkeypatch.setenv("THEORYCHECK_TIME_BUDGET", "24h")
    monkeypatch.delenv("THEORYCHECK_STORE", raising=False)
    yield
