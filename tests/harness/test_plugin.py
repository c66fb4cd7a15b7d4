"""The pytest plugin as other projects meet it: installed, loaded by every pytest run --
with or without pytest-xdist -- and useful without a stack for the fixtures that need none."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def test_loads_without_xdist(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from harness.pytest_plugin import User

        def test_fixture(faker_session):
            assert faker_session.email()

        def test_user_shape():
            user = User(id="u1", token="t", email="e", name="n")
            assert user.headers == {"Authorization": "Bearer t"}
            assert user.tasks_path == "/api/u1/tasks"
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:xdist", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    result.stderr.no_fnmatch_line("*unknown hook*")


def test_stack_option_is_offered_and_checked(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("-p", "no:xdist", "--help")
    result.stdout.fnmatch_lines(["*--stack-mode=*saved*"])
    bad = pytester.runpytest_subprocess("-p", "no:xdist", "--stack-mode=docker")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR


def test_saved_mode_without_a_stack_is_one_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARNESS_HOME", str(pytester.path / "home"))
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest_subprocess("-p", "no:xdist", "--stack-mode=saved")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--stack-mode=saved but no stack is up*"])
    result.stderr.no_fnmatch_line("*Traceback*")
