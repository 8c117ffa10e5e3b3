"""The package docstring is the map of course_utils: it names every module and subpackage; and
requirements.txt pins every distribution the course's environment holds."""
import importlib.metadata
import pkgutil
import re
from pathlib import Path

import course_utils

REQUIREMENTS = Path(__file__).resolve().parents[1] / "requirements.txt"
#: What a fresh virtual environment brings itself, and the course's own package (installed with -e).
NOT_PINNED = {"pip", "setuptools", "wheel", "course-utils"}


def test_the_package_docstring_names_every_module_and_its_package():
    named = {word for quoted in re.findall(r"`([\w.]+)`", course_utils.__doc__) for word in quoted.split(".")}
    modules = [m.name for m in pkgutil.walk_packages(course_utils.__path__, "course_utils.")]
    assert len(modules) > 40
    unnamed = [m for m in modules if not set(m.split(".")[1:]) <= named]
    assert not unnamed, f"course_utils/__init__.py's module map does not name {unnamed}: add each to it"


def _name(distribution):
    return re.sub(r"[-_.]+", "-", distribution).lower()


def test_requirements_pin_every_installed_distribution_at_its_version():
    """A fresh machine installs exactly this environment: nothing comes in unpinned as a dependency of a pin
    (its next release could change what the course does), and nothing is installed that the file lacks."""
    pinned = {}
    for line in REQUIREMENTS.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.strip().partition("==")
            assert version, f"requirements.txt: {line!r} is not pinned (write name==version)"
            pinned[_name(name)] = version
    installed = {_name(d.metadata["Name"]): d.version.split("+")[0] for d in importlib.metadata.distributions()}
    unpinned = sorted(f"{name}=={version}" for name, version in installed.items()
                      if name not in pinned and name not in NOT_PINNED)
    assert not unpinned, (f"installed but not in requirements.txt: {unpinned}. Pin each that the course needs "
                          f"there; uninstall the others (a fresh `make test` would not have them)")
    other = sorted(f"{name}: {pinned[name]} pinned, {installed.get(name)} installed" for name in pinned
                   if installed.get(name) != pinned[name])
    assert not other, (f"requirements.txt and the environment differ: {other}. Pin the version the course is "
                       f"tested with; make reinstalls .venv when requirements.txt changes")
