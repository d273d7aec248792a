"""Faulty variants of the reference server, each breaking one rule."""

from tests.faults.catalogue import FAULT_OUTCOMES, FAULTS, POLICIES, Fault

__all__ = ["FAULTS", "FAULT_OUTCOMES", "POLICIES", "Fault"]
