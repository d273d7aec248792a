"""Run the real Nova Compute API on loopback for the conformance suite.

Run it as ``python -m nova_harness`` with the interpreter of the environment that
``nova_harness/setup.sh`` creates. This package imports Nova only from
``__main__.main``, after it has chosen Nova's threading mode.
"""
