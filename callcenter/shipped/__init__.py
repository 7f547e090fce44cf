"""The files callcenter ships besides its code — the commented example configs, the Asterisk
side (dialplans/) and the systemd unit — reachable from an installed package (not only from a
source checkout), for ``callcenter init``. In the repository these are links to the top-level
``config/``, ``dialplans/`` and ``dist/``; a wheel carries copies."""
