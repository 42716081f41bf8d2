"""`atlas-ca show` masks a person's СНИЛС and ИНН unless asked not to (R21, 152-ФЗ)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from atlas_ca.asn1.oids import RuAttribute
from atlas_ca.cli import main
from support.profiles_samples import World, build_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(Path(tmp_path_factory.mktemp("show-mask")))


def _identifiers(world: World) -> tuple[str, str]:
    (snils,) = world.individual.subject.get(RuAttribute.SNILS)
    (inn,) = world.individual.subject.get(RuAttribute.INN)
    assert len(snils) == 11
    assert len(inn) == 12
    return snils, inn


def _write(world: World, tmp_path: Path) -> Path:
    path = tmp_path / "individual.pem"
    path.write_bytes(world.individual.pem())
    return path


@pytest.mark.parametrize("as_json", [False, True])
def test_show_masks_snils_and_a_persons_inn_by_default(
    world: World, tmp_path: Path, as_json: bool
) -> None:
    snils, inn = _identifiers(world)
    args = ["show", str(_write(world, tmp_path)), *(["--json"] if as_json else [])]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert snils not in result.output
    assert inn not in result.output
    assert f"***-***-*** {snils[-2:]}" in result.output
    assert f"{'*' * 10}{inn[-2:]}" in result.output
    if as_json:
        assert json.loads(result.output)["subject"].startswith("INN=")


def test_show_unmask_prints_the_identifiers_in_full(world: World, tmp_path: Path) -> None:
    snils, inn = _identifiers(world)
    result = CliRunner().invoke(main, ["show", "--unmask", str(_write(world, tmp_path))])
    assert result.exit_code == 0, result.output
    assert f"SNILS={snils}" in result.output
    assert f"INN={inn}" in result.output
