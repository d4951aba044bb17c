"""Which workspace a request is for (from the host) and who is asking (from the session).

The host only picks the workspace. Authority comes from the session token, which is
bound to one workspace and user: a token of workspace A presented on B is worthless.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC

from sqlmodel import Session, select

from nextoria_hub.accounts.sessions import session_user
from nextoria_hub.clock import utcnow
from nextoria_hub.errors import AccessDenied, NotSignedIn
from nextoria_hub.models import Role, User, Workspace, WorkspaceAlias
from nextoria_hub.models.ids import require_id
from nextoria_hub.settings import get_settings


def slug_from_host(host: str, base_domain: str | None = None) -> str | None:
    """``Acme.localhost:3000`` → ``acme``; the apex or a foreign host → None.

    Only a single label directly under the base domain names a workspace.
    """
    base = (base_domain or get_settings().base_domain).lower()
    host = (host or "").strip().lower().rstrip(".")
    if host.startswith("["):
        return None
    host = host.rsplit(":", 1)[0] if ":" in host else host
    suffix = "." + base
    if not host.endswith(suffix):
        return None
    label = host[: -len(suffix)]
    if not label or "." in label:
        return None
    return label


def is_apex(host: str, base_domain: str | None = None) -> bool:
    base = (base_domain or get_settings().base_domain).lower()
    host = (host or "").strip().lower().rstrip(".")
    return host.rsplit(":", 1)[0] == base


def workspace_for_host(db: Session, host: str, *, former: bool = False) -> Workspace | None:
    """The workspace at ``host``; with ``former``, also one that left this address less than
    30 days ago (its webhook route keeps accepting deliveries there)."""
    slug = slug_from_host(host)
    if slug is None:
        return None
    workspace = db.exec(select(Workspace).where(Workspace.slug == slug)).first()
    if workspace is None and former:
        workspace = moved_workspace(db, slug)
    return workspace


def moved_workspace(db: Session, slug: str) -> Workspace | None:
    """The workspace whose former address ``slug`` still redirects, if any."""
    alias = db.exec(select(WorkspaceAlias).where(WorkspaceAlias.slug == slug)).first()
    if alias is None:
        return None
    expires = alias.expires_at
    if (expires.replace(tzinfo=UTC) if expires.tzinfo is None else expires) <= utcnow():
        return None
    return db.get(Workspace, alias.workspace_id)


def origin_allowed(origin: str) -> bool:
    """Browsers may talk to the backend only from the base domain and its subdomains."""
    if not origin:
        return False
    scheme, _, rest = origin.partition("://")
    if scheme not in ("http", "https") or not rest:
        return False
    host = rest.split("/", 1)[0]
    if "@" in host:  # userinfo never appears in a real Origin header
        return False
    return is_apex(host) or slug_from_host(host) is not None


@dataclass(frozen=True)
class Actor:
    """The signed-in user, in the workspace of their session. Passed to every tenant service."""

    workspace_id: int
    user_id: int | None  # None when the command line or a job acts for the workspace
    role: Role
    email: str
    name: str

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.admin, Role.member)

    def require_admin(self) -> None:
        if not self.is_admin:
            raise AccessDenied()

    def require_staff(self) -> None:
        if not self.is_staff:
            raise AccessDenied()

    @classmethod
    def system(cls, workspace: Workspace | int, *, name: str, label: str = "") -> Actor:
        """The workspace acting for itself (a job, the command line, set-up): admin rights, no
        user; ``label`` is what the audit trail shows for it."""
        workspace_id = workspace if isinstance(workspace, int) else require_id(workspace)
        return cls(workspace_id=workspace_id, user_id=None, role=Role.admin, email=label, name=name)

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(
            workspace_id=user.workspace_id,
            user_id=user.id,
            role=Role(user.role),
            email=user.email,
            name=user.name,
        )


def resolve_actor(db: Session, host: str, token: str) -> tuple[Workspace | None, Actor | None]:
    """The workspace the host names and, if the token is a live session of it, the actor."""
    workspace = workspace_for_host(db, host)
    if workspace is None:
        return None, None
    user = session_user(db, require_id(workspace), token)
    return workspace, (Actor.of(user) if user else None)


def require_actor(db: Session, host: str, token: str) -> Actor:
    _workspace, actor = resolve_actor(db, host, token)
    if actor is None:
        raise NotSignedIn()
    return actor
