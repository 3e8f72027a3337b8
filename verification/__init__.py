"""The owner's proof: TOTP and SMS checks, factor trust, SMS gateways."""
