"""packaging/qt_system_libs.py: the check `make run` and `make test` do before Qt starts.

A fresh Debian lacks the system libraries Qt's xcb plugin links to, and Qt names only
the first one. These tests hold the check to what a newcomer relies on: every library
ldd reports for the console's Qt pieces maps to a Debian package (a PySide6 upgrade
that brings a new one fails here, not on someone's first run); a missing library is
named with its package and the one command that installs it; apt-get is called once
with all of them, as root only; the offscreen platform never asks for the xcb plugin's
libraries.

A missing library is made by copying a real Qt plugin and renaming one of the
libraries it needs inside the copy (same length, so the ELF stays valid): ldd then
reports exactly that name as "not found" on any machine.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "packaging" / "qt_system_libs.py"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("qt_system_libs", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up while decorating
    spec.loader.exec_module(module)
    return module


qsl = _load_script()
PYSIDE_DIR: Path = qsl.find_pyside_dir()


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True,
                          text=True, env=env, timeout=120, check=False)


def _clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without anything that chooses a Qt platform."""
    env = {key: value for key, value in os.environ.items()
           if key not in {"QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE",
                          "LD_LIBRARY_PATH"}}
    env.update(extra)
    return env


def _fake_pyside(tmp_path: Path, rename: tuple[str, str] | None = None) -> Path:
    """A PySide6 directory whose plugins are copies of the real offscreen plugin.

    The offscreen plugin loads on any machine `make test` runs on, so with no
    ``rename`` every platform's check passes here. ``rename`` replaces one needed
    library's name inside the copy standing for the xcb plugin.
    """
    fake = tmp_path / "PySide6"
    (fake / "Qt").mkdir(parents=True)
    # $ORIGIN is the symlink's folder: the modules find libpyside6 and Qt/lib in the fake
    for real in PYSIDE_DIR.iterdir():
        if real.name != "Qt":
            (fake / real.name).symlink_to(real)
    (tmp_path / "shiboken6").symlink_to(PYSIDE_DIR.parent / "shiboken6")  # $ORIGIN/../shiboken6
    for real in (PYSIDE_DIR / "Qt").iterdir():
        if real.name != "plugins":
            (fake / "Qt" / real.name).symlink_to(real)
    offscreen = (PYSIDE_DIR / "Qt" / "plugins" / "platforms" / "libqoffscreen.so").read_bytes()
    for plugins in qsl.PLATFORM_PLUGINS.values():
        for relative in plugins:
            target = fake / "Qt" / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(offscreen)  # a copy: $ORIGIN/../../lib must be the fake Qt/lib
    if rename is not None:
        old, new = (f"\0{name}\0".encode() for name in rename)
        assert len(old) == len(new) and offscreen.count(old) == 1
        xcb_plugin = fake / "Qt" / "plugins" / "platforms" / "libqxcb.so"
        xcb_plugin.write_bytes(offscreen.replace(old, new))
    return fake


@pytest.fixture
def fake_apt(tmp_path: Path) -> tuple[Path, Path, Path]:
    """An apt-get first on PATH that records its arguments and "installs" a library.

    It puts libxkbcommon.so.7 (the renamed library) into a directory on
    LD_LIBRARY_PATH, so that the check run after it finds what it installed.
    """
    bin_dir, lib_dir, calls = tmp_path / "bin", tmp_path / "lib", tmp_path / "apt-calls"
    bin_dir.mkdir()
    lib_dir.mkdir()
    real = next(lib.path for lib in qsl.scan(PYSIDE_DIR, "offscreen")
                if lib.soname == "libxkbcommon.so.0")
    apt_get = bin_dir / "apt-get"
    apt_get.write_text(f'#!/bin/sh\necho "$*" >> {calls}\n'
                       f'case "$1" in install) ln -sf {real} {lib_dir}/libxkbcommon.so.7;; esac\n')
    apt_get.chmod(apt_get.stat().st_mode | stat.S_IXUSR)
    return bin_dir, lib_dir, calls


@pytest.mark.parametrize("platform", ["xcb", "offscreen", "wayland"])
def test_every_library_qt_loads_maps_to_a_listed_debian_package(platform: str) -> None:
    libraries = qsl.scan(PYSIDE_DIR, platform)
    unlisted = [lib.soname for lib in libraries if not lib.bundled and lib.guessed]
    assert unlisted == [], f"add these to DEBIAN_PACKAGES in {SCRIPT.name}"
    assert [lib.soname for lib in libraries if lib.bundled and lib.path is None] == []
    # the xcb plugin's own libraries are really in the list, not only libc's
    if platform == "xcb":
        sonames = {lib.soname for lib in libraries}
        assert {"libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1",
                "libxkbcommon-x11.so.0", "libEGL.so.1", "libfontconfig.so.1"} <= sonames


def test_the_console_imports_only_the_qt_modules_the_check_covers() -> None:
    imported: set[str] = set()
    for folder in ("ui", "app", "plugins"):
        for source in (ROOT / folder).rglob("*.py"):
            text = source.read_text(encoding="utf-8")
            imported |= set(re.findall(r"\bPySide6\.(Qt\w+)", text))
            for names in re.findall(r"from\s+PySide6\s+import\s+\(?([\w\s,]+)", text):
                imported |= {name.strip() for name in names.split(",") if name.strip()}
    assert imported, "the scan found no PySide6 import at all"
    assert imported <= set(qsl.QT_MODULES), f"add to QT_MODULES: {imported - set(qsl.QT_MODULES)}"


def test_unlisted_libraries_get_the_name_debian_policy_gives_them() -> None:
    assert qsl.guess_debian_package("libxcb-icccm.so.4") == "libxcb-icccm4"
    assert qsl.guess_debian_package("libxkbcommon-x11.so.0") == "libxkbcommon-x11-0"
    assert qsl.guess_debian_package("libX11-xcb.so.1") == "libx11-xcb1"
    assert qsl.guess_debian_package("libgcc_s.so.1") == "libgcc-s1"


@pytest.mark.parametrize(("environ", "platform"), [
    ({}, "xcb"),
    ({"DISPLAY": ":0"}, "xcb"),
    ({"QT_QPA_PLATFORM": "offscreen"}, "offscreen"),
    ({"QT_QPA_PLATFORM": "wayland;xcb"}, "wayland"),
    ({"QT_QPA_PLATFORM": "xcb:nograb"}, "xcb"),
    ({"XDG_SESSION_TYPE": "wayland"}, "wayland"),
    ({"XDG_SESSION_TYPE": "wayland", "QT_QPA_PLATFORM": "xcb"}, "xcb"),
])
def test_the_platform_checked_is_the_one_qt_will_load(environ: dict[str, str],
                                                      platform: str) -> None:
    assert qsl.chosen_platform(environ) == platform


def test_a_missing_library_is_named_with_its_package_and_the_one_command(tmp_path: Path) -> None:
    fake = _fake_pyside(tmp_path, rename=("libxkbcommon.so.0", "libxkbcommon.so.7"))
    done = _run("--pyside-dir", str(fake), "--json", env=_clean_env(DISPLAY=":0"))
    assert done.returncode == 1, done.stderr
    assert "libxkbcommon.so.7" in done.stderr and "libxkbcommon7" in done.stderr
    assert "(needed by libqxcb.so)" in done.stderr
    command = "apt-get install -y --no-install-recommends libxkbcommon7"
    last_line = done.stderr.strip().splitlines()[-1].strip()
    if os.geteuid() == 0:
        assert last_line.endswith(command)
    else:
        assert command in last_line and last_line.startswith(("sudo ", "su -c "))
    report = json.loads(done.stdout)
    assert report["missing_packages"] == ["libxkbcommon7"]
    missing = [lib["soname"] for lib in report["libraries"] if lib["path"] is None]
    assert missing == ["libxkbcommon.so.7"]


def test_offscreen_never_asks_for_the_xcb_plugins_libraries(tmp_path: Path) -> None:
    fake = _fake_pyside(tmp_path, rename=("libxkbcommon.so.0", "libxkbcommon.so.7"))
    done = _run("--pyside-dir", str(fake), env=_clean_env(QT_QPA_PLATFORM="offscreen"))
    assert (done.returncode, done.stderr) == (0, "")


def test_install_calls_apt_get_once_with_every_package_then_checks_again(
        tmp_path: Path, fake_apt: tuple[Path, Path, Path]) -> None:
    bin_dir, lib_dir, calls = fake_apt
    fake = _fake_pyside(tmp_path, rename=("libxkbcommon.so.0", "libxkbcommon.so.7"))
    env = _clean_env(DISPLAY=":0", PATH=f"{bin_dir}:{os.environ['PATH']}",
                     LD_LIBRARY_PATH=str(lib_dir))
    done = _run("--pyside-dir", str(fake), "--install", env=env)
    if os.geteuid() != 0:  # never apt-get without root: the command is printed instead
        assert done.returncode == 1 and not calls.exists()
        return
    assert done.returncode == 0, done.stderr
    installs = [line for line in calls.read_text().splitlines() if line.startswith("install")]
    assert installs == ["install -y --no-install-recommends libxkbcommon7"]
    assert "all installed now" in done.stderr


def test_install_reports_what_apt_get_did_not_fix(tmp_path: Path,
                                                  fake_apt: tuple[Path, Path, Path]) -> None:
    bin_dir, _lib_dir, _calls = fake_apt
    fake = _fake_pyside(tmp_path, rename=("libxkbcommon.so.0", "libxkbcommon.so.7"))
    env = _clean_env(DISPLAY=":0", PATH=f"{bin_dir}:{os.environ['PATH']}")  # not on the path
    done = _run("--pyside-dir", str(fake), "--install", env=env)
    assert done.returncode == 1
    if os.geteuid() == 0:
        assert "still missing after apt-get: libxkbcommon.so.7" in done.stderr


def test_a_missing_pyside_library_asks_for_a_reinstall_not_apt(
        tmp_path: Path, fake_apt: tuple[Path, Path, Path]) -> None:
    bin_dir, _lib_dir, calls = fake_apt
    fake = _fake_pyside(tmp_path, rename=("libQt6Gui.so.6", "libQt6Gux.so.6"))
    env = _clean_env(DISPLAY=":0", PATH=f"{bin_dir}:{os.environ['PATH']}")
    done = _run("--pyside-dir", str(fake), "--install", env=env)
    assert done.returncode == 1
    assert "libQt6Gux.so.6" in done.stderr and "reinstall it with `make clean run`" in done.stderr
    assert "apt-get" not in done.stderr and not calls.exists()


def test_without_a_display_the_run_stops_with_a_sentence_before_qt(tmp_path: Path) -> None:
    fake = _fake_pyside(tmp_path)
    done = _run("--pyside-dir", str(fake), env=_clean_env())
    assert done.returncode == 3 and "DISPLAY is not set" in done.stderr
    assert _run("--pyside-dir", str(fake), env=_clean_env(DISPLAY=":0")).returncode == 0


def test_an_incomplete_pyside_is_a_clear_error(tmp_path: Path) -> None:
    fake = _fake_pyside(tmp_path)
    (fake / "Qt" / "plugins" / "platforms" / "libqxcb.so").unlink()
    done = _run("--pyside-dir", str(fake), "--platform", "xcb", env=_clean_env())
    assert done.returncode == 2 and "libqxcb.so is missing" in done.stderr


def _make_dry_run(*args: str) -> list[str]:
    make = shutil.which("make")
    if make is None:
        pytest.fail("make is not installed; the README's set-up needs it")
    # -o: take the venv as up to date, so that nothing is installed by a dry run
    keep_venv = ["-o", ".venv/.installed", "-o", ".venv/.installed-dev"]
    done = subprocess.run([make, "-n", *keep_venv, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=True)
    return done.stdout.splitlines()


def test_make_run_checks_the_libraries_before_it_starts_the_console() -> None:
    lines = _make_dry_run("run")
    check = next(i for i, line in enumerate(lines) if "qt_system_libs.py" in line)
    start = next(i for i, line in enumerate(lines) if "countersign gui --demo" in line)
    assert check < start and lines[check].endswith("--install")
    only_check = [line for line in _make_dry_run("run", "INSTALL_SYSTEM_LIBS=no")
                  if "qt_system_libs" in line]
    assert len(only_check) == 1 and "--install" not in only_check[0]


def test_make_test_checks_only_what_the_offscreen_platform_needs() -> None:
    lines = _make_dry_run("test")
    check = next(i for i, line in enumerate(lines) if "qt_system_libs.py" in line)
    suite = next(i for i, line in enumerate(lines) if "pytest" in line)
    assert check < suite and "--platform offscreen" in lines[check]


@pytest.mark.parametrize(("sudo", "lists", "expected"), [
    (True, True, "sudo apt-get install -y --no-install-recommends libxcb-icccm4 libxcb-keysyms1"),
    (False, True, "su -c 'apt-get install -y --no-install-recommends "
                  "libxcb-icccm4 libxcb-keysyms1'"),
    (True, False, "sudo sh -c 'apt-get update && apt-get install -y --no-install-recommends "
                  "libxcb-icccm4 libxcb-keysyms1'"),
])
def test_a_user_without_root_is_given_one_command_that_works_as_pasted(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sudo: bool, lists: bool,
        expected: str) -> None:
    if lists:  # a fresh container has never run apt-get update: its lists folder is empty
        (tmp_path / "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4").touch()
    monkeypatch.setattr(qsl, "APT_LISTS", tmp_path)
    monkeypatch.setattr(qsl.shutil, "which", lambda name: "/usr/bin/sudo" if sudo else None)
    assert qsl.install_command(["libxcb-icccm4", "libxcb-keysyms1"], as_root=False) == expected
