"""scripts/check_pins.py without the network: the package index is a dict."""

import pytest

from scripts.check_pins import Pin, allow_parse, newest_final, pins_check, pins_parse

INDEX = {
    "Django": ["5.2.20", "5.2.19", "6.0rc1", "5.1.15"],
    "redis": ["8.2.0", "8.1.0"],
    "ruff": ["0.17.6", "0.17.5"],
}


def versions_of(name):
    try:
        return INDEX[name]
    except KeyError:
        raise LookupError("No matching distribution found") from None


def check(text, allow=""):
    allowed, problems = allow_parse(allow)
    assert problems == []
    return pins_check(pins_parse(text, "requirements.txt"), allowed, versions_of)


def test_it_reads_only_exact_pins():
    text = "# runtime\n-r requirements.txt\nDjango==5.2.19  # LTS\nredis [hiredis] == 8.1.0 ; python_version >= '3.11'\nruff>=0.17\n\n"
    assert pins_parse(text, "requirements.txt") == [
        Pin("Django", "5.2.19", "requirements.txt:3"),
        Pin("redis", "8.1.0", "requirements.txt:4"),
    ]


def test_newest_leaves_out_pre_releases():
    assert newest_final(["6.0rc1", "5.2.20", "5.2.9", "6.1.dev0", "not-a-version"]) == "5.2.20"
    assert newest_final(["1.0a1"]) is None


def test_a_pin_at_the_newest_release_passes():
    report = check("ruff==0.17.6\n")
    assert report.ok
    assert report.summary() == "pins: 1 checked, 1 newest, 0 allowed behind, 0 problems"


def test_a_pin_behind_fails_with_the_newest_version():
    report = check("Django==5.2.19\nruff==0.17.6\n")
    assert report.problems == ["Django: pinned 5.2.19, newest 5.2.20"]
    assert report.summary() == "pins: 2 checked, 1 newest, 0 allowed behind, 1 problem"


def test_an_allowed_pin_behind_passes_with_its_reason():
    report = check("redis==8.1.0\n", allow="# comment\nredis  # 8.2 needs a newer server\n")
    assert report.ok
    assert report.notes == ["redis: pinned 8.1.0, newest 8.2.0, allowed: 8.2 needs a newer server"]
    assert report.allowed_behind == 1


def test_the_allow_list_needs_a_reason():
    allowed, problems = allow_parse("redis\n")
    assert allowed == {}
    assert problems == ["requirements-pins-allow.txt:1: redis: no reason given (write `redis  # why it stays behind`)"]


def test_a_stale_allow_list_line_fails():
    report = check("ruff==0.17.6\n", allow="ruff  # old reason\nlocust  # gone\n")
    assert report.problems == [
        "ruff: pinned at the newest 0.17.6, remove it from requirements-pins-allow.txt",
        "locust: in requirements-pins-allow.txt but pinned in none of requirements.txt, requirements-dev.txt, requirements-bench.txt, requirements-ldap.txt",
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("unknown==1.0\n", "unknown: the package index gave no answer (No matching distribution found)"),
        ("redis==9.0\n", "redis: pinned 9.0 is not offered for this Python (newest 8.2.0)"),
        ("redis==8.2.0\nRedis==8.1.0\n", "Redis: pinned 8.2.0 in requirements.txt:1 but 8.1.0 in requirements.txt:2"),
    ],
)
def test_what_cannot_be_checked_fails(text, problem):
    assert check(text).problems == [problem]


def test_a_package_pinned_in_two_files_is_asked_once():
    asked = []
    pins = pins_parse("redis==8.2.0\n", "requirements.txt") + pins_parse("redis==8.2.0\n", "requirements-dev.txt")
    report = pins_check(pins, {}, lambda name: asked.append(name) or INDEX[name])
    assert asked == ["redis"] and report.checked == 1 and report.ok
