"""Generate: fillable Word and Excel forms from the form definitions."""
