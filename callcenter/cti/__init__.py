"""Computer-telephony integration: the agent's screen. ``pop.py`` decides what rings where and
what the caller's past is, ``tickets.py`` the ticket rules (both pure); ``hub.py`` fans the
screen messages out to the open screens (a sink of the tracker's changes)."""
