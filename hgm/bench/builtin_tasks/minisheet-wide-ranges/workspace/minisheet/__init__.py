"""A tiny spreadsheet engine: cells, formulas and recalculation."""
