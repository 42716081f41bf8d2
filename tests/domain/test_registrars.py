"""Registrars, their offices and agents (R2, R5, R19)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from atlas_ca.cli.demo.fakes import SERVER_CENTRE, sample_registrar
from atlas_ca.domain.ids import OfficeId
from atlas_ca.domain.registrars import (
    Office,
    OfficeKind,
    RegistrarRefused,
    RegistrarStatus,
    reinstate,
    require_can_verify,
    suspend,
    with_certificate,
)
from atlas_ca.errors import DomainError, InvalidIdentifier

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def test_an_active_registrar_with_a_certificate_can_verify() -> None:
    r = sample_registrar()
    assert r.can_verify
    require_can_verify(r)


def test_suspension_and_reinstatement_return_new_objects() -> None:
    r = sample_registrar()
    s = suspend(r, at=T0, reason="истёк сертификат")
    assert r.status is RegistrarStatus.ACTIVE
    assert s.status is RegistrarStatus.SUSPENDED
    assert s.status_changed_at == T0
    assert not s.can_verify
    with pytest.raises(RegistrarRefused, match="suspended: истёк сертификат") as exc:
        require_can_verify(s)
    assert exc.value.rule == "R2"
    back = reinstate(s, at=T0 + dt.timedelta(days=1))
    assert back.can_verify
    assert back.status_reason is None


def test_suspension_needs_a_reason() -> None:
    with pytest.raises(DomainError, match="needs a reason"):
        suspend(sample_registrar(), at=T0, reason="  ")


def test_certificate_is_der_bytes() -> None:
    r = with_certificate(sample_registrar(), bytes.fromhex("30820001ff"))
    assert r.signing_certificate == bytes.fromhex("30820001ff")
    with pytest.raises(InvalidIdentifier, match="DER"):
        with_certificate(sample_registrar(), b"-----BEGIN CERTIFICATE-----")
    with pytest.raises(RegistrarRefused, match="R5"):
        require_can_verify(replace(sample_registrar(), signing_certificate=None))


def test_agent_offices_name_their_legal_entity_r19() -> None:
    agent = Office(OfficeId("agent-7"), "Агент, Находка", OfficeKind.AGENT, SERVER_CENTRE.inn)
    assert agent.agent_inn == SERVER_CENTRE.inn
    with pytest.raises(InvalidIdentifier, match="R19"):
        Office(OfficeId("agent-8"), "Агент без ИНН", OfficeKind.AGENT)
    with pytest.raises(InvalidIdentifier, match="only an agent office"):
        Office(OfficeId("own-1"), "Офис", OfficeKind.OWN, SERVER_CENTRE.inn)


def test_a_registrar_of_a_closed_office_cannot_verify() -> None:
    r = sample_registrar()
    closed = replace(r, office=replace(r.office, active=False))
    with pytest.raises(RegistrarRefused, match="not active") as exc:
        require_can_verify(closed)
    assert exc.value.rule == "R19"
