"""Quantum programs: the registered formats (`formats.FORMATS`), validation with positioned diagnostics, and
translation between formats (`translate`, whose `QiskitPrograms` is the services' `Programs` port).

Nothing is imported here: the parsers load qiskit, and a module that needs only the text helpers or the
limits should not pay for it."""
