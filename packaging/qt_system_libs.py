#!/usr/bin/env python3
"""Find, and on Debian install, the system libraries Qt needs before the console starts.

PySide6's wheels carry Qt itself but not the system libraries Qt links to (X11/xcb,
OpenGL, fontconfig, xkbcommon, D-Bus). On a fresh Debian, Qt then aborts with "Could
not load the Qt platform plugin 'xcb'" and names only the first missing library, so a
newcomer installs one package per attempt. This script runs before Qt starts (``make
run``, ``make test``): it runs ``ldd`` on the Qt pieces the chosen platform loads (the
Python modules the console imports, the platform plugin and its integration plugins),
maps every library ``ldd`` cannot find to its Debian package, and either installs them
all at once (``--install``, as root, where ``apt-get`` exists) or prints the one exact
command that does, and exits 1.

Standard library only: it runs with the venv's Python before anything of ours is
imported, and without importing PySide6 (importing it is what fails).

Exit codes: 0 every library is there; 1 libraries are missing (the command to install
them is printed); 2 the check itself cannot run (no PySide6, no ``ldd``, a broken
PySide6 install); 3 the xcb platform is chosen but there is no X display.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

# The PySide6 modules the console imports (tests/test_qt_system_libs.py checks that
# ui/ imports no other): their ldd closure is what every platform needs.
QT_MODULES = ("QtCore", "QtGui", "QtWidgets")

# What Qt loads for each platform, relative to PySide6/Qt. The xcb and Wayland
# integration plugins are loaded by the platform plugin when it starts.
PLATFORM_PLUGINS: dict[str, tuple[str, ...]] = {
    "xcb": (
        "plugins/platforms/libqxcb.so",
        "plugins/xcbglintegrations/libqxcb-glx-integration.so",
        "plugins/xcbglintegrations/libqxcb-egl-integration.so",
    ),
    "wayland": (
        "plugins/platforms/libqwayland.so",
        "plugins/wayland-shell-integration/libxdg-shell.so",
        "plugins/wayland-graphics-integration-client/libqt-plugin-wayland-egl.so",
    ),
    "offscreen": ("plugins/platforms/libqoffscreen.so",),
    "minimal": ("plugins/platforms/libqminimal.so",),
}

# Libraries the PySide6 wheel itself carries (in PySide6/Qt/lib or beside the
# modules): when one is missing the wheel is broken, and apt cannot help.
BUNDLED_PREFIXES = ("libQt6", "libicu", "libpyside6", "libshiboken6")

# Debian package of every system library that ldd reports for the files above, on
# Debian 12 (bookworm) and later; Ubuntu's renamed "t64" packages provide these
# names, so apt picks them. tests/test_qt_system_libs.py fails when a PySide6
# upgrade brings a library that is not listed here.
DEBIAN_PACKAGES: dict[str, str] = {
    # C and C++ runtime (always there, listed so that nothing is "unknown")
    "libc.so.6": "libc6",
    "libm.so.6": "libc6",
    "libdl.so.2": "libc6",
    "libpthread.so.0": "libc6",
    "librt.so.1": "libc6",
    "libstdc++.so.6": "libstdc++6",
    "libgcc_s.so.1": "libgcc-s1",
    # compression, crypto and system plumbing that GLib, D-Bus and FreeType pull in
    "libz.so.1": "zlib1g",
    "libzstd.so.1": "libzstd1",
    "liblzma.so.5": "liblzma5",
    "liblz4.so.1": "liblz4-1",
    "libbrotlidec.so.1": "libbrotli1",
    "libbrotlicommon.so.1": "libbrotli1",
    "libbsd.so.0": "libbsd0",
    "libmd.so.0": "libmd0",
    "libcap.so.2": "libcap2",
    "libgcrypt.so.20": "libgcrypt20",
    "libgpg-error.so.0": "libgpg-error0",
    "libsystemd.so.0": "libsystemd0",
    "libpcre2-8.so.0": "libpcre2-8-0",
    "libffi.so.8": "libffi8",
    "libexpat.so.1": "libexpat1",
    # what QtCore and QtGui link to on every platform, offscreen included
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libpng16.so.16": "libpng16-16",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libGLX.so.0": "libglx0",
    "libGLdispatch.so.0": "libglvnd0",
    "libOpenGL.so.0": "libopengl0",
    "libX11.so.6": "libx11-6",
    "libXau.so.6": "libxau6",
    "libXdmcp.so.6": "libxdmcp6",
    "libxcb.so.1": "libxcb1",
    # the xcb platform plugin and its GL integrations
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-xinput.so.0": "libxcb-xinput0",
    "libxcb-glx.so.0": "libxcb-glx0",
    # the Wayland platform plugin (QT_QPA_PLATFORM=wayland)
    "libwayland-client.so.0": "libwayland-client0",
    "libwayland-cursor.so.0": "libwayland-cursor0",
    "libwayland-egl.so.1": "libwayland-egl1",
}

APT_LISTS = Path("/var/lib/apt/lists")
APT_OPTIONS = ("install", "-y", "--no-install-recommends")

_LDD_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+(\S+)\s+\(0x[0-9a-f]+\)\s*$")
_LDD_MISSING = re.compile(r"^\s*(\S+)\s+=>\s+not found\s*$")


class CheckError(Exception):
    """The check cannot run: the message says why and what to do."""


@dataclass
class Library:
    """One shared library ldd reported, and the Debian package that provides it."""

    soname: str
    path: str | None  # None: ldd did not find it
    needed_by: list[str] = field(default_factory=list)

    @property
    def bundled(self) -> bool:
        return self.soname.startswith(BUNDLED_PREFIXES)

    @property
    def package(self) -> str | None:
        if self.bundled:
            return None
        return DEBIAN_PACKAGES.get(self.soname) or guess_debian_package(self.soname)

    @property
    def guessed(self) -> bool:
        return not self.bundled and self.soname not in DEBIAN_PACKAGES


def guess_debian_package(soname: str) -> str:
    """The package name Debian's library policy gives ``soname`` (Policy 8.1).

    ``libfoo-bar.so.4`` is packaged as ``libfoo-bar4``, and ``libfoo2.so.0`` as
    ``libfoo2-0`` (a hyphen when the name ends in a digit); lower case, ``_`` → ``-``.
    Used only for a library the table above does not list yet.
    """
    name, sep, version = soname.partition(".so.")
    if not sep:
        name, version = soname.removesuffix(".so"), ""
    name = name.lower().replace("_", "-")
    if version and name[-1].isdigit():
        return f"{name}-{version}"
    return f"{name}{version}"


def find_pyside_dir() -> Path:
    """The installed PySide6 package directory, found without importing PySide6."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        raise CheckError(
            f"PySide6 is not installed for {sys.executable}; run `make run` (it creates .venv)"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def chosen_platform(environ: dict[str, str] | os._Environ[str]) -> str:
    """The platform plugin Qt tries first, by the rules QGuiApplication applies."""
    requested = environ.get("QT_QPA_PLATFORM", "").strip()
    if requested:
        # "wayland;xcb" is a list tried in order; "xcb:arg=value" carries arguments.
        return requested.split(";")[0].split(":")[0].strip()
    if environ.get("XDG_SESSION_TYPE") == "wayland":
        return "wayland"
    return "xcb"


def files_to_check(pyside_dir: Path, platform: str) -> list[Path]:
    """The Python modules the console imports and the plugins ``platform`` loads."""
    if platform not in PLATFORM_PLUGINS:
        raise CheckError(
            f"unknown platform {platform!r}: choose one of {', '.join(sorted(PLATFORM_PLUGINS))}"
        )
    files: list[Path] = []
    for module in QT_MODULES:
        found = sorted(pyside_dir.glob(f"{module}.*.so"))
        if not found:
            raise CheckError(f"{pyside_dir} has no {module} module: PySide6 is incomplete; "
                             "reinstall it with `make clean run`")
        files.append(found[0])
    for relative in PLATFORM_PLUGINS[platform]:
        plugin = pyside_dir / "Qt" / relative
        if not plugin.is_file():
            raise CheckError(f"{plugin} is missing: PySide6 is incomplete; "
                             "reinstall it with `make clean run`")
        files.append(plugin)
    return files


def run_ldd(path: Path) -> list[tuple[str, str | None]]:
    """``(soname, resolved path or None)`` for everything ``path`` loads, transitively."""
    ldd = shutil.which("ldd")
    if ldd is None:
        raise CheckError("`ldd` is not on PATH (Debian: package libc-bin), "
                         "so Qt's libraries cannot be checked")
    done = subprocess.run([ldd, str(path)], capture_output=True, text=True, check=False,
                          env={**os.environ, "LC_ALL": "C"})
    if done.returncode != 0:
        raise CheckError(f"ldd {path} failed: {(done.stderr or done.stdout).strip()}")
    libraries: list[tuple[str, str | None]] = []
    for line in done.stdout.splitlines():
        if found := _LDD_FOUND.match(line):
            libraries.append((found.group(1), found.group(2)))
        elif missing := _LDD_MISSING.match(line):
            libraries.append((missing.group(1), None))
        # other lines are the vDSO and the dynamic loader itself: nothing to install
    return libraries


def scan(pyside_dir: Path, platform: str) -> list[Library]:
    """Every library the platform's Qt pieces load, in the order ldd first saw them."""
    by_soname: dict[str, Library] = {}
    for target in files_to_check(pyside_dir, platform):
        for soname, path in run_ldd(target):
            library = by_soname.setdefault(soname, Library(soname, path))
            if path is None:
                library.path = None  # missing for one file is missing
            if target.name not in library.needed_by:
                library.needed_by.append(target.name)
    return list(by_soname.values())


def missing_packages(libraries: list[Library]) -> list[str]:
    """The Debian packages that provide the missing system libraries, each once."""
    packages: list[str] = []
    for library in libraries:
        package = library.package
        if library.path is None and package is not None and package not in packages:
            packages.append(package)
    return packages


def apt_lists_empty() -> bool:
    """True on a fresh container whose apt has never downloaded its package lists."""
    return not any(APT_LISTS.glob("*_Packages*"))


def install_command(packages: list[str], *, as_root: bool) -> str:
    """The one shell command that installs ``packages`` on Debian or Ubuntu."""
    command = shlex.join(["apt-get", *APT_OPTIONS, *packages])
    if apt_lists_empty():
        command = f"apt-get update && {command}"
    if as_root:
        return command
    if shutil.which("sudo"):
        return f"sudo sh -c {shlex.quote(command)}" if "&&" in command else f"sudo {command}"
    return f"su -c {shlex.quote(command)}"


def install(packages: list[str]) -> bool:
    """Install ``packages`` with apt-get, non-interactively; True when apt succeeded."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    steps = [["apt-get", "update"]] if apt_lists_empty() else []
    steps.append(["apt-get", *APT_OPTIONS, *packages])
    for step in steps:
        print(f"+ {shlex.join(step)}", flush=True)
        if subprocess.run(step, stdin=subprocess.DEVNULL, env=env, check=False).returncode != 0:
            return False
    return True


def can_install() -> bool:
    return os.geteuid() == 0 and shutil.which("apt-get") is not None


def describe_missing(libraries: list[Library], platform: str) -> str:
    missing = [library for library in libraries if library.path is None]
    width = max(len(library.soname) for library in missing)
    lines = [f"Qt's {platform} platform needs {len(missing)} system "
             f"librar{'y' if len(missing) == 1 else 'ies'} that ldd cannot find:"]
    for library in missing:
        if library.bundled:
            where = "part of PySide6: reinstall it with `make clean run`"
        else:
            where = f"Debian package {library.package}"
            if library.guessed:
                where += " (guessed from the library's name)"
        needed_by = library.needed_by[0]
        if len(library.needed_by) > 1:
            needed_by += f" and {len(library.needed_by) - 1} more"
        lines.append(f"  {library.soname:<{width}}  {where}  (needed by {needed_by})")
    return "\n".join(lines)


def report_json(libraries: list[Library], platform: str, packages: list[str]) -> str:
    return json.dumps({
        "platform": platform,
        "missing_packages": packages,
        "command": install_command(packages, as_root=os.geteuid() == 0) if packages else None,
        "libraries": [
            {"soname": lib.soname, "path": lib.path, "package": lib.package,
             "bundled": lib.bundled, "guessed": lib.guessed, "needed_by": lib.needed_by}
            for lib in libraries
        ],
    }, indent=2)


def check(pyside_dir: Path, platform: str, *, want_install: bool, as_json: bool) -> int:
    """Check, maybe install, check again; the exit code of the script."""
    libraries = scan(pyside_dir, platform)
    packages = missing_packages(libraries)
    if as_json:
        print(report_json(libraries, platform, packages))
    missing = [library for library in libraries if library.path is None]
    if not missing:
        return 0
    print(describe_missing(libraries, platform), file=sys.stderr)
    if any(library.bundled for library in missing) or not packages:
        return 1
    if want_install and can_install():
        print(f"Installing them with apt-get: {' '.join(packages)}", file=sys.stderr, flush=True)
        if install(packages):
            still = [lib.soname for lib in scan(pyside_dir, platform) if lib.path is None]
            if not still:
                print("Qt's system libraries are all installed now.", file=sys.stderr)
                return 0
            print(f"still missing after apt-get: {', '.join(still)}", file=sys.stderr)
        return 1
    if shutil.which("apt-get") is None:
        print("This is not a Debian-like system: install what provides the libraries above "
              f"(their Debian names: {' '.join(packages)}).", file=sys.stderr)
        return 1
    print("Install them with:\n  " + install_command(packages, as_root=os.geteuid() == 0),
          file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--platform", default="auto",
                        help="Qt platform to check: auto (what Qt would choose here: "
                             "$QT_QPA_PLATFORM, else wayland in a Wayland session, else xcb), "
                             + ", ".join(PLATFORM_PLUGINS))
    parser.add_argument("--install", action="store_true",
                        help="as root with apt-get: install what is missing instead of "
                             "printing the command")
    parser.add_argument("--pyside-dir", type=Path,
                        help="the PySide6 package directory (default: the one this Python imports)")
    parser.add_argument("--json", action="store_true",
                        help="print every library found or missing, with its package, as JSON")
    args = parser.parse_args(argv)
    platform = chosen_platform(os.environ) if args.platform == "auto" else args.platform
    try:
        pyside_dir = args.pyside_dir or find_pyside_dir()
        status = check(pyside_dir, platform, want_install=args.install, as_json=args.json)
    except CheckError as error:
        print(f"qt_system_libs: {error}", file=sys.stderr)
        return 2
    display_needed = args.platform == "auto" and platform == "xcb"
    if status == 0 and display_needed and not os.environ.get("DISPLAY"):
        print("There is no X display (DISPLAY is not set): run the console on a desktop, "
              "with QT_QPA_PLATFORM=wayland in a Wayland session, or with "
              "QT_QPA_PLATFORM=offscreen to run it without a screen.", file=sys.stderr)
        return 3
    return status


if __name__ == "__main__":
    sys.exit(main())
