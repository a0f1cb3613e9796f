"""Runs the lit suite under pytest, one pytest test per lit test.

The README's single test command (`pytest`) thus covers the FileCheck tests
and the numerical tests alike; `lit test/` or `cmake --build build --target
check-attn` run the lit part on its own.
"""

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

TEST_DIR = Path(__file__).resolve().parent
# The lit package has no __main__; this is what its console script runs.
LIT_MAIN = "import sys, lit.main; sys.exit(lit.main.main())"


def _lit_tests() -> list[str]:
    out = subprocess.run([sys.executable, "-c", LIT_MAIN, "--show-tests", str(TEST_DIR)],
                         capture_output=True, text=True, check=True).stdout
    return [line.split("::", 1)[1].strip() for line in out.splitlines() if "::" in line]


def _key(test: str) -> tuple[str, str]:
    """lit's xunit names: classname SUITE.dir.sub, name file.mlir."""
    directory, name = os.path.split(test)
    suite = "ATTN_MLIR" + ("." + directory.replace("/", ".") if directory else "")
    return suite, name


@pytest.fixture(scope="session")
def lit_results(tmp_path_factory):
    report = tmp_path_factory.mktemp("lit") / "lit.xml"
    jobs = str(max(1, len(os.sched_getaffinity(0))))
    subprocess.run([sys.executable, "-c", LIT_MAIN, "-q", "-j", jobs, "--xunit-xml-output",
                    str(report), str(TEST_DIR)], capture_output=True, text=True)
    results = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        failure = case.find("failure")
        results[(case.get("classname"), case.get("name"))] = (
            failure.text if failure is not None else None)
    return results


@pytest.mark.parametrize("test", _lit_tests())
def test_lit(test, lit_results):
    key = _key(test)
    assert key in lit_results, f"lit did not run {test}"
    failure = lit_results[key]
    assert failure is None, failure
