"""Giving up root once the live capture is open, as tcpdump's -Z does.

Opening a packet socket needs root (or CAP_NET_RAW); reading from one that is open does not. So
`ikesniff -i IFACE` opens its capture handles first, then calls `drop_privileges(user)`, and parses
whatever the network sends as an unprivileged user. The order of the calls matters: supplementary
groups first (only root may change them), then the group, then the user (after setuid, setgid and
setgroups are refused). Afterwards the process checks that it cannot get root back.

The unprivileged user may not be able to read the files ikesniff is made of (a Python installed under
/root, as pyenv does, a venv in a private home, a checkout in a 0700 directory): whatever the run would
import or read later must be loaded while root can still read it. So, before the switch, every module
of ikesniff and dissectors is imported (the standard-library and third-party modules they import come
with them), then the modules that the dependencies import only on first use (numpy.ma, rich's
pieces, codecs...), listed in data/preload_modules.txt, and the data files read on first use (the
cause catalog) are read. tools/preload_walk.py finds that list by running every capture in pcaps/
through what runs after the drop (tests/test_privileges_preload.py fails when anything is still
imported or read from the installation afterwards). Output files (-w, --report) are opened by the
caller, after the drop, as tcpdump does with -w.

This module knows nothing of capture or IKE.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import pwd
from importlib import resources

DEFAULT_USER = "nobody"
PRELOADED_PACKAGES = ("ikesniff", "dissectors")
NOT_PRELOADED = ("__main__", ".example")
"""Module names (suffixes) that run something when imported: never imported in advance."""
PRELOAD_LIST = "data/preload_modules.txt"
"""Modules of the dependencies and the standard library imported on first use (in ikesniff's package)."""


class PrivilegeError(Exception):
    """Root could not be given up. str() is one line naming the user and the problem."""


def drop_privileges(user: str = DEFAULT_USER, preload: bool = True) -> None:
    """Become `user` (a name, or a numeric uid) with its primary group and no supplementary groups,
    after loading what the run needs (see `preload_code`) unless `preload` is false.

    A no-op when the process is not running as root (then there is nothing to give up: it was allowed
    to capture through a capability or a pre-opened handle). Raises PrivilegeError for an unknown user
    or when the change does not take effect."""
    if os.geteuid() != 0:
        return
    entry = _user_entry(user)
    if preload and entry.pw_uid != 0:
        preload_code()
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


def preload_code(packages: tuple[str, ...] = PRELOADED_PACKAGES, listed: bool = True) -> None:
    """Import every module of `packages`, then (if `listed`) the modules of PRELOAD_LIST and what the
    dependencies load on first use under names chosen at run time, and read the data files that are
    otherwise read on first use."""
    for package_name in packages:
        package = importlib.import_module(package_name)
        for module in pkgutil.walk_packages(package.__path__, f"{package_name}."):
            if not module.name.endswith(NOT_PRELOADED):
                importlib.import_module(module.name)
    if listed:
        for name in preload_list():
            try:
                importlib.import_module(name)
            except ImportError:
                pass                             # another version of the dependency, without this module
        _warm_up()
    if "ikesniff" in packages:
        from . import catalog
        catalog.catalog()
        catalog.notify_causes()


def _warm_up() -> None:
    """What a dependency loads on first use under a name chosen at run time, which no list can hold:
    rich's table of character widths for the Unicode version of the terminal (UNICODE_VERSION)."""
    try:
        from rich.cells import cell_len
    except ImportError:
        return
    cell_len("\u00e9\u4e2d\u2014")


def preload_list() -> list[str]:
    """The module names of PRELOAD_LIST (comments and blank lines left out)."""
    text = resources.files("ikesniff").joinpath(PRELOAD_LIST).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
