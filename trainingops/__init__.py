"""The operator's tools, outside the kernel: the local runner (``make run``), the ``trainingops`` CLI, the demo
journey, the local broker, dead-letter listing and replay, and the AsyncAPI catalogue's generator.

They use ``shared/`` and the services' public APIs; no service and nothing in ``shared/`` imports them."""
