"""Staff users and roles: `ledger staff ...` and the permission matrix, `ledger roles`."""

from __future__ import annotations

from ledger.commands import add_command, add_group, business_time, staff_options, time_arg, with_services
from ledger.config import Settings


def _app(settings: Settings):
    from eventstore.postgres import open_application

    return open_application(settings)


BOOTSTRAP_ACTOR = "system:staff-bootstrap"


@with_services
def cmd_bootstrap(settings: Settings, args) -> int:
    at = business_time(args)
    granted = _app(settings).bootstrap_admin(args.user, at=at, actor=args.actor)
    print(f"{args.user}: {'is now global admin' if granted else 'already global admin (nothing changed)'}")
    from service.bootstrap import first_password

    password = first_password(settings, args.user, at=at, actor=args.actor)
    if password is not None:
        print(f"{args.user}: one-time password {password} (shown once: sign in and choose a new one)")
    return 0


def role_change(method: str, done: str, undone: str):
    """`staff grant` and `staff revoke`: the same command but for the application method."""

    @with_services
    def command(settings: Settings, args) -> int:
        from domain.roles import parse_role

        role = parse_role(args.role)
        changed = getattr(_app(settings), method)(args.user, role, at=business_time(args), actor=args.actor)
        print(f"{args.user}: {done if changed else undone} {role.value}")
        return 0

    return command


@with_services
def cmd_list(settings: Settings, args) -> int:
    from readside.queries import cell

    directory = _app(settings).staff_directory()
    for user_id in sorted(directory.roles):
        roles = ", ".join(sorted(r.value for r in directory.roles_of(user_id))) or "(no role)"
        print(f"{cell(user_id)}: {roles}")
    return 0


def cmd_roles(settings: Settings, args) -> int:
    from domain.roles import PERMISSIONS, Role

    print(permission_matrix(PERMISSIONS, list(Role)))
    return 0


def permission_matrix(permissions, roles) -> str:
    """The matrix as a Markdown table, as the README shows it."""
    header = "| permission | " + " | ".join(r.value for r in roles) + " |"
    rule = "| --- |" + " :-: |" * len(roles)
    rows = [
        f"| {permission.value} | " + " | ".join("yes" if r in allowed else "" for r in roles) + " |"
        for permission, allowed in permissions.items()
    ]
    return "\n".join([header, rule, *rows])


def register(sub) -> None:
    staff = add_group(sub, "staff", "staff users and their roles")
    p = add_command(staff, "bootstrap", cmd_bootstrap,
                    "make the first global admin (only while no user has a role) and print a one-time password")
    p.add_argument("user")
    p.add_argument("--as", dest="actor", default=BOOTSTRAP_ACTOR, help=f"recorded as the actor (default {BOOTSTRAP_ACTOR})")
    p.add_argument("--at", type=time_arg, help="business time (ISO 8601, UTC if no zone); default: now")
    for name, func, text in [
        ("grant", role_change("grant_role", "granted", "already holds"), "grant a role"),
        ("revoke", role_change("revoke_role", "revoked", "did not hold"), "revoke a role"),
    ]:
        p = add_command(staff, name, func, text)
        p.add_argument("user")
        p.add_argument("role", help="global-admin, user-management-admin, helpdesk-agent, billing-admin, sales-agent")
        staff_options(p)
    add_command(staff, "list", cmd_list, "list staff users and their roles")
    add_command(sub, "roles", cmd_roles, "print the permission matrix: which role may do what")
