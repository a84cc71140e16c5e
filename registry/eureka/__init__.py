"""Eureka's REST API: the router and the JSON and XML codecs of its wire format."""
