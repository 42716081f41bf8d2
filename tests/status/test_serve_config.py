"""The [serve] settings this issue added: the HTTP server and the OCSP CertID limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from atlas_ca.cli.serve import load_serve_config
from atlas_ca.profiles.config import ConfigError
from atlas_ca.status.ocsp import MAX_CERT_IDS_CEILING


def config(tmp_path: Path, serve: str) -> Path:
    path = tmp_path / "atlas-ca.toml"
    path.write_text(
        f'[register]\nlocation = "{tmp_path / "r.sqlite3"}"\n\n'
        f'[ca]\ncertificate = "{tmp_path / "ca.pem"}"\n\n[serve]\n{serve}'
    )
    return path


def test_defaults_are_gunicorn_and_256_certids(tmp_path: Path) -> None:
    loaded = load_serve_config(config(tmp_path, ""))
    assert loaded.server == "gunicorn"
    assert loaded.ocsp_max_certificates == 256


def test_granian_and_a_higher_limit_are_read(tmp_path: Path) -> None:
    loaded = load_serve_config(
        config(tmp_path, 'server = "granian"\nocsp_max_certificates = 1000\n')
    )
    assert loaded.server == "granian"
    assert loaded.ocsp_max_certificates == 1000


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ('server = "uvicorn"', "serve.server"),
        (f"ocsp_max_certificates = {MAX_CERT_IDS_CEILING + 1}", "serve.ocsp_max_certificates"),
        ("ocsp_max_certificates = 0", "serve.ocsp_max_certificates"),
    ],
)
def test_bad_values_name_their_field(tmp_path: Path, line: str, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_serve_config(config(tmp_path, line + "\n"))
    assert info.value.context.get("field") == field
