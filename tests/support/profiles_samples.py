"""Shared sample data for the profile tests: valid identifiers, verified subscribers, a CA.

Identifiers are made valid with the check-digit functions of atlas_ca.domain.identifiers;
the CA's organisation identifiers are those of АО "Сервер-Центр" (domain rule R12).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path

from atlas_ca.algorithms import KeyType
from atlas_ca.asn1 import oids
from atlas_ca.domain import identifiers
from atlas_ca.domain.ids import RegistrarId, SubscriberId
from atlas_ca.domain.subscribers import (
    EntrepreneurData,
    FieldState,
    FieldStatus,
    IdentificationMethod,
    IdentificationRecord,
    IndividualData,
    PersonName,
    Subscriber,
    SubscriberKind,
    required_fields,
)
from atlas_ca.hsm.software import SoftwareKey, generate_software_key, open_software_key
from atlas_ca.profiles.config import CaConfig, IssuerTools
from atlas_ca.profiles.planning import Address, Organisation

#: Yesterday, midnight UTC: certificates issued "now" are valid when OpenSSL and certtool check
#: them against the wall clock.
NOW = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0) - dt.timedelta(
    days=1
)
SIGN_TOOL = 'СКЗИ "КриптоПро CSP" (версия 5.0)'


def inn_person(rng: random.Random) -> identifiers.InnPerson:
    first = f"{rng.randint(1, 99):02d}" + "".join(str(rng.randint(0, 9)) for _ in range(8))
    return identifiers.InnPerson(first + identifiers.inn_person_check_digits(first))


def inn_legal(rng: random.Random) -> identifiers.InnLegal:
    first = f"{rng.randint(1, 99):02d}" + "".join(str(rng.randint(0, 9)) for _ in range(7))
    return identifiers.InnLegal(first + identifiers.inn_legal_check_digit(first))


def snils(rng: random.Random) -> identifiers.Snils:
    first = f"{rng.randint(2, 999):03d}" + "".join(str(rng.randint(0, 9)) for _ in range(6))
    return identifiers.Snils(first + identifiers.snils_checksum(first))


def ogrnip(rng: random.Random) -> identifiers.Ogrnip:
    first = "3" + "".join(str(rng.randint(0, 9)) for _ in range(13))
    return identifiers.Ogrnip(first + identifiers.ogrnip_check_digit(first))


def ogrn(rng: random.Random) -> identifiers.Ogrn:
    first = "1" + "".join(str(rng.randint(0, 9)) for _ in range(11))
    return identifiers.Ogrn(first + identifiers.ogrn_check_digit(first))


def person(
    rng: random.Random,
    name: PersonName | None = None,
) -> IndividualData:
    return IndividualData(
        name=name or PersonName("Иванова", "Мария", "Петровна"),
        birth_date=dt.date(1990, 5, 17),
        passport=identifiers.Passport(
            "0512", f"{rng.randint(1, 999999):06d}", dt.date(2010, 6, 1), "250001"
        ),
        inn=inn_person(rng),
        snils=snils(rng),
    )


def verified(
    data: IndividualData | EntrepreneurData,
    method: IdentificationMethod = IdentificationMethod.PERSONAL_PRESENCE,
    sid: str = "sub-1",
) -> Subscriber:
    kind = (
        SubscriberKind.INDIVIDUAL
        if isinstance(data, IndividualData)
        else SubscriberKind.ENTREPRENEUR
    )
    states = tuple((f, FieldState(FieldStatus.VERIFIED, NOW)) for f in required_fields(kind))
    record = IdentificationRecord(RegistrarId("reg-1"), method, NOW, required_fields(kind))
    return Subscriber(
        id=SubscriberId(sid),
        kind=kind,
        phone=identifiers.MobilePhone("+79241234567"),
        registered_at=NOW - dt.timedelta(days=3),
        data=data,
        states=states,
        identification=record,
        identifications=(record,),
    )


CA_ORG = Organisation(
    name='АО "Сервер-Центр"',
    common_name='УЦ АО "Сервер-Центр" (тест)',
    ogrn=identifiers.Ogrn("1022502121476"),
    inn=identifiers.InnLegal("2539038819"),
    address=Address("25 Приморский край", "г. Владивосток", "ул. Светланская, д. 1"),
    email="ca@example.ru",
)

CONFIG = CaConfig(
    issuer_tools=IssuerTools(
        'ПАК "КриптоПро HSM" версии 2.0',
        'ПАК "Удостоверяющий центр КриптоПро УЦ" версии 2.0',
        "Сертификат соответствия № СФ/124-0000 от 01.01.2024",
        "Сертификат соответствия № СФ/128-0000 от 01.01.2024",
    ),
    ca_sign_tool='ПАК "КриптоПро HSM" версии 2.0',
    policy_classes=(oids.RuPolicy.KC1, oids.RuPolicy.KC2),
    crl_urls=("http://ca.example.ru/cdp/ca.crl",),
    ocsp_urls=("http://ca.example.ru/ocsp",),
    ca_issuers_urls=("http://ca.example.ru/aia/ca.crt",),
    enabled_profiles=frozenset({"individual", "entrepreneur", "legal-entity", "ca", "ocsp"}),
    allow_unqualified_keys=True,
)


@dataclass(frozen=True)
class Keys:
    ca: SoftwareKey
    subscriber: SoftwareKey
    subscriber_512: SoftwareKey
    ocsp: SoftwareKey


def make_keys(base: Path) -> Keys:
    def key(name: str, key_type: KeyType, param_set: str | None = None) -> SoftwareKey:
        uri = generate_software_key(
            base / f"{name}.key", key_type, password="test", param_set=param_set, iterations=1000
        )
        return open_software_key(uri, password="test")

    return Keys(
        ca=key("ca", KeyType.GOST3410_2012_256),
        subscriber=key("sub", KeyType.GOST3410_2012_256, "tc26-256-a"),
        subscriber_512=key("sub512", KeyType.GOST3410_2012_512),
        ocsp=key("ocsp", KeyType.GOST3410_2012_256),
    )


# --- a small PKI: root, and one clean certificate per profile ---------------------------------

from atlas_ca.domain.authorities import Authority, HeadPerEgrul  # noqa: E402
from atlas_ca.domain.ids import AuthorityId  # noqa: E402
from atlas_ca.profiles import ENTREPRENEUR, INDIVIDUAL, LEGAL_ENTITY  # noqa: E402
from atlas_ca.profiles.planning import (  # noqa: E402
    CertificatePlan,
    SubscriberRequest,
    issue_certificate,
    plan_ca_certificate,
    plan_ocsp_certificate,
    plan_subscriber_certificate,
)
from atlas_ca.x509.certificate import Certificate  # noqa: E402

ORG = Organisation(
    name='ООО "Ромашка"',
    ogrn=identifiers.Ogrn("1052503122902"),
    inn=identifiers.InnLegal("2536161885"),
    address=Address("25 Приморский край", "г. Владивосток", "ул. Алеутская, д. 11"),
)


def authority_for(sub: Subscriber, *, until: dt.datetime | None = None) -> Authority:
    return Authority(
        id=AuthorityId("auth-1"),
        person=sub.id,
        organisation=ORG.inn,
        position="Генеральный директор",
        basis=HeadPerEgrul(dt.date(2026, 1, 10)),
        valid_from=NOW - dt.timedelta(days=300),
        valid_until=until,
        verified_by=RegistrarId("reg-1"),
        verified_at=NOW - dt.timedelta(days=299),
    )


@dataclass(frozen=True)
class World:
    keys: Keys
    root: Certificate
    individual: Certificate
    entrepreneur: Certificate
    legal_entity: Certificate
    ocsp: Certificate

    def by_profile(self, name: str) -> Certificate:
        return {
            "ca": self.root,
            "individual": self.individual,
            "entrepreneur": self.entrepreneur,
            "legal-entity": self.legal_entity,
            "ocsp": self.ocsp,
        }[name]


def individual_request(keys: Keys, seed: int = 1, **kw: object) -> SubscriberRequest:
    rng = random.Random(seed)
    args: dict[str, object] = {
        "profile": INDIVIDUAL,
        "subscriber": verified(person(rng)),
        "public_key_info": keys.subscriber.public_key_info,
        "subject_sign_tool": SIGN_TOOL,
        "not_before": NOW,
    }
    args.update(kw)
    return SubscriberRequest(**args)  # type: ignore[arg-type]


def plan_individual(keys: Keys, seed: int = 1, **kw: object) -> CertificatePlan:
    return plan_subscriber_certificate(
        individual_request(keys, seed, **kw), CONFIG, keys.ca, at=NOW
    )


def build_world(base: Path) -> World:
    keys = make_keys(base)
    root_plan = plan_ca_certificate(
        CA_ORG, keys.ca.public_key_info, CONFIG, keys.ca, not_before=NOW
    )
    root = issue_certificate(root_plan, keys.ca, serial=0x1F00000000000001, self_signed=True)
    rng = random.Random(7)
    individual = issue_certificate(
        plan_individual(keys), keys.ca, serial=0x1F00000000000002, issuer=root
    )
    ip = EntrepreneurData(person(rng, PersonName("Петров", "Пётр")), ogrnip(rng))
    ip_req = SubscriberRequest(
        ENTREPRENEUR,
        verified(ip, sid="sub-ip"),
        keys.subscriber_512.public_key_info,
        SIGN_TOOL,
        NOW,
    )
    entrepreneur = issue_certificate(
        plan_subscriber_certificate(ip_req, CONFIG, keys.ca, at=NOW),
        keys.ca,
        serial=0x1F00000000000003,
        issuer=root,
    )
    head = verified(person(rng, PersonName("Сидоров", "Иван", "Ильич")), sid="sub-head")
    le_req = SubscriberRequest(
        LEGAL_ENTITY,
        head,
        keys.subscriber.public_key_info,
        SIGN_TOOL,
        NOW,
        organisation=ORG,
        authority=authority_for(head),
        title="Генеральный директор",
    )
    legal = issue_certificate(
        plan_subscriber_certificate(le_req, CONFIG, keys.ca, at=NOW),
        keys.ca,
        serial=0x1F00000000000004,
        issuer=root,
    )
    ocsp_org = Organisation(
        CA_ORG.name, CA_ORG.ogrn, CA_ORG.inn, CA_ORG.address, common_name="OCSP-служба УЦ (тест)"
    )
    ocsp = issue_certificate(
        plan_ocsp_certificate(ocsp_org, keys.ocsp.public_key_info, CONFIG, keys.ca, not_before=NOW),
        keys.ca,
        serial=0x1F00000000000005,
        issuer=root,
    )
    return World(keys, root, individual, entrepreneur, legal, ocsp)
