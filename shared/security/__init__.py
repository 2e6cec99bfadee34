"""Credentials, personal-data encryption and masking, and outbound URL checks."""
