"""Unit tier: pure logic, no AWS (a local HTTP server or subprocess at most)."""
