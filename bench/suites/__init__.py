"""The timed workflows, one module per topic: batch create and delete, transfers,
the pages and the API, the single-record steps, and the plans of the hot queries."""
