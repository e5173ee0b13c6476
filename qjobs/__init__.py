"""qjobs: a command line for the quantum job service, speaking only its HTTP API (Azure Quantum's data plane)."""
