"""The markers of tests/support/markers.py follow what a test uses, through fixtures and helpers."""

from __future__ import annotations

from tests import test_fast_imports, test_security, test_stacks, test_terraform
from tests.support.markers import MARKERS, QUICK_DESELECTS, needs


def test_a_fixture_marks_the_tests_that_request_it() -> None:
    assert needs({"engine", "stacks"}, []) == {"engine"}
    assert needs({"jsonata"}, []) == {"npm"}


def test_a_scanner_named_in_the_test_marks_it() -> None:
    checkov = test_security.test_checkov_finds_no_failed_check
    asl = test_security.test_asl_validator_rejects_a_broken_definition
    parliament = test_security.test_parliament_lints_every_policy_document
    assert needs({"stack_dirs", "stacks"}, [checkov]) == {"scanners"}
    assert needs(set(), [asl]) == {"scanners", "npm"}
    assert needs({"stacks"}, [parliament]) == {"scanners"}


def test_a_helper_the_test_calls_marks_it_even_behind_a_cache() -> None:
    # test_dev_stack_is_valid_terraform reaches `terraform` only through a functools.cache'd helper.
    assert needs(set(), [test_terraform.test_dev_stack_is_valid_terraform]) == {"terraform"}
    eager = test_fast_imports.fast_and_eager  # a fixture's own code counts as the test's
    assert needs(set(), [eager]) == {"eager"}


def test_a_test_that_needs_nothing_more_gets_no_marker() -> None:
    assert needs({"stacks"}, [test_stacks.test_resource_inventory]) == set()
    assert needs({"stacks"}, [test_security.test_state_stores_are_always_protected]) == set()


def test_the_quick_run_leaves_out_only_registered_markers() -> None:
    assert set(QUICK_DESELECTS) <= set(MARKERS)
    assert {"scanners", "terraform"}.isdisjoint(QUICK_DESELECTS)  # no JDK, npm or Go in those
