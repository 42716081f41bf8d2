"""Property tests: valid subscriber data always lints clean; one corrupted field never does."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atlas_ca.asn1 import oids
from atlas_ca.domain.subscribers import IdentificationMethod, PersonName
from atlas_ca.profiles.lint import lint_der
from atlas_ca.profiles.planning import prepare_tbs
from support.profiles_certkit import edit_subject, extensions_of, with_extensions
from support.profiles_samples import NOW, World, build_world, person, plan_individual, verified

UPPER = "АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЭЮЯ"
LOWER = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"

name_part = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from(UPPER),
    st.text(alphabet=LOWER, min_size=1, max_size=14),
)
names = st.builds(
    PersonName,
    name_part,
    name_part,
    st.one_of(st.none(), name_part),
)
SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(Path(tmp_path_factory.mktemp("hypothesis")))


def _tbs(
    world: World, seed: int, name: PersonName, method: IdentificationMethod, days: int
) -> bytes:
    sub = verified(person(random.Random(seed), name), method=method)
    plan = plan_individual(world.keys, subscriber=sub, not_after=NOW + dt.timedelta(days=days))
    return prepare_tbs(
        plan,
        serial=0x1F00000000000100 + seed,
        algorithm=world.keys.ca.signature_algorithm,
        issuer=world.root,
    ).tbs.der


@SETTINGS
@given(
    seed=st.integers(0, 10**6),
    name=names,
    method=st.sampled_from(list(IdentificationMethod)),
    days=st.integers(1, 450),
)
def test_random_valid_subscriber_data_always_lints_clean(
    world: World, seed: int, name: PersonName, method: IdentificationMethod, days: int
) -> None:
    report = lint_der(_tbs(world, seed, name, method, days))
    assert report.findings == ()


IDENTIFIERS = [oids.RuAttribute.SNILS, oids.RuAttribute.INN]
REQUIRED_EXTS = [
    oids.RuExtension.SUBJECT_SIGN_TOOL,
    oids.RuExtension.ISSUER_SIGN_TOOL,
    oids.RuExtension.IDENTIFICATION_KIND,
    oids.Extension.CERTIFICATE_POLICIES,
    oids.Extension.KEY_USAGE,
    oids.Extension.AUTHORITY_KEY_IDENTIFIER,
]


def corrupt_check_digit(tbs: bytes, oid: oids.Oid, delta: int) -> bytes:
    def fn(attrs: list) -> list:  # type: ignore[type-arg]
        out = []
        for o, t, v in attrs:
            if o.dotted == oid.dotted:
                v = v[:-1] + str((int(chr(v[-1])) + delta) % 10).encode()
            out.append((o, t, v))
        return out

    return edit_subject(tbs, fn)


def corrupt_string_type(tbs: bytes, oid: oids.Oid, tag: int) -> bytes:
    return edit_subject(
        tbs, lambda attrs: [(o, tag if o.dotted == oid.dotted else t, v) for o, t, v in attrs]
    )


def drop_attribute(tbs: bytes, oid: oids.Oid) -> bytes:
    return edit_subject(tbs, lambda attrs: [a for a in attrs if a[0].dotted != oid.dotted])


def drop_extension(tbs: bytes, oid: oids.Oid) -> bytes:
    from asn1crypto import core

    from support.profiles_certkit import children

    def keep(raw: bytes) -> bool:
        return core.ObjectIdentifier.load(children(raw)[0]).dotted != oid.dotted

    return with_extensions(tbs, [e for e in extensions_of(tbs) if keep(e)])


corruptions = st.one_of(
    st.tuples(st.just("digit"), st.sampled_from(IDENTIFIERS), st.integers(1, 9)),
    st.tuples(st.just("type"), st.sampled_from(IDENTIFIERS), st.sampled_from([12, 22, 30])),
    st.tuples(
        st.just("drop-attr"),
        st.sampled_from([*IDENTIFIERS, oids.NameAttribute.SURNAME, oids.NameAttribute.COMMON_NAME]),
        st.just(0),
    ),
    st.tuples(st.just("drop-ext"), st.sampled_from(REQUIRED_EXTS), st.just(0)),
)


@SETTINGS
@given(seed=st.integers(0, 10**6), name=names, corruption=corruptions)
def test_corrupting_one_field_always_yields_an_error(
    world: World, seed: int, name: PersonName, corruption: tuple[str, oids.Oid, int]
) -> None:
    tbs = _tbs(world, seed, name, IdentificationMethod.PERSONAL_PRESENCE, 365)
    what, oid, arg = corruption
    if what == "digit":
        broken = corrupt_check_digit(tbs, oid, arg)
    elif what == "type":
        broken = corrupt_string_type(tbs, oid, arg)
    elif what == "drop-attr":
        broken = drop_attribute(tbs, oid)
    else:
        broken = drop_extension(tbs, oid)
    assert lint_der(broken, "individual").errors != ()
