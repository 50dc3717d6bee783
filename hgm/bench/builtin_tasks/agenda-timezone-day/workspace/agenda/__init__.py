"""A personal agenda: events are stored in UTC and shown in the user's time zone."""
