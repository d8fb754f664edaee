"""What-if scenarios (whatif.md): the model, saved scenarios, exports."""
