"""dialogs views."""
