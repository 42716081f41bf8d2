"""The linter's two readers give one view (issue 17): the fast DER slicer and asn1crypto.

``view_of`` reads plain DER of the X.509 shape with the walker of ``atlas_ca.x509.der`` and hands
everything else to the asn1crypto reader (``lint/view.py``). Over every certificate and TBS in
the test corpus, our own TBSs of each profile and mutated TBSs, the view ``view_of`` returns
must equal the asn1crypto reader's (or both refuse the input), and so must the findings of every
lint, under both policies, with the extension-parse cache cold and warm.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atlas_ca.errors import DecodeError
from atlas_ca.profiles import get_profile
from atlas_ca.profiles.lint import Policy, lint_view
from atlas_ca.profiles.lint import view as lint_view_module
from atlas_ca.profiles.lint.view import CertView, _fast_view, _full_view, view_of
from atlas_ca.x509.der import check_der
from atlas_ca.x509.pem import PemLabel, read_der_or_pem
from support.profiles_samples import World, build_world

TESTS = Path(__file__).resolve().parents[1]
CORPUS = sorted(p for p in TESTS.rglob("*") if p.suffix in (".pem", ".crt", ".der") and p.is_file())
PROFILES = ("individual", "entrepreneur", "legal-entity", "ocsp", "ca")


def _der(path: Path) -> bytes:
    _, der = read_der_or_pem(path.read_bytes())
    return der


def _full(der: bytes) -> CertView:
    """The asn1crypto reader alone, as view_of used it before issue 17."""
    if len(der) < 4 or der[0] != 0x30:
        raise DecodeError("not a DER certificate (no outer SEQUENCE)")
    problem = None
    try:
        check_der(der, "certificate")
    except DecodeError as exc:
        problem = str(exc)
    return _full_view(der, problem)


def _outcome(read: object, der: bytes) -> CertView | str:
    try:
        return read(der)  # type: ignore[operator, no-any-return]
    except DecodeError as exc:
        return f"DecodeError: {exc}"


def _findings(view: CertView) -> list[tuple[str, tuple[str, ...]]]:
    out = []
    for profile in (None, *PROFILES):
        for policy in Policy:
            report = lint_view(view, get_profile(profile) if profile else None, policy)
            out.append((f"{profile}/{policy.value}", tuple(str(f) for f in report.findings)))
    return out


def assert_same(der: bytes) -> CertView | None:
    """view_of and the asn1crypto reader agree on ``der``; the view, or None if unreadable."""
    full, fast = _outcome(_full, der), _outcome(view_of, der)
    assert fast == full
    if isinstance(full, str):
        return None
    assert isinstance(fast, CertView)
    lint_view_module._parsed.cache_clear()
    cold = _findings(fast)
    assert cold == _findings(full)  # warm cache now
    lint_view_module._parsed.cache_clear()
    assert _findings(full) == cold
    return fast


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(Path(tmp_path_factory.mktemp("fast-view")))


def _readable_certificates() -> list[Path]:
    return [p for p in CORPUS if read_der_or_pem(p.read_bytes())[0] in (PemLabel.CERTIFICATE, None)]


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: str(p.relative_to(TESTS)))
def test_corpus_views_and_findings_are_the_same(path: Path) -> None:
    assert_same(_der(path))


def test_the_fast_reader_reads_nearly_all_of_the_corpus() -> None:
    """Not vacuous: the corpus's certificates go through the fast reader, except those with
    unique identifiers (PKITS's UID tests), which it hands over."""
    handed_over = []
    read = 0
    for path in _readable_certificates():
        der = _der(path)
        try:
            check_der(der, "certificate")
        except DecodeError:
            continue
        if _fast_view(der) is None:
            handed_over.append(path.name)
        else:
            read += 1
    assert read >= 400
    assert all("UID" in name for name in handed_over), handed_over


@pytest.mark.parametrize("profile", PROFILES)
def test_our_own_certificates_and_tbss_take_the_fast_path(world: World, profile: str) -> None:
    cert = world.by_profile(profile)
    for der in (cert.der, cert.tbs_der):
        assert _fast_view(der) is not None
        view = assert_same(der)
        assert view is not None
        assert view.is_tbs == (der == cert.tbs_der)


mutations = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(1, 255)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.integers(0, 255)),
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.just(0)),
    st.tuples(st.just("truncate"), st.integers(0, 10**6), st.just(0)),
)


def _mutate(der: bytes, what: str, where: int, value: int) -> bytes:
    i = where % len(der)
    if what == "flip":
        return der[:i] + bytes([der[i] ^ value]) + der[i + 1 :]
    if what == "insert":
        return der[:i] + bytes([value]) + der[i:]
    if what == "delete":
        return der[:i] + der[i + 1 :]
    return der[:i]


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    profile=st.sampled_from(PROFILES),
    tbs=st.booleans(),
    steps=st.lists(mutations, min_size=1, max_size=3),
)
def test_mutated_tbss_give_the_same_view_and_findings(
    world: World, profile: str, tbs: bool, steps: list[tuple[str, int, int]]
) -> None:
    cert = world.by_profile(profile)
    der = cert.tbs_der if tbs else cert.der
    for what, where, value in steps:
        der = _mutate(der, what, where, value)
        if not der:
            return
    assert_same(der)
