"""What `fleet workshop check NN` checks, per chapter. Each check looks at the attendee's work folder
(and the repo), raises CheckFailed with what it found, and has a title and hint in workshop/hints.toml.
CI holds every chapter to the two-way rule: its checks fail on the chapter's start state and pass on
its end state (frontdoor/tests/test_workshop.py)."""

from __future__ import annotations

from .chapter_checks_a import CHECKS as PART_A
from .chapter_checks_a import doctor_report
from .chapter_checks_b import CHECKS as PART_B
from .checks import Check

__all__ = ["CHECKS", "doctor_report"]

# part A (00-05) and part B (06-13, on the attendee's own server), in chapter order
CHECKS: dict[str, tuple[Check, ...]] = PART_A | PART_B
