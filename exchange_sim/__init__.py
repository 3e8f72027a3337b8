"""The simulated exchange: a back office standing in for a real exchange in the demo, the bench and the tests.

Its own tables (exchange_sim.models), its rules (backoffice, deposits), its HTTP server (server) and the
`local` adapter of the exchange port onto it (local). No domain package imports it: the product
reaches it only through the exchange port, as it reaches a real exchange (app/adapters.py picks it).
"""
