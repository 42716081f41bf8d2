"""The field tables of ``docs/profiles.md``, rendered from the profile data itself.

``python -m atlas_ca.profiles.docs`` prints them; a test keeps the document in step with the
data, so the documentation cannot drift from the rules the code applies.
"""

from __future__ import annotations

from atlas_ca.profiles import PROFILES
from atlas_ca.profiles.base import Profile
from atlas_ca.profiles.fields import Presence, weaker
from atlas_ca.profiles.lint import Target, registry

BEGIN = "<!-- BEGIN GENERATED: python -m atlas_ca.profiles.docs -->"
END = "<!-- END GENERATED -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ") or "—"


def _profile(p: Profile) -> list[str]:
    out = [
        f"### `{p.name}` — {p.title}",
        "",
        f"Qualified: {'yes' if p.qualified else 'no'}; CA: {'yes' if p.is_ca else 'no'}; "
        f"issued without enabling it: {'yes' if p.issuable_by_default else 'no (CaConfig)'}.",
    ]
    if p.note:
        out += ["", _cell(p.note)]
    out += [
        "",
        "| # | attribute | OID | presence | emitted as | accepted | max | source | strength "
        "| note |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for i, a in enumerate(p.attributes, 1):
        accepted = ", ".join(sorted(t.name for t in a.accept))
        length = f"{a.digits} digits" if a.digits else (str(a.max_length) if a.max_length else "")
        out.append(
            f"| {i} | {a.oid.name} | {a.oid.dotted} | {a.presence.value} | {a.emit.name} | "
            f"{accepted} | {_cell(length)} | {_cell(a.source)} | "
            f"{weaker(a.strength, p.qualified).value} | {_cell(a.note)} |"
        )
    out += [
        "",
        "| extension | OID | presence | strength of presence | critical | strength of "
        "criticality | source | note |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for e in p.extensions:
        presence = e.presence.value
        if e.effective is not None:
            presence += f" (from {e.effective:%Y-%m-%d})"
        strength = weaker(e.strength, p.qualified).value if e.presence is Presence.REQUIRED else "—"
        out.append(
            f"| {e.oid.name} | {e.oid.dotted} | {presence} | {strength} | "
            f"{'yes' if e.critical else 'no'} | {e.critical_strength.value} | "
            f"{_cell(e.source)} | {_cell(e.note)} |"
        )
    ku = p.key_usage
    out += [
        "",
        f"- keyUsage emitted: {', '.join(sorted(b.name for b in ku.emit))}; required: "
        f"{', '.join(sorted(b.name for b in ku.required)) or '—'}; forbidden: "
        f"{', '.join(sorted(b.name for b in ku.forbidden)) or '—'} ({_cell(ku.source)}). "
        f"{_cell(ku.note) if ku.note else ''}",
        f"- extendedKeyUsage emitted: {', '.join(o.name for o in p.extended_key_usage) or '—'}",
    ]
    for k in p.keys:
        sets = ", ".join(sorted(s.name for s in k.param_sets))
        out.append(f"- key {k.key_type.value}: {sets} ({_cell(k.source)}). {_cell(k.note)}")
    v = p.validity
    key = f"{v.private_key_months} months" if v.private_key_months else "not limited"
    out.append(
        f"- validity: certificate ≤ {v.certificate_months} months, private key ≤ {key} "
        f"({_cell(v.source)}). {_cell(v.note)}"
    )
    return out


def render_markdown() -> str:
    """The generated part of ``docs/profiles.md``: every profile's fields, then every lint."""
    lines = [BEGIN, "", "## Profiles, field by field", ""]
    for p in PROFILES.values():
        lines += [*_profile(p), ""]
    lines += [
        "## Lints",
        "",
        "Severity under the conformance policy follows the strength of the source (law, MUST → "
        "error; SHOULD, practice → warning; unconfirmed, information → notice); the issuance "
        "policy (our pre-issuance gate) may be stricter.",
        "",
        "| code | strength of source | conformance | issuance | applies to | source | checks |",
        "|---|---|---|---|---|---|---|",
    ]
    for code, item in registry().items():
        kinds = (
            ", ".join(sorted(k.value for k in item.kinds))
            if item.target is Target.CERTIFICATE
            else item.target.value
        )
        since = f" (certificates from {item.effective:%Y-%m-%d})" if item.effective else ""
        lines.append(
            f"| `{code}` | {item.strength_text} | {item.severity.value} | "
            f"{item.issuance.value} | {kinds}{since} | {_cell(item.source)} | "
            f"{_cell(item.description)} |"
        )
    lines += ["", END]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(render_markdown(), end="")

__all__ = ["BEGIN", "END", "render_markdown"]
