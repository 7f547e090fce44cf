"""callcenter: an asyncio call-center platform for Asterisk (ACD/CTI integration)."""

__version__ = "0.1.0"
