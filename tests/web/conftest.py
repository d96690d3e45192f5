"""The web tests' console home: a home with users, a store and returns, built once per test module."""

from __future__ import annotations

import pytest

from tests.support.console_home import ConsoleHome, build_home


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> ConsoleHome:
    return build_home(tmp_path_factory.mktemp("console"))
