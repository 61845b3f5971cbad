"""Tests of the conversation engine and the flow definitions."""
