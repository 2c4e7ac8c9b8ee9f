"""Denial risk: a score for every claim before it is sent, from the scrubber's rules and the practice's own remittances."""
