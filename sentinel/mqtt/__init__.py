"""MQTT: the topic tree, the client link and the demo's embedded broker."""
