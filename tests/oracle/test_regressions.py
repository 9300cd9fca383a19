"""Every disagreement the oracle ever found, re-checked: gate and real loaders on the same folder.

A case the gate still gets wrong is a strict xfail naming what the gate gets wrong, and it fails
only by raising GateDisagreement with exactly the recorded disagreements: when the gate is fixed
it XPASSes (a failure under strict), and any other outcome fails outright.
"""

from __future__ import annotations

from types import ModuleType

import pytest

from modelport.settings import Settings
from tests.support.oracle.regressions import REGRESSIONS, Regression

pytestmark = [pytest.mark.slow, pytest.mark.oracle]


class GateDisagreement(AssertionError):
    """The gate and the real loaders disagree, exactly as the regression records."""


def _param(regression: Regression) -> object:
    marks = []
    if regression.gate_bug is not None:
        marks.append(pytest.mark.xfail(strict=True, raises=GateDisagreement, reason=regression.gate_bug))
    return pytest.param(regression, id=regression.case.name.removeprefix("regression-"), marks=marks)


@pytest.mark.parametrize("regression", [_param(r) for r in REGRESSIONS])
def test_regression(oracle: ModuleType, oracle_settings: Settings, regression: Regression) -> None:
    outcome = oracle.run_case(oracle_settings, regression.case)
    assert outcome.applied == regression.case.mutations, "a mutation did not apply: the case tests nothing"
    rules = {d.rule for d in outcome.disagreements}
    if regression.gate_bug is not None and rules:
        assert rules == regression.rules, f"the disagreement changed ({regression.why})\n{outcome.report()}"
    if rules:
        raise GateDisagreement(f"{regression.why}\n{outcome.report()}")
