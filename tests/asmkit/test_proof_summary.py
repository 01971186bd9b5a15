"""The proof counts reach `make test`'s output: conftest's terminal summary."""

from pathlib import Path

CONFTEST = Path(__file__).with_name("conftest.py")


class FakeReport:
    def details(self):
        return "x86_64: 1 forms, 2 Keystone cases, 0 mismatches\n  3 label programs"


class FakeReporter:
    def __init__(self):
        self.lines = []

    def write_sep(self, sep, title):
        self.lines.append(f"{sep} {title}")

    def write_line(self, line):
        self.lines.append(line)


def conftest_module(config):
    """This directory's conftest as pytest loaded it (the one whose hook runs)."""
    for plugin in config.pluginmanager.get_plugins():
        if Path(getattr(plugin, "__file__", "") or "") == CONFTEST:
            return plugin
    raise AssertionError("tests/asmkit/conftest.py is not loaded")


def test_the_summary_prints_the_report_of_each_proof_that_ran(request, monkeypatch):
    conftest = conftest_module(request.config)
    monkeypatch.setattr(conftest, "PROOF_REPORTS", {"x86_64": FakeReport()})
    reporter = FakeReporter()
    conftest.pytest_terminal_summary(reporter)
    assert reporter.lines == ["= asmkit proof",
                              "x86_64: 1 forms, 2 Keystone cases, 0 mismatches",
                              "  3 label programs"]


def test_no_summary_when_no_proof_ran(request, monkeypatch):
    conftest = conftest_module(request.config)
    monkeypatch.setattr(conftest, "PROOF_REPORTS", {})
    reporter = FakeReporter()
    conftest.pytest_terminal_summary(reporter)
    assert reporter.lines == []
