"""The harness's spec table, as hgm reads it: standard SWE-bench records need no test command
of their own. Pure functions over the bundled table; no Docker."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("swebench", reason="needs the swebench package: pip install 'hgm[swebench]'")

from hgm.bench import BenchmarkError  # noqa: E402
from hgm.bench._swebench_specs import (  # noqa: E402
    harness_scripts,
    image_names,
    known_versions,
    repo_spec,
    runner_paths,
    table_source,
)
from hgm.bench._swebench_specs import (
    test_directives as directives_of,
)
from hgm.bench.swebench import Instance, harness_fields, uses_image  # noqa: E402

DJANGO_TEST_PATCH = """\
diff --git a/tests/queries/test_qs_combinators.py b/tests/queries/test_qs_combinators.py
--- a/tests/queries/test_qs_combinators.py
+++ b/tests/queries/test_qs_combinators.py
@@ -1 +1,2 @@
 x
+y
diff --git a/tests/queries/fixtures/data.json b/tests/queries/fixtures/data.json
--- a/tests/queries/fixtures/data.json
+++ b/tests/queries/fixtures/data.json
@@ -1 +1,2 @@
 x
+y
"""


def record(**fields) -> Instance:
    """A row as the published datasets have it: no test_cmd, no eval_script."""
    row = {
        "instance_id": "django__django-11099",
        "repo": "django/django",
        "version": "3.0",
        "base_commit": "d26b2424437dabeeca94d7900b37d2df4410da0c",
        "environment_setup_commit": "419a78300f7cd27611196e1e464d50fd0385ff27",
        "patch": "",
        "test_patch": DJANGO_TEST_PATCH,
        "problem_statement": "UsernameValidator allows trailing newline",
        "FAIL_TO_PASS": json.dumps(["test_a (queries.test_qs_combinators.T)"]),
        "PASS_TO_PASS": "[]",
        "hints_text": "",
        "created_at": "2019-03-20T03:46:18Z",
    }
    return Instance.model_validate({**row, **fields})


def test_table_says_which_release_it_comes_from():
    assert "v4.1.0" in table_source() and "MAP_REPO_VERSION_TO_SPECS" in table_source()


def test_every_lite_and_verified_repository_has_specs():
    repos = ["astropy/astropy", "django/django", "matplotlib/matplotlib", "mwaskom/seaborn",
             "pallets/flask", "psf/requests", "pydata/xarray", "pylint-dev/pylint",
             "pytest-dev/pytest", "scikit-learn/scikit-learn", "sphinx-doc/sphinx", "sympy/sympy"]  # fmt: skip
    assert all(known_versions(repo) for repo in repos)
    assert repo_spec("sympy/sympy", "1.1").test_cmd.endswith("bin/test -C --verbose")


def test_django_directives_are_dotted_module_labels_without_data_files():
    assert directives_of("django/django", DJANGO_TEST_PATCH) == ["queries.test_qs_combinators"]
    assert directives_of("psf/requests", DJANGO_TEST_PATCH) == [
        "tests/queries/test_qs_combinators.py"
    ]


def test_a_standard_record_gets_the_harness_s_setup_and_test_command():
    fields = harness_fields(record())
    assert fields["test_script"] == (
        "./tests/runtests.py --verbosity 2 --settings=test_sqlite --parallel 1 "
        "queries.test_qs_combinators"
    )
    setup = fields["setup_script"].splitlines()
    assert setup[:3] == ["source /opt/miniconda3/bin/activate", "conda activate testbed", "cd /testbed"]
    assert "export LANG=en_US.UTF-8" in setup
    assert (fields["log_parser"], fields["eval_type"]) == ("parse_log_django", "pass_and_fail")
    assert uses_image(record()) and not uses_image(record(test_cmd="pytest"))


def test_an_install_is_not_run_and_a_non_editable_one_puts_testbed_on_pythonpath():
    editable = harness_scripts(repo_spec("django/django", "3.0"), DJANGO_TEST_PATCH)
    assert "install" not in editable.setup and "PYTHONPATH" not in editable.setup
    installed = harness_scripts(repo_spec("django/django", "2.2"), DJANGO_TEST_PATCH)
    assert "setup.py install" not in installed.setup
    assert installed.setup.splitlines()[-1] == "export PYTHONPATH=/testbed${PYTHONPATH:+:$PYTHONPATH}"


def test_a_version_the_table_lacks_is_an_error_listing_the_known_ones():
    with pytest.raises(BenchmarkError) as info:
        harness_fields(record(version="9.9"))
    message = str(info.value)
    assert "instance 'django__django-11099': no test command" in message
    assert "version '9.9'" in message and "3.0" in message and "'test_cmd'" in message


def test_image_names_follow_the_harness_s_scheme():
    assert image_names("django__django-11099") == (
        "swebench/sweb.eval.x86_64.django_1776_django-11099:latest",
        "sweb.eval.x86_64.django__django-11099:latest",
    )
    assert image_names("Foo__Bar-1")[1] == "sweb.eval.x86_64.foo__bar-1:latest"


def test_the_repository_s_own_test_runner_is_named_for_restoring():
    assert runner_paths(repo_spec("django/django", "3.0").test_cmd) == ["tests/runtests.py"]
    assert runner_paths(repo_spec("sympy/sympy", "1.1").test_cmd) == ["bin/test"]
    assert runner_paths("python setup.py test\ncd /testbed\npytest -rA t.py") == ["setup.py"]
