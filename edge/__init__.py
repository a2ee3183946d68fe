"""The checkpoint application that runs on the gate's Raspberry Pi.

Pure core (pass verification, temperature pairing, the pass/refuse decision)
and thin edges (scan loop, durable local log, gate output, guard page).
"""
