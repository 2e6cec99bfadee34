"""The dispatcher's desk: the dispatch queue, manual dispatch and redispatch, rejection, departments' flags,
what happens to a case on arrival (classification, routing or the queue), and the jurisdiction's dispatch
settings."""
