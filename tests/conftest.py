"""Suite-wide hooks: the summary printed at the end of `make test` (proof
reports, counts and timings), gathered from every xdist worker."""
from tests.support.summary_hooks import (pytest_sessionfinish, pytest_terminal_summary,  # noqa: F401
                                         pytest_testnodedown)
