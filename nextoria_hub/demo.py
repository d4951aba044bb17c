"""The demo workspace that ``make run`` creates, so a newcomer has something to click."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from nextoria_hub.accounts.users import create_user, find_user
from nextoria_hub.accounts.workspaces import create_workspace
from nextoria_hub.models import Workspace

DEMO_SLUG = "acme"
DEMO_NAME = "Acme Creative"


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    password: str
    name: str


DEMO_ADMIN = DemoLogin("admin", "admin@acme.test", "acme-admin-demo-2026", "Ada Admin")
DEMO_MEMBER = DemoLogin("member", "member@acme.test", "acme-member-demo-2026", "Max Member")
DEMO_CLIENT = DemoLogin("client", "client@globex.test", "globex-client-demo-2026", "Cleo Client")
DEMO_LOGINS = (DEMO_ADMIN, DEMO_MEMBER, DEMO_CLIENT)


def seed_demo(db: Session) -> Workspace:
    """Create the demo workspace and its people if missing; safe to run again."""
    workspace = db.exec(select(Workspace).where(Workspace.slug == DEMO_SLUG)).first()
    if workspace is None:
        workspace = create_workspace(
            db,
            slug=DEMO_SLUG,
            name=DEMO_NAME,
            admin_name=DEMO_ADMIN.name,
            admin_email=DEMO_ADMIN.email,
            admin_password=DEMO_ADMIN.password,
        ).workspace
    for login in (DEMO_MEMBER, DEMO_CLIENT):
        if find_user(db, workspace.id, login.email) is None:  # type: ignore[arg-type]
            create_user(
                db,
                workspace_id=workspace.id,  # type: ignore[arg-type]
                email=login.email,
                name=login.name,
                role=login.role,
                password=login.password,
            )
    return workspace
