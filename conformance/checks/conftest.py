"""Fixtures of the server checks (spec chapter 13-conformance): the target and its trace."""

from __future__ import annotations

import pytest

from conformance.coverage import pending_modules
from conformance.failures import HarnessError
from conformance.plugin import NA_PREFIX, RECORDER_KEY, STATE_KEY
from conformance.target import TargetConfig
from conformance.trace import Recorder
from conformance.wire import Target

# Check modules of a chapter the packaged catalogue does not hold yet (conformance/coverage.py).
collect_ignore = pending_modules()


@pytest.fixture(scope="session")
def target_config(pytestconfig: pytest.Config) -> TargetConfig:
    """The resolved target of this run (the plugin reached or started it)."""
    cfg = pytestconfig.stash[STATE_KEY].target
    if cfg is None:
        raise HarnessError("the conformance plugin did not resolve a target")
    return cfg


@pytest.fixture(autouse=True)
def _feature_gate(request: pytest.FixtureRequest, target_config: TargetConfig) -> None:
    """A check needing an undeclared optional feature is not applicable (never a pass)."""
    for mark in request.node.iter_markers("feature"):
        for name in mark.args:
            if name not in target_config.features:
                pytest.skip(f"{NA_PREFIX}the target does not declare the feature '{name}'")


@pytest.fixture
def target(request: pytest.FixtureRequest, target_config: TargetConfig) -> Target:
    """The target as this check sees it, recording every frame into the check's trace."""
    recorder = Recorder()
    request.node.stash[RECORDER_KEY] = recorder
    return Target(target_config, recorder)
