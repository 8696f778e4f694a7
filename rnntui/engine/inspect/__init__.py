"""What a model is and what happens inside it: parameter and shape tables
(``tables``) and the probes that record gradients and gates over time (``probes``)."""
