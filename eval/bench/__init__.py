"""`qa bench`: latency, throughput, build speed, memory and scale, measured (never asserted)."""
