"""Tests of "you said, we did": actions, updates, audience, scheduling and sending (issue 8)."""
