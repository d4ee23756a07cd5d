"""What the identification means: distribution, spatial clusters, expansion paradox, drivers,
types and recommendations. Returns data; the report renders it."""
