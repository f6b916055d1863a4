"""The city side: runs on a city server, never on a device; device code never imports it.

`edge.city.export` publishes stored counts as French open data (schema-comptage-mobilites).
"""
