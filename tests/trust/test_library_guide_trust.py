"""docs/library-guide.md, "Validate a certificate": the example runs as printed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from support.atlas_testing import REPO
from support.trust_pki import AT, make_pki

GUIDE = REPO / "docs" / "library-guide.md"


def _validation_block() -> str:
    section = GUIDE.read_text().split("## Validate a certificate", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found is not None
    return found.group(1)


def test_the_validation_example_prints_the_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pki = make_pki()
    (tmp_path / "anchors").mkdir()
    (tmp_path / "certs").mkdir()
    (tmp_path / "crls").mkdir()
    (tmp_path / "anchors" / "root.pem").write_bytes(pki.root.pem())
    (tmp_path / "certs" / "ca.pem").write_bytes(pki.sub.pem())
    (tmp_path / "crls" / "root.crl").write_bytes(pki.root_crl())
    (tmp_path / "crls" / "ca.crl").write_bytes(pki.sub_crl())
    code = _validation_block().replace("datetime.now(UTC)", "AT")
    exec(code, {"trust_dir": tmp_path, "certificate_pem": pki.leaf.pem(), "AT": AT})
    out = capsys.readouterr().out
    assert "CN=Иванов Иван" in out
    assert out.strip().endswith("True")
