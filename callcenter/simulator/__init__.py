"""An Asterisk-compatible AMI simulator of a call center: demo, load tests, rehearsals.

``pbx`` is the call center itself, without IO (virtual time, seeded randomness); ``server`` speaks
AMI over TCP to any number of clients and paces the PBX on the wall clock.
"""
