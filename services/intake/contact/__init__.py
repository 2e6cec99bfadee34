"""Liaison stations' contact days (联系日): the jurisdiction's rule with per-station overrides and added or
cancelled dates, the deputies' roster (接待计划), reception records (接待登记) and the public station page."""
