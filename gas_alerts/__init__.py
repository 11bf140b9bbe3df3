"""New York gas price-drop alerts: the weekly check, its local AWS stand-ins and the command line."""
