"""Presentation without a UI framework: number formats, labels, charts (Vega-Lite/Plotly specs), CSV/Excel exports."""
