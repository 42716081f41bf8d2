"""``atlas-ca lint`` exit codes and output, and the detection of a foreign certificate's profile."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from atlas_ca.asn1 import oids
from atlas_ca.cli import main
from atlas_ca.profiles.base import ProfileKind
from atlas_ca.profiles.detect import detect
from atlas_ca.x509.pem import PemLabel, pem_encode
from support.profiles_certkit import edit_subject
from support.profiles_samples import World, build_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(Path(tmp_path_factory.mktemp("cli")))


@pytest.fixture
def files(world: World, tmp_path: Path) -> dict[str, Path]:
    good = tmp_path / "good.pem"
    good.write_bytes(world.individual.pem())
    der = tmp_path / "good.der"
    der.write_bytes(world.individual.der)
    bad_tbs = edit_subject(
        world.individual.tbs_der,
        lambda attrs: [a for a in attrs if a[0].dotted != oids.RuAttribute.SNILS.dotted],
    )
    bad = tmp_path / "bad.pem"
    bad.write_bytes(pem_encode(bad_tbs, PemLabel.CERTIFICATE))
    junk = tmp_path / "junk.der"
    junk.write_bytes(b"\x00\x01garbage")
    csr = tmp_path / "req.pem"
    csr.write_bytes(pem_encode(world.individual.der, PemLabel.CERTIFICATE_REQUEST))
    return {"good": good, "der": der, "bad": bad, "junk": junk, "csr": csr}


def run(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["lint", *map(str, args)])
    return result.exit_code, result.output


def test_a_clean_certificate_exits_0_with_its_detected_profile(files: dict[str, Path]) -> None:
    code, out = run(files["good"])
    assert code == 0
    assert out.startswith("profile: individual")
    assert "0 error(s)" in out


def test_der_input_is_read_too(files: dict[str, Path]) -> None:
    assert run(files["der"])[0] == 0


def test_a_certificate_with_an_error_exits_1_and_names_the_rule(files: dict[str, Path]) -> None:
    code, out = run(files["bad"])
    assert code == 1
    assert "e_ru_subject_attribute_missing" in out
    assert "subject.SNILS" in out


def test_json_output_lists_findings_with_code_severity_source_and_path(
    files: dict[str, Path],
) -> None:
    code, out = run(files["bad"], "--json")
    assert code == 1
    doc = json.loads(out)
    assert doc["profile"] == "individual"
    assert doc["ok"] is False
    finding = next(f for f in doc["findings"] if f["code"] == "e_ru_subject_attribute_missing")
    assert finding["severity"] == "error"
    assert "Order 795" in finding["source"]
    assert finding["path"] == "subject.SNILS"


def test_an_explicit_profile_is_checked_instead_of_the_detected_one(
    files: dict[str, Path],
) -> None:
    code, out = run(files["good"], "--profile", "legal-entity")
    assert code == 1
    assert "profile: legal-entity" in out
    assert "organizationName is required" in out


@pytest.mark.parametrize("which", ["junk", "csr"])
def test_unreadable_input_exits_2(files: dict[str, Path], which: str) -> None:
    assert run(files[which])[0] == 2


def test_a_missing_file_exits_2(tmp_path: Path) -> None:
    assert run(tmp_path / "absent.pem")[0] == 2


def test_an_unknown_profile_name_exits_2(files: dict[str, Path]) -> None:
    assert run(files["good"], "--profile", "nonsense")[0] == 2


# --- detection ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("ca", ProfileKind.CA),
        ("individual", ProfileKind.INDIVIDUAL),
        ("entrepreneur", ProfileKind.ENTREPRENEUR),
        ("legal-entity", ProfileKind.LEGAL_ENTITY),
        ("ocsp", ProfileKind.OCSP),
    ],
)
def test_the_profile_of_each_certificate_is_detected(
    world: World, name: str, kind: ProfileKind
) -> None:
    assert detect(world.by_profile(name).der) is kind


def test_a_certificate_without_russian_identifiers_is_unknown(world: World) -> None:
    ru = {o.dotted for o in vars(oids.RuAttribute).values() if isinstance(o, oids.Oid)}
    tbs = edit_subject(
        world.individual.tbs_der, lambda attrs: [a for a in attrs if a[0].dotted not in ru]
    )
    assert detect(tbs) is ProfileKind.UNKNOWN


def test_a_pre_2021_legal_entity_with_a_padded_inn_is_a_legal_entity(world: World) -> None:
    def pad(attrs: list) -> list:  # type: ignore[type-arg]
        innle = next(v for o, _, v in attrs if o.dotted == oids.RuAttribute.INNLE.dotted)
        drop = {
            oids.RuAttribute.INNLE.dotted,
            oids.RuAttribute.OGRN.dotted,
            oids.RuAttribute.INN.dotted,
        }
        kept = [a for a in attrs if a[0].dotted not in drop]
        return [*kept, (oids.RuAttribute.INN, 18, b"00" + innle)]

    assert detect(edit_subject(world.legal_entity.tbs_der, pad)) is ProfileKind.LEGAL_ENTITY
