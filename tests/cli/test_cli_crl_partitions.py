"""``atlas-ca crl publish`` for a CA with partitioned CRLs (``[ca.profile.crl_partitions]``,
RFC 5280 §5.2.5): every partition's full CRL by default, one with ``--partition N``, deltas per
partition; misuse reported with a documented exit code, never a traceback."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from atlas_ca.x509.crl import load_crl
from support.cli_ops_support import run_cli, softhsm_env

URL = "http://ca.example.ru/cdp/part-{partition}.crl"


@dataclass(frozen=True)
class Desk:
    dir: Path
    config: Path
    plain: Path
    env: dict[str, str]

    def cli(self, *args: str, config: Path | None = None) -> tuple[int, str, str]:
        proc = run_cli([*args, "--config", str(config or self.config)], env=self.env)
        return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Desk:
    out = tmp_path_factory.mktemp("desk") / "demo"
    env = softhsm_env()
    proc = run_cli(["demo", "--dir", str(out)], env=env)
    assert proc.returncode == 0, proc.stderr
    plain = out / "atlas-ca.toml"
    text = plain.read_text()
    # a partitioned CA's certificates name their partition, not one CRL URL
    text = re.sub(r"(?m)^crl_urls\s*=.*\n", "", text)
    assert "[ca.profile]\n" in text
    text = text.replace(
        "[ca.profile]\n",
        f'[ca.profile]\ncrl_partitions = {{ count = 3, url_template = "{URL}" }}\n',
    )
    config = out / "partitioned.toml"
    config.write_text(text)
    return Desk(out, config, plain, env)


def crl_dir(desk: Desk) -> Path:
    match = re.search(r'(?m)^crl_dir\s*=\s*"([^"]+)"', desk.config.read_text())
    assert match is not None
    return (desk.config.parent / match.group(1)).resolve()


def test_crl_publish_of_a_partitioned_ca_publishes_every_partition(desk: Desk) -> None:
    rc, out, err = desk.cli("crl", "publish", "--json")
    assert rc == 0, err
    assert "Traceback" not in err
    published = json.loads(out)
    assert [p["partition"] for p in published] == [0, 1, 2]
    for p in published:
        crl = load_crl(Path(p["path"]).read_bytes())
        idp = crl.issuing_distribution_point
        assert idp is not None
        assert idp.full_name == (URL.format(partition=p["partition"]),)
        assert crl.crl_number == p["number"]
        assert Path(p["path"]).name == f"part-{p['partition']}.crl"
    assert len({p["number"] for p in published}) == 3


def test_one_partition_then_its_delta(desk: Desk) -> None:
    rc, out, err = desk.cli("crl", "publish", "--partition", "1", "--json")
    assert rc == 0, err
    (full,) = json.loads(out)
    assert full["partition"] == 1
    rc, out, err = desk.cli("crl", "publish", "--partition", "1", "--delta", "--json")
    assert rc == 0, err
    (delta,) = json.loads(out)
    assert (delta["partition"], delta["base_number"]) == (1, full["number"])
    crl = load_crl(Path(delta["path"]).read_bytes())
    assert crl.is_delta
    assert crl.delta_crl_indicator == full["number"]
    assert Path(delta["path"]).name == "part-1-delta.crl"
    rc, out, err = desk.cli("crl", "publish", "--partition", "1")
    assert rc == 0, err
    assert out.startswith("partition 1: CRL ")


@pytest.mark.parametrize(
    ("args", "plain", "message"),
    [
        (("--partition", "3"), False, "partition 3"),
        (("--partition", "-1"), False, "partition -1"),
        (("--partition", "0"), True, "not partitioned"),
    ],
)
def test_a_partition_that_does_not_exist_is_refused_with_exit_code_2(
    desk: Desk, args: tuple[str, ...], plain: bool, message: str
) -> None:
    rc, out, err = desk.cli("crl", "publish", *args, config=desk.plain if plain else None)
    assert rc == 2, (out, err)
    assert "Traceback" not in err
    assert message in err
