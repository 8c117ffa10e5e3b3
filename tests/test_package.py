"""The package docstring is the map of course_utils: it names every module and subpackage."""
import pkgutil
import re

import course_utils


def test_the_package_docstring_names_every_module_and_its_package():
    named = {word for quoted in re.findall(r"`([\w.]+)`", course_utils.__doc__) for word in quoted.split(".")}
    modules = [m.name for m in pkgutil.walk_packages(course_utils.__path__, "course_utils.")]
    assert len(modules) > 40
    unnamed = [m for m in modules if not set(m.split(".")[1:]) <= named]
    assert not unnamed, f"course_utils/__init__.py's module map does not name {unnamed}: add each to it"
