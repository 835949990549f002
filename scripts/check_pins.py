"""Is every pinned requirement the newest release? For each `name==version` in the requirements
files, ask pip's configured index (whatever pip.conf and PIP_* point to: a mirror, a local
folder) for the newest final release that fits the running Python, and fail for every pin that
is behind, unless the allow-list says why it stays behind.

    .venv/bin/python scripts/check_pins.py

It replaces a vulnerability audit on machines that reach no vulnerability service: a pin at
the newest release carries every published fix. Exit status 1 when a pin is behind without a
reason, when an allow-list line has no reason or names no pin (or a pin that is no longer
behind), and when the index does not answer for a pin.
"""

import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ("requirements.txt", "requirements-dev.txt", "requirements-bench.txt", "requirements-ldap.txt")
ALLOW_LIST = "requirements-pins-allow.txt"

# name, optional [extras], ==, version; an environment marker after ";" is dropped.
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*==\s*(?P<version>[^\s;#]+)")


@dataclass(frozen=True)
class Pin:
    name: str  # as written in the file
    version: str
    source: str  # "requirements.txt:3"

    @property
    def key(self) -> str:
        return canonicalize_name(self.name)


def pins_parse(text: str, source: str) -> list[Pin]:
    """Return the `name==version` pins of a requirements file's text. Options (`-r`, `-c`,
    `--index-url`), comments and requirements that are not pinned exactly are skipped."""
    pins = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = PIN.match(line.split("#", 1)[0].strip())
        if match:
            pins.append(Pin(match["name"], match["version"], f"{source}:{number}"))
    return pins


def allow_parse(text: str) -> tuple[dict[str, str], list[str]]:
    """Return ({canonical name: reason}, [problems]) for the allow-list `name  # reason`."""
    allowed: dict[str, str] = {}
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _hash, reason = line.partition("#")
        name, reason = name.strip(), reason.strip()
        if not reason:
            problems.append(f"{ALLOW_LIST}:{number}: {name}: no reason given (write `{name}  # why it stays behind`)")
            continue
        allowed[canonicalize_name(name)] = reason
    return allowed, problems


def _valid(text: str) -> bool:
    try:
        Version(text)
    except InvalidVersion:
        return False
    return True


def newest_final(versions: Iterable[str]) -> str | None:
    """Return the newest final release among version strings (pre-releases, dev releases and
    unparsable strings left out), or None."""
    finals = [text for text in versions if _valid(text) and not Version(text).is_prerelease]
    return max(finals, key=Version, default=None)


def index_versions(name: str) -> list[str]:
    """Return the versions pip's configured index offers `name` for this Python, newest first.
    Raises LookupError with pip's last message when it finds none."""
    command = [sys.executable, "-m", "pip", "index", "versions", "--json", name]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        raise LookupError("no answer within 300 s") from None
    if result.returncode != 0:
        message = (result.stderr.strip().splitlines() or ["pip index versions failed"])[-1]
        raise LookupError(message)
    return json.loads(result.stdout)["versions"]


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)  # each fails the check
    notes: list[str] = field(default_factory=list)  # pins allowed behind, with the reason
    checked: int = 0
    newest: int = 0
    allowed_behind: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        return (f"pins: {self.checked} checked, {self.newest} newest, {self.allowed_behind} allowed behind, "
                f"{len(self.problems)} problem{'s' * (len(self.problems) != 1)}")


def pins_check(pins: Iterable[Pin], allowed: dict[str, str], versions_of: Callable[[str], list[str]]) -> Report:
    """Compare each pin with the newest final release `versions_of(name)` lists. A package
    pinned in several files is asked for once; two different pins of it are a problem."""
    report = Report()
    seen: dict[str, Pin] = {}
    for pin in pins:
        try:
            pinned = Version(pin.version)
        except InvalidVersion:
            report.problems.append(f"{pin.name}: {pin.version} in {pin.source} is not a version number")
            continue
        first = seen.setdefault(pin.key, pin)
        if first is not pin:
            if Version(first.version) != pinned:
                report.problems.append(f"{pin.name}: pinned {first.version} in {first.source} but {pin.version} in {pin.source}")
            continue
        report.checked += 1
        try:
            offered = versions_of(pin.name)
        except LookupError as error:
            report.problems.append(f"{pin.name}: the package index gave no answer ({error})")
            continue
        newest = newest_final(offered)
        if newest is None:
            report.problems.append(f"{pin.name}: the package index lists no final release for this Python")
        elif pinned not in {Version(v) for v in offered if _valid(v)}:
            report.problems.append(f"{pin.name}: pinned {pin.version} is not offered for this Python (newest {newest})")
        elif pinned < Version(newest):
            if pin.key in allowed:
                report.allowed_behind += 1
                report.notes.append(f"{pin.name}: pinned {pin.version}, newest {newest}, allowed: {allowed[pin.key]}")
            else:
                report.problems.append(f"{pin.name}: pinned {pin.version}, newest {newest}")
        else:
            report.newest += 1
            if pin.key in allowed:
                report.problems.append(f"{pin.name}: pinned at the newest {newest}, remove it from {ALLOW_LIST}")
    for key in sorted(allowed.keys() - seen.keys()):
        report.problems.append(f"{key}: in {ALLOW_LIST} but pinned in none of {', '.join(REQUIREMENTS)}")
    return report


def main() -> int:
    pins = [pin for name in REQUIREMENTS for pin in pins_parse((ROOT / name).read_text(), name)]
    allow_file = ROOT / ALLOW_LIST
    allowed, problems = allow_parse(allow_file.read_text()) if allow_file.exists() else ({}, [])
    report = pins_check(pins, allowed, index_versions)
    report.problems[:0] = problems
    for line in report.notes + report.problems:
        print(line)
    print(report.summary())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
