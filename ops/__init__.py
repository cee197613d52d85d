"""Day-two commands a person or a schedule runs against a stack (`python -m ops.reconcile`)."""
