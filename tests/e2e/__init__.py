"""End-to-end tests: real processes (Home Assistant, MQTT broker, simulator)."""
