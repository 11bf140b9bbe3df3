"""The publisher Lambda: turns alert-flagged week items from the table stream into SNS messages."""
