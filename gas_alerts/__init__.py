"""New York gas price-drop alerts, the domain: prices, the source, the comparison rules, the table, reports."""
