"""The atlas: a web API over the pipeline and its dashboard page (the layer beside the CLI)."""
