"""MQTT: the topic tree and the client link."""
