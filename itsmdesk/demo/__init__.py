"""Demo data: the small Nordvik Logistics organisation (written through the services) and the large
generated data set for the benchmarks (bulk inserts)."""
