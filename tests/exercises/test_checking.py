"""CheckResult renders its verdict for people (✅ / ❌) and for the notebook tests (a data attribute)."""

from mlip_lab.exercises import CheckResult


def test_check_result_html_carries_a_machine_readable_verdict():
    passed, failed = CheckResult(True, "fine"), CheckResult(False, "x < 1 & y")
    assert 'data-check="passed"' in passed._repr_html_() and "✅ fine" in passed._repr_html_()
    assert 'data-check="failed"' in failed._repr_html_() and "x &lt; 1 &amp; y" in failed._repr_html_()
    assert bool(passed) and not failed
