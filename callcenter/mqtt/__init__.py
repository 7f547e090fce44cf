"""The tracker's changes on an MQTT broker (the scale-out engine, not a home-made cluster):
``topics.py`` maps them to topics and payloads (pure), ``sink.py`` publishes them."""
