"""Staff users and roles: `ledger staff ...` and the permission matrix, `ledger roles`."""

from __future__ import annotations

from ledger.api_client import Api
from ledger.commands import add_command, add_group, at_of, business_time, staff_options, time_arg, with_api, with_services
from ledger.config import Settings


def _app(settings: Settings):
    from eventstore.postgres import open_application

    return open_application(settings)


BOOTSTRAP_ACTOR = "system:staff-bootstrap"


@with_services
def cmd_bootstrap(settings: Settings, args) -> int:
    at = business_time(args)
    granted = _app(settings).bootstrap_admin(args.user, at=at, actor=BOOTSTRAP_ACTOR)
    print(f"{args.user}: {'is now global admin' if granted else 'already global admin (nothing changed)'}")
    from service.bootstrap import first_password

    password = first_password(settings, args.user, at=at, actor=BOOTSTRAP_ACTOR)
    if password is not None:
        print(f"{args.user}: one-time password {password} (shown once: sign in and choose a new one)")
    return 0


def role_change(method: str, done: str, undone: str):
    """`staff grant` and `staff revoke`: the same command but for the HTTP method."""

    @with_api
    def command(api: Api, args) -> int:
        answer = api.request(method, f"/staff/{args.user}/roles/{args.role}", body={"at": at_of(args)})
        print(f"{args.user}: {done if answer['changed'] else undone} {args.role}")
        return 0

    return command


@with_api
def cmd_list(api: Api, args) -> int:
    from readside.tables import cell

    for staff in api.pages("/staff"):
        print(f"{cell(staff['user'])}: {', '.join(staff['roles']) or '(no role)'}")
    return 0


@with_api
def cmd_password(api: Api, args) -> int:
    """Another user's password, as a one-time password they must replace when they sign in."""
    from ledger.commands.session import ask_secret

    password = ask_secret(f"one-time password for {args.user}: ")
    api.put(f"/staff/{args.user}/password", {"password": password})
    print(f"{args.user}: one-time password set (they choose their own when they sign in)")
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
    p.add_argument("--at", type=time_arg, help="business time (ISO 8601, UTC if no zone); default: now")
    for name, func, text in [
        ("grant", role_change("PUT", "granted", "already holds"), "grant a role"),
        ("revoke", role_change("DELETE", "revoked", "did not hold"), "revoke a role"),
    ]:
        p = add_command(staff, name, func, text)
        p.add_argument("user")
        p.add_argument("role", help="global-admin, user-management-admin, helpdesk-agent, billing-admin, sales-agent")
        staff_options(p)
    add_command(staff, "list", cmd_list, "list staff users and their roles")
    p = add_command(staff, "password", cmd_password,
                    "set another user's password, as a one-time password (asked for; or one line on stdin)")
    p.add_argument("user")
    add_command(sub, "roles", cmd_roles, "print the permission matrix: which role may do what")
