"""The authenticated caller, and the xAPI scopes it holds."""

from __future__ import annotations

import dataclasses

from lrs.errors import Forbidden

# xAPI 1.0.3 Communication 4.2 (OAuth scope), used for every credential kind.
SCOPES = (
    "statements/write",
    "statements/read",
    "statements/read/mine",
    "state",
    "define",
    "profile",
    "all/read",
    "all",
)

# What each scope also grants. `all/read` is every read; `all` is everything.
_IMPLIED = {
    "all": set(SCOPES),
    "all/read": {"all/read", "statements/read", "statements/read/mine"},
    "statements/read": {"statements/read", "statements/read/mine"},
}


# Not an xAPI scope, and not implied by `all`: the operators' admin API.
ADMIN_SCOPE = "admin"


def expand(scopes: list[str] | tuple[str, ...] | frozenset[str]) -> frozenset[str]:
    granted: set[str] = set()
    for scope in scopes:
        granted |= _IMPLIED.get(scope, {scope})
    return frozenset(granted)


def check_scopes(scopes: list[str]) -> list[str]:
    unknown = [s for s in scopes if s not in SCOPES and s != ADMIN_SCOPE]
    if unknown:
        raise ValueError(f"unknown scope {unknown[0]!r}; known: {', '.join(SCOPES)}, {ADMIN_SCOPE}")
    if not scopes:
        raise ValueError("at least one scope is required")
    return list(dict.fromkeys(scopes))


@dataclasses.dataclass(frozen=True, slots=True)
class Principal:
    tenant_id: int
    tenant: str
    credential: str  # the Basic key, or the token's subject
    scopes: frozenset[str]  # expanded
    authority: dict
    cors_origins: tuple[str, ...] = ()
    # Per-credential request rate (per second) and burst; None: unlimited.
    rate_limit: tuple[float, int] | None = None
    # The key/secret credential this principal stands on, and the
    # fingerprint of its secret (lrs.auth.secrets.fingerprint): its Basic
    # key, or the credential a token was traded for or minted by. Tokens it
    # mints carry both, and end when it is revoked or rotated. None for
    # tokens from `lrs token issue` and agencies' identity providers.
    vouched_by: tuple[str, str] | None = None

    def require(self, *any_of: str) -> None:
        """403 unless the principal holds one of `any_of`."""
        if not self.scopes.intersection(any_of):
            raise Forbidden(f"this credential lacks the scope {' or '.join(any_of)!r}")

    def can(self, scope: str) -> bool:
        return scope in self.scopes


def authority_for(base_url: str, name: str) -> dict:
    """xAPI Data 2.4.9 / 2.0 LRS 4.2.4.2: the authority is derived from the
    credential by a fixed rule: an Agent whose account is on this LRS."""
    return {"objectType": "Agent", "account": {"homePage": base_url, "name": name}}
