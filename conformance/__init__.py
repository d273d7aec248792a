"""Conformance suite for the OpenStack Compute API Migrate Server action.

The suite is a pytest plugin (``conformance.plugin``) and the test modules
beside it. ``spec/openapi.yaml`` at the repository root is its source of
truth: the operation, its responses and the catalogue of rules that each test
names with ``@pytest.mark.rule``.
"""
