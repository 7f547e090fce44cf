"""Computer-telephony integration: the agent's screen pop when their phone rings.

Fed by the tracker's ``CallOffered`` change (callcenter.queues.changes); the websocket hub and
the ticket screen land with their own issue.
"""
