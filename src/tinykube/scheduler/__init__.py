"""The scheduler's pure logic: resource accounting, node state, the filter/score framework and its plugins."""
