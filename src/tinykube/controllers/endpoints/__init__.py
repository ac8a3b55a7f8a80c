"""The Endpoints and EndpointSlice controllers: a Service's ready (and not-ready) pods."""
