"""The daemon's web: an HTTP(S) server inside the daemon (uvicorn + starlette).

``view`` names what the web may read of the daemon, ``payloads`` turns it into JSON bodies (pure),
``auth`` guards ``/api/*`` with a bearer token, ``app`` wires the routes, ``server`` runs uvicorn
as one task of the daemon's TaskGroup. The agents' screen pops and the wallboard will join here.
"""
