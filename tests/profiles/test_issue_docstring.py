"""The examples that show how a plan becomes a signed certificate run as written (issue 12):
the module docstring of :mod:`atlas_ca.profiles.planning` as a doctest, and the snippet of
docs/profiles.md, both against a real GOST test CA (software keys)."""

from __future__ import annotations

import doctest
import random
import re
from pathlib import Path
from typing import Any

import pytest

import atlas_ca.profiles.planning as issue_module
from atlas_ca.asn1 import oids
from atlas_ca.profiles.planning import issue_certificate, plan_ca_certificate
from atlas_ca.x509.certificate import Certificate
from atlas_ca.x509.csr import CsrBuilder
from atlas_ca.x509.names import Name
from support.profiles_samples import CA_ORG, CONFIG, NOW, SIGN_TOOL, make_keys, person, verified

DOCS = Path(__file__).resolve().parents[2] / "docs" / "profiles.md"
SERIAL = 0x2A00000000000001


@pytest.fixture(scope="module")
def names(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What the examples take as given: a verified subscriber, their CSR, the CA."""
    keys = make_keys(Path(tmp_path_factory.mktemp("docstring")))
    root_plan = plan_ca_certificate(
        CA_ORG, keys.ca.public_key_info, CONFIG, keys.ca, not_before=NOW
    )
    root = issue_certificate(root_plan, keys.ca, serial=0x2A00000000000000, self_signed=True)
    subject = Name.build([(oids.NameAttribute.COMMON_NAME, "Иванов Иван Иванович")])
    csr = CsrBuilder().subject_name(subject).sign(keys.subscriber)
    return {
        "subscriber": verified(person(random.Random(12))),
        "csr": csr,
        "sign_tool": SIGN_TOOL,
        "subject_sign_tool": SIGN_TOOL,
        "now": NOW,
        "not_before": NOW,
        "config": CONFIG,
        "issuer_key": keys.ca,
        "ca_key": keys.ca,
        "ca_certificate": root,
        "serial": SERIAL,
    }


def _checked(certificate: object, names: dict[str, Any]) -> None:
    assert isinstance(certificate, Certificate)
    assert certificate.serial_number == SERIAL
    certificate.verify_signed_by(names["ca_certificate"].public_key_info)
    assert certificate.public_key_info == names["csr"].public_key_info


def test_the_module_docstring_example_runs_as_a_doctest(names: dict[str, Any]) -> None:
    assert issue_module.__doc__ is not None
    globs = {**vars(issue_module), **names}
    test = doctest.DocTestParser().get_doctest(
        issue_module.__doc__, globs, issue_module.__name__, issue_module.__file__, 0
    )
    assert len(test.examples) >= 6  # the example is there, in doctest form
    report: list[str] = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS, verbose=False)
    runner.run(test, out=report.append, clear_globs=False)
    results = runner.summarize(verbose=False)
    assert results.failed == 0, "".join(report)
    assert results.attempted == len(test.examples)
    _checked(test.globs["certificate"], names)


def test_the_docs_snippet_from_verified_data_to_a_signed_certificate_runs(
    names: dict[str, Any],
) -> None:
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("## From verified data to a signed certificate", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None
    namespace = dict(names)
    exec(compile(match.group(1), str(DOCS), "exec"), namespace)
    _checked(namespace["certificate"], names)
