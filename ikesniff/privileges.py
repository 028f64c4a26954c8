"""Giving up root once the live capture is open, as tcpdump's -Z does.

Opening a packet socket needs root (or CAP_NET_RAW); reading from one that is open does not. So
`ikesniff -i IFACE` opens its capture handles first, then calls `drop_privileges(user)`, and parses
whatever the network sends as an unprivileged user. The order of the calls matters: supplementary
groups first (only root may change them), then the group, then the user (after setuid, setgid and
setgroups are refused). Afterwards the process checks that it cannot get root back.

This module knows nothing of capture or IKE.
"""

from __future__ import annotations

import os
import pwd

DEFAULT_USER = "nobody"


class PrivilegeError(Exception):
    """Root could not be given up. str() is one line naming the user and the problem."""


def drop_privileges(user: str = DEFAULT_USER) -> None:
    """Become `user` (a name, or a numeric uid) with its primary group and no supplementary groups.

    A no-op when the process is not running as root (then there is nothing to give up: it was allowed
    to capture through a capability or a pre-opened handle). Raises PrivilegeError for an unknown user
    or when the change does not take effect."""
    if os.geteuid() != 0:
        return
    entry = _user_entry(user)
    try:
        os.setgroups([])
        os.setgid(entry.pw_gid)
        os.setuid(entry.pw_uid)
    except OSError as error:
        raise PrivilegeError(f"cannot become user {user!r}: {error.strerror or error}") from None
    if entry.pw_uid == 0:
        return                                   # -Z root: asked to keep root
    if (os.getuid(), os.geteuid()) != (entry.pw_uid, entry.pw_uid) or os.getegid() != entry.pw_gid:
        raise PrivilegeError(f"cannot become user {user!r}: the user or group did not change")
    try:
        os.setuid(0)
    except PermissionError:
        return                                   # as it should be: root is gone for good
    raise PrivilegeError(f"cannot become user {user!r}: root could be taken back")


def _user_entry(user: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(user)
    except KeyError:
        pass
    if user.isdigit():
        try:
            return pwd.getpwuid(int(user))
        except KeyError:
            pass
    raise PrivilegeError(f"-Z {user}: no such user (give an existing unprivileged user, e.g. -Z nobody)")
