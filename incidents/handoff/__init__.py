"""Handing a case on: the signed evidence bundle, and freeze requests between exchanges."""
