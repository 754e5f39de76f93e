"""lockstep: the harness that trains handmade and its torch twin side by side and compares every tensor."""
